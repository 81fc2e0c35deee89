"""Reading numbers (ids, page numbers) from the query string or a form, never failing."""

from urllib.parse import urlencode

from flask import request, url_for
from werkzeug.datastructures import MultiDict


def page_arg() -> int:
    try:
        page = int(request.args.get("page", "1"))
    except ValueError:
        return 1
    return min(max(page, 1), 10_000)


def id_arg(name: str, *, form: bool = False) -> int | None:
    """A positive id from the query string (or the form), or None for anything else."""
    value = (request.form if form else request.args).get(name, "")
    # isascii: "²" and "①" are digits to str.isdigit() but not to int().
    return int(value) if value.isascii() and value.isdigit() and len(value) < 10 else None


def page_url(number: int) -> str:
    """This page's address with another page number. The other query arguments stay in the
    query: passed to url_for they could be its own options (_external, _scheme, _method) or
    the path's values, and fail or point elsewhere."""
    args = MultiDict(request.args)
    args.setlist("page", [str(number)])
    path = url_for(request.endpoint or "home", **(request.view_args or {}))
    return f"{path}?{urlencode(list(args.items(multi=True)))}"
