"""App-wide web pieces: security headers, error pages, CSRF, rate limits, client IP."""

from __future__ import annotations

import logging

from flask import Flask, Response, g, make_response, render_template, request
from flask_limiter import Limiter
from flask_login import AnonymousUserMixin
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import BadRequest, HTTPException, RequestEntityTooLarge
from werkzeug.middleware.proxy_fix import ProxyFix

from proofdesk.config import settings
from proofdesk.ratelimit import DatabaseStorage

log = logging.getLogger(__name__)

csrf = CSRFProtect()

CSP = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


def client_ip() -> str:
    return request.remote_addr or "unknown"


limiter = Limiter(key_func=client_ip, default_limits=[], headers_enabled=True)


def register_web(app: Flask) -> None:
    if n := settings(app).trusted_proxies:
        # Flask's documented way to wrap its WSGI app, which mypy sees as replacing a method.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n)  # type: ignore[method-assign]
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
    )
    csrf.init_app(app)
    app.before_request(_refuse_nul)
    app.after_request(_security_headers)
    _register_error_pages(app)


def register_limiter(app: Flask) -> None:
    """Rate limits counted where RATELIMIT_STORAGE_URI says; by default (`database://`) in
    the app's own database, so that every app server process shares one count."""
    app.config.setdefault("RATELIMIT_STORAGE_URI", "database://")
    app.config["RATELIMIT_HEADERS_ENABLED"] = True
    # A count that cannot be read or written (the database restarting) is logged and the
    # request goes on to its own error page: the limiter must not turn it into a bare 500.
    app.config["RATELIMIT_SWALLOW_ERRORS"] = True
    limiter.init_app(app)
    if isinstance(limiter.storage, DatabaseStorage):
        limiter.storage.engine = app.extensions["db_engine"]


def _refuse_nul() -> None:
    """No browser puts a NUL character in a field, a query or a path, and PostgreSQL cannot
    store one (every view would end in a database error): such a request is a bad request."""
    values = [request.path, *(v for _, v in request.args.items(multi=True))]
    if request.method not in {"GET", "HEAD", "OPTIONS"}:
        values += [v for _, v in request.form.items(multi=True)]
    if any("\0" in value for value in values):
        raise BadRequest()


def _security_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers["X-Frame-Options"] = "DENY"
    response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if request.endpoint and request.endpoint != "static":
        response.headers.setdefault("Cache-Control", "no-store")
    return response


ERROR_TEXT = {
    400: ("Bad request", "The request could not be understood. Go back and try again."),
    403: ("Not allowed", "You are not allowed to do that."),
    404: ("Not found", "This page does not exist, or you do not have access to it."),
    405: ("Not allowed", "That action is not possible here."),
    413: ("File too large", "The file is larger than this server accepts."),
    429: ("Too many attempts", "Too many attempts. Wait a few minutes and try again."),
    500: ("Something went wrong", "Something went wrong on our side. Try again in a moment."),
}


def error_page(code: int, message: str | None = None) -> tuple[str, int]:
    title, text = ERROR_TEXT.get(code, ERROR_TEXT[500])
    return render_template("error.html", code=code, title=title, text=message or text), code


def _register_error_pages(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(_exc: CSRFError) -> tuple[str, int]:
        return error_page(400, "This form has expired. Go back, reload the page and try again.")

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(_exc: RequestEntityTooLarge) -> tuple[str, int]:
        limit = settings(app).max_upload_mb
        return error_page(
            413,
            f"The file is larger than {limit} MB, the most this server "
            "accepts. Make it smaller (for example export at a lower "
            "resolution) and upload it again.",
        )

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> tuple[str, int]:
        code = exc.code or 500
        return error_page(code, ERROR_TEXT.get(code, (None, exc.description))[1])

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return server_error_page()


def server_error_page() -> Response:
    """The 500 page after an unexpected error, also when the database is what failed (the
    view raised, or the request's commit did)."""
    # The request's session may be in a failed transaction: close it (objects keep what
    # they loaded, so the navigation can still show the current user).
    _close_request_session()
    try:
        return make_response(error_page(500))
    except Exception:  # noqa: BLE001 - the page must be shown all the same
        # The navigation shows the current user, who cannot be loaded (or whose expired
        # attributes cannot be read again) when the database is what failed: show a
        # visitor's navigation instead.
        _close_request_session()
        g._login_user = AnonymousUserMixin()  # Flask-Login's anonymous user
        return make_response(error_page(500))


def _close_request_session() -> None:
    from proofdesk.db import close_session

    session = g.pop("db_session", None)
    if session is not None:
        close_session(session)
