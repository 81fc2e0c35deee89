"""Who the logged-in customer is, from a server-side session named in the cookie."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from flask import abort, g, redirect, request, session, url_for
from werkzeug.wrappers import Response

from proofdesk.config import settings
from proofdesk.customer_login.services import load_session
from proofdesk.customers.models import Customer
from proofdesk.db import get_session

KEY = "customer_session"
P = ParamSpec("P")
R = TypeVar("R")


def login_enabled() -> bool:
    return settings().customer_login_enabled


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
                idle=dt.timedelta(minutes=settings().session_idle_minutes),
                max_age=dt.timedelta(hours=settings().session_max_hours),
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


def customer_required(view: Callable[P, R]) -> Callable[P, R | Response]:
    @wraps(view)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> R | Response:
        if not login_enabled():
            abort(404)
        if current_customer() is None:
            return redirect(url_for("portal_auth.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return wrapped
