"""The request's unit of work: what a request writes is committed once, after its view, or not
at all. Views and services only add and flush; the worker and the CLI commit their own
sessions (`db.session_scope`, the queue's claims, each job done).

After the view, if the request's session wrote anything:
- an answer below 400 (a page, a redirect) commits it;
- an error answer rolls it back, unless the view called `db.keep_on_error(session)`;
- a commit that fails turns the answer into the 500 page, without the request's flashed
  messages ("Saved" must not show for what was not saved).
A request that only read leaves its transaction to be closed with the session.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, g, message_flashed, request
from flask import session as cookie_session

from proofdesk import db
from proofdesk.web import server_error_page

log = logging.getLogger(__name__)

# What the failed answer said about the page that the error page in its place must say too.
KEPT_HEADERS = ("Referrer-Policy", "X-Robots-Tag")


def register_unit_of_work(app: Flask) -> None:
    """Register after the limiter: Flask runs after-request functions last registered first,
    and a login failure is committed before the limiter counts it on a connection of its own
    (on SQLite that connection would wait for the request's uncommitted write)."""
    message_flashed.connect(_note_flash, app)
    app.after_request(end_unit_of_work)


def _note_flash(_app: Flask, *, message: str, category: str, **_extra: Any) -> None:
    g.setdefault("flashed", []).append((category, message))


def end_unit_of_work(response: Response) -> Response:
    session = g.get("db_session")
    if session is None or not db.wrote(session):
        return response
    if response.status_code >= 400 and not db.kept_on_error(session):
        session.rollback()
        return response
    try:
        session.commit()
    except Exception:  # noqa: BLE001 - whatever failed, nothing was saved: say so
        log.exception("the changes of %s %s could not be committed", request.method, request.path)
        _forget_flashes()
        page = server_error_page()
        for name in KEPT_HEADERS:  # e.g. a share link's page must not leak its address
            if name in response.headers:
                page.headers[name] = response.headers[name]
        return page
    return response


def _forget_flashes() -> None:
    """Take back the messages this request flashed (earlier requests' unread ones stay)."""
    flashed_now = g.pop("flashed", [])
    if not flashed_now:
        return
    flashes = list(cookie_session.get("_flashes", []))
    for flashed in flashed_now:
        if flashed in flashes:
            del flashes[len(flashes) - 1 - flashes[::-1].index(flashed)]
    if flashes:
        cookie_session["_flashes"] = flashes
    else:
        cookie_session.pop("_flashes", None)
