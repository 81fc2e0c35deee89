# Flask-Login 0.6: the parts Proofdesk uses.
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from flask import Flask

_F = TypeVar("_F", bound=Callable[..., Any])
_Loader = TypeVar("_Loader", bound=Callable[[str], Any])

# A proxy to the logged-in user, or to an AnonymousUserMixin: the loader decides its type.
current_user: Any

class AnonymousUserMixin:
    @property
    def is_authenticated(self) -> bool: ...
    @property
    def is_active(self) -> bool: ...
    @property
    def is_anonymous(self) -> bool: ...
    def get_id(self) -> None: ...

class LoginManager:
    login_view: str | None
    login_message: str
    login_message_category: str
    anonymous_user: type[Any]
    def __init__(self, app: Flask | None = None, add_context_processor: bool = True) -> None: ...
    def init_app(self, app: Flask, add_context_processor: bool = True) -> None: ...
    def user_loader(self, callback: _Loader) -> _Loader: ...

def login_required(func: _F) -> _F: ...
def login_user(
    user: Any,
    remember: bool = False,
    duration: timedelta | None = None,
    force: bool = False,
    fresh: bool = True,
) -> bool: ...
def logout_user() -> bool: ...
