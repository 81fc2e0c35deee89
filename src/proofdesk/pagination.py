"""Reading numbers (ids, page numbers) from the query string or a form, never failing."""

from flask import request


def page_arg() -> int:
    try:
        page = int(request.args.get("page", "1"))
    except ValueError:
        return 1
    return min(max(page, 1), 10_000)


def id_arg(name: str, *, form: bool = False) -> int | None:
    """A positive id from the query string (or the form), or None for anything else."""
    value = (request.form if form else request.args).get(name, "")
    return int(value) if value.isdigit() and len(value) < 10 else None
