"""Customer login, logout, invites, forgotten and changed passwords (behind the flag)."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.wrappers import Response

from proofdesk.accounts.forms import LoginForm
from proofdesk.accounts.views import change_password_page, safe_next
from proofdesk.customer_login import services
from proofdesk.customer_login import session as portal_session
from proofdesk.customer_login.forms import ForgotPasswordForm, SetPasswordForm
from proofdesk.customer_login.invites import accept_invite
from proofdesk.customer_login.links import token_is_live
from proofdesk.customer_login.models import CustomerInvite, CustomerPasswordReset
from proofdesk.customer_login.resets import request_password_reset, reset_password
from proofdesk.db import get_session
from proofdesk.errors import ServiceError
from proofdesk.forms import apply_error, filled
from proofdesk.web import client_ip, limiter

bp = Blueprint("portal_auth", __name__, url_prefix="/portal")

LIMIT = "10 per 5 minutes"
TOKEN_PAGE_HEADERS = {"Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex"}


def _failed() -> bool:
    return bool(g.get("login_failed"))


def _account_key() -> str:
    return "customer-login:" + (request.form.get("email") or "").strip().lower()[:320]


def _email_key() -> str:
    return "customer-forgot:" + (request.form.get("email") or "").strip().lower()[:320]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(LIMIT, methods=["POST"], deduct_when=lambda r: _failed())
@limiter.limit(LIMIT, methods=["POST"], key_func=_account_key, deduct_when=lambda r: _failed())
def login() -> Response | tuple[str, int, dict[str, str]]:
    target = safe_next(request.args.get("next"), url_for("portal.index"))
    if portal_session.current_customer() is not None:
        return redirect(target)
    form = LoginForm()
    if form.validate_on_submit():
        session = get_session()
        logged_in = services.log_in(
            session,
            email=filled(form.email),
            password=filled(form.password),
            ip=client_ip(),
            user_agent=request.user_agent.string,
        )
        if logged_in is None:
            g.login_failed = True
            form.password.errors = [*form.password.errors, "Email or password is not right."]
        else:
            customer, token = logged_in
            portal_session.log_in(customer, token)
            return redirect(target)
    return render_template("portal/login.html", form=form), 200, TOKEN_PAGE_HEADERS


@bp.post("/logout")
def logout() -> Response:
    token = portal_session.current_token()
    if token:
        session = get_session()
        services.end_session(session, token=token)
    portal_session.log_out()
    flash("You are logged out.", "info")
    return redirect(url_for("portal_auth.login"))


SENT = (
    "If an account exists for that email address, we have sent it a link to choose a new "
    "password. The link works for {minutes} minutes."
)


@bp.route("/forgot", methods=["GET", "POST"])
@limiter.limit("5 per minute", methods=["POST"])
@limiter.limit("5 per hour", methods=["POST"], key_func=_email_key)
def forgot() -> str | Response:
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        session = get_session()
        request_password_reset(session, email=filled(form.email), ip=client_ip())
        flash(SENT.format(minutes=current_app.config["CUSTOMER_RESET_MINUTES"]), "info")
        return redirect(url_for("portal_auth.login"))
    return render_template("portal/forgot.html", form=form)


def _token_page(
    token: str, model: type[CustomerInvite] | type[CustomerPasswordReset], template: str
) -> str | Response | tuple[str, int, dict[str, str]]:
    session = get_session()
    form = SetPasswordForm()
    if not token_is_live(session, model, token):
        return render_template("portal/link_invalid.html"), 404, TOKEN_PAGE_HEADERS
    if form.validate_on_submit():
        redeem = accept_invite if model is CustomerInvite else reset_password
        try:
            customer = redeem(session, token=token, password=filled(form.password), ip=client_ip())
        except ServiceError as exc:
            session.rollback()
            if exc.field is None:
                return render_template("portal/link_invalid.html"), 404, TOKEN_PAGE_HEADERS
            apply_error(form, exc)
        else:
            login_token = services.start_session(
                session, customer=customer, ip=client_ip(), user_agent=request.user_agent.string
            )
            portal_session.log_in(customer, login_token)
            flash(
                "Your password is set. Welcome!"
                if model is CustomerInvite
                else "Your password is changed.",
                "success",
            )
            return redirect(url_for("portal.index"))
    return render_template(template, form=form), 200, TOKEN_PAGE_HEADERS


@bp.route("/invite/<token>", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"])
def invite(token: str) -> str | Response | tuple[str, int, dict[str, str]]:
    return _token_page(token, CustomerInvite, "portal/set_password.html")


@bp.route("/reset/<token>", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"])
def reset(token: str) -> str | Response | tuple[str, int, dict[str, str]]:
    return _token_page(token, CustomerPasswordReset, "portal/reset_password.html")


@bp.route("/account/password", methods=["GET", "POST"])
@portal_session.customer_required
def change_password() -> str | Response:
    customer = portal_session.current_customer()
    assert customer is not None
    return change_password_page(
        lambda session, current, new: services.change_password(
            session,
            customer=customer,
            current=current,
            new=new,
            keep_token=portal_session.current_token() or "",
            ip=client_ip(),
        ),
        done=url_for("portal.index"),
    )
