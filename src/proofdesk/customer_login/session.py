"""Who the logged-in customer is, from a server-side session named in the cookie."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort, current_app, g, redirect, request, session, url_for

from proofdesk.customer_login.services import load_session
from proofdesk.customers.models import Customer
from proofdesk.db import get_session

KEY = "customer_session"
F = TypeVar("F", bound=Callable[..., Any])


def login_enabled() -> bool:
    return bool(current_app.config["CUSTOMER_LOGIN_ENABLED"])


def current_customer() -> Customer | None:
    """The logged-in customer, or None (always None while customer login is off)."""
    if not login_enabled():
        return None
    if "current_customer" not in g:
        token = session.get(KEY)
        customer = None
        if token:
            customer = load_session(
                get_session(),
                token=token,
                idle=dt.timedelta(minutes=current_app.config["SESSION_IDLE_MINUTES"]),
                max_age=dt.timedelta(hours=current_app.config["SESSION_MAX_HOURS"]),
            )
            if customer is None:
                session.pop(KEY, None)
        g.current_customer = customer
    customer_now: Customer | None = g.current_customer
    return customer_now


def log_in(customer: Customer, token: str) -> None:
    session.clear()  # a new session at login: nothing carried over from before
    session[KEY] = token
    session.permanent = False
    g.current_customer = customer


def log_out() -> None:
    session.pop(KEY, None)
    g.current_customer = None


def current_token() -> str | None:
    token = session.get(KEY)
    return token if isinstance(token, str) else None


def customer_required(view: F) -> F:
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not login_enabled():
            abort(404)
        if current_customer() is None:
            return redirect(url_for("portal_auth.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]
