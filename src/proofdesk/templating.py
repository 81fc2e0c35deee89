"""Template filters: dates and sizes as people read them."""

from __future__ import annotations

import datetime as dt

from flask import Flask

from proofdesk.activity import label as activity_label
from proofdesk.customer_login.models import LoginState


def when(value: dt.datetime | None) -> str:
    if value is None:
        return ""
    return value.strftime("%d %b %Y, %H:%M UTC")


def day(value: dt.date | None) -> str:
    return value.strftime("%d %b %Y") if value else ""


def filesize(value: int) -> str:
    size = float(value)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{value} bytes"


LOGIN_STATES: dict[str, str] = {
    LoginState.NONE: "No login",
    LoginState.INVITED: "Invited",
    LoginState.ACTIVE: "Active",
    LoginState.DISABLED: "Disabled",
}


def login_state(state: str) -> str:
    return LOGIN_STATES.get(state, state)


def register(app: Flask) -> None:
    app.add_template_filter(when)
    app.add_template_filter(day)
    app.add_template_filter(filesize)
    app.add_template_filter(login_state)
    app.add_template_filter(activity_label, "activity_label")
    app.jinja_env.globals["today"] = dt.date.today

    from proofdesk.pagination import page_url

    app.jinja_env.globals["page_url"] = page_url

    from proofdesk.customer_login.session import current_customer

    app.jinja_env.globals["portal_customer"] = current_customer
