"""Reading the page number from the query string."""

from flask import request


def page_arg() -> int:
    try:
        page = int(request.args.get("page", "1"))
    except ValueError:
        return 1
    return min(max(page, 1), 10_000)
