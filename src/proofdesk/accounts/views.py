"""Login, logout, own password, and the one-time first-admin setup page."""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Callable
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask import session as cookie_session
from flask_login import LoginManager, current_user, login_required, login_user, logout_user
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from proofdesk.accounts import services
from proofdesk.accounts.forms import ChangePasswordForm, LoginForm, SetupForm
from proofdesk.accounts.models import User
from proofdesk.db import get_session
from proofdesk.errors import ServiceError
from proofdesk.forms import apply_error, filled
from proofdesk.web import client_ip, limiter

bp = Blueprint("accounts", __name__)
login_manager = LoginManager()
login_manager.login_view = "accounts.login"
login_manager.login_message = "Log in to see this page."
login_manager.login_message_category = "info"

LOGIN_LIMIT = "10 per 5 minutes"


def register_login(app: Flask) -> None:
    login_manager.init_app(app)

    @login_manager.user_loader
    def _load(token: str) -> User | None:
        return services.load_session(
            get_session(),
            token=token,
            idle=dt.timedelta(minutes=current_app.config["SESSION_IDLE_MINUTES"]),
            max_age=dt.timedelta(hours=current_app.config["SESSION_MAX_HOURS"]),
        )


def safe_next(target: str | None, default: str) -> str:
    """Only a relative path on this site; anything else falls back to the default.

    Control characters are refused: a line break cannot go into a Location header, and
    browsers drop tabs and line breaks from URLs (`/<TAB>/evil.test` is `//evil.test`)."""
    if not target or any(unicodedata.category(ch).startswith("C") for ch in target):
        return default
    parts = urlsplit(target)
    if (
        parts.scheme
        or parts.netloc
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
    ):
        return default
    return target


def _log_in(user: User) -> None:
    """A new session at login: nothing of the anonymous one (its CSRF token included) is
    carried over."""
    cookie_session.clear()
    login_user(user)


def _login_failed() -> bool:
    return bool(g.get("login_failed"))


def _account_key() -> str:
    return "login-account:" + (request.form.get("email") or "").strip().lower()[:320]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(LOGIN_LIMIT, methods=["POST"], deduct_when=lambda r: _login_failed())
@limiter.limit(
    LOGIN_LIMIT, methods=["POST"], key_func=_account_key, deduct_when=lambda r: _login_failed()
)
def login() -> str | Response:
    session = get_session()
    if current_user.is_authenticated:
        return redirect(url_for("proofs.dashboard"))
    form = LoginForm()
    if form.validate_on_submit():
        user = services.log_in(
            session,
            email=filled(form.email),
            password=filled(form.password),
            ip=client_ip(),
            user_agent=request.user_agent.string,
        )
        if user is None:
            g.login_failed = True
            form.password.errors = [*form.password.errors, "Email or password is not right."]
        else:
            _log_in(user)
            return redirect(safe_next(request.args.get("next"), url_for("proofs.dashboard")))
    no_admin = not services.admin_exists(session)
    return render_template("accounts/login.html", form=form, no_admin=no_admin)


@bp.post("/logout")
@login_required
def logout() -> Response:
    session = get_session()
    if current_user.session_token:
        services.end_session(session, token=current_user.session_token)
    logout_user()
    flash("You are logged out.", "info")
    return redirect(url_for("accounts.login"))


def change_password_page(
    change: Callable[[Session, str, str], None], *, done: str
) -> str | Response:
    """The change-password page of staff and customers alike: `change(session, current, new)`
    is the service that checks and stores it; then on to `done`."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        session = get_session()
        try:
            change(session, filled(form.current_password), filled(form.new_password))
        except ServiceError as exc:
            session.rollback()
            apply_error(form, exc)
        else:
            flash("Your password is changed. Other sessions have been logged out.", "success")
            return redirect(done)
    return render_template("accounts/password.html", form=form)


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password() -> str | Response:
    return change_password_page(
        lambda session, current, new: services.change_password(
            session, user=current_user, current=current, new=new, ip=client_ip()
        ),
        done=url_for("proofs.dashboard"),
    )


@bp.route("/setup/<token>", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"])
def setup(token: str) -> Response | tuple[str, int, dict[str, str]]:
    session = get_session()
    if not services.setup_token_valid(session, token):
        abort(404)
    form = SetupForm()
    if form.validate_on_submit():
        try:
            user = services.complete_setup(
                session,
                token=token,
                email=filled(form.email),
                name=filled(form.name),
                password=filled(form.password),
                ip=client_ip(),
            )
        except ServiceError as exc:
            session.rollback()
            apply_error(form, exc)
        else:
            services.start_session(
                session, user=user, ip=client_ip(), user_agent=request.user_agent.string
            )
            _log_in(user)
            flash(
                "Welcome to Proofdesk. Next: add a designer under Admin → Users, then a customer.",
                "success",
            )
            return redirect(url_for("admin.users"))
    return (
        render_template("accounts/setup.html", form=form),
        200,
        {"Referrer-Policy": "no-referrer"},
    )
