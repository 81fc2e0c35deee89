"""Who may open staff pages: logged-in staff, and admins for Admin pages."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from flask import abort
from flask_login import current_user, login_required

P = ParamSpec("P")
R = TypeVar("R")


def admin_required(view: Callable[P, R]) -> Callable[P, R]:
    @wraps(view)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
        if not current_user.is_admin:
            abort(404)
        return view(*args, **kwargs)

    return login_required(wrapped)
