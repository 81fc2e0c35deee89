"""Email settings (own and Admin → Users → Edit), Send Test Email, Admin → Notifications."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from proofdesk.accounts.access import admin_required
from proofdesk.accounts.models import User
from proofdesk.accounts.views import safe_next
from proofdesk.db import get_or_404, get_session
from proofdesk.errors import ServiceError
from proofdesk.forms import apply_error, filled
from proofdesk.mail import SmtpSecurity
from proofdesk.notifications import content, services, smtp
from proofdesk.notifications.content import NotificationKind, StaffNotificationKind
from proofdesk.notifications.forms import SmtpSettingsForm, TestEmailForm
from proofdesk.notifications.models import (
    STATUSES,
    CustomerNotification,
    StaffNotification,
    settings_of,
    smtp_state,
)
from proofdesk.pagination import id_arg, page_arg
from proofdesk.web import client_ip, limiter

bp = Blueprint("notifications", __name__)
# `user|smtp_state` on My Proofs, Admin → Users and the email settings.
bp.add_app_template_filter(smtp_state)

TEST_LIMIT = "5 per minute"


def _tester_key() -> str:
    return f"smtp-test:{current_user.get_id() and current_user.id}"


def settings_form(user: User, *, posted: bool = True) -> SmtpSettingsForm:
    """The settings form as posted, or (posted=False, e.g. after Send Test Email was posted)
    filled from the user's saved settings."""
    form = SmtpSettingsForm(
        obj=None,
        allow_insecure=current_app.config["SMTP_ALLOW_INSECURE"],
        **({} if posted else {"formdata": None}),
    )
    saved = settings_of(user)
    if (request.method == "GET" or not posted) and saved is not None:
        form.host.data, form.port.data = saved.host, saved.port
        form.security.data = saved.security or SmtpSecurity.STARTTLS
        form.username.data, form.from_name.data = saved.username, saved.from_name
        form.from_address.data, form.reply_to.data = saved.from_address, saved.reply_to
    return form


def save(user: User, form: SmtpSettingsForm) -> bool:
    """Validate and store the settings; False with errors on the form."""
    if not form.validate_on_submit():
        return False
    session = get_session()
    data = smtp.SmtpInput(
        host=form.host.data or "",
        port=form.port.data,
        security=form.security.data,
        username=form.username.data or "",
        password=form.password.data or "",
        from_name=form.from_name.data or "",
        from_address=form.from_address.data or "",
        reply_to=form.reply_to.data or "",
    )
    try:
        smtp.save_settings(
            session,
            user=user,
            data=data,
            config=current_app.config,
            changed_by=current_user,
            ip=client_ip(),
        )
    except ServiceError as exc:
        session.rollback()
        apply_error(form, exc)
        return False
    flash(
        "Email settings saved. Send a test email to check them."
        if smtp.own_server(user)
        else "Saved: notifications now go through the default mailer.",
        "success",
    )
    return True


def run_test(user: User, form: TestEmailForm) -> smtp.TestResult | None:
    if not form.validate_on_submit():
        return None
    session = get_session()
    try:
        result = smtp.send_test_email(
            session,
            user=user,
            to=filled(form.to),
            config=current_app.config,
            by=current_user,
            ip=client_ip(),
        )
    except ServiceError as exc:
        apply_error(form, exc)
        return None
    return result


def _test_form(form: TestEmailForm | None = None) -> TestEmailForm:
    """The Send Test Email form; its address is the signed-in user's unless one was typed."""
    form = form or TestEmailForm()
    if not form.to.data:
        form.to.data = current_user.email
    return form


def _own_page(
    form: SmtpSettingsForm | None = None,
    test_form: TestEmailForm | None = None,
    result: smtp.TestResult | None = None,
    status: int = 200,
) -> tuple[str, int]:
    return render_template(
        "notifications/own_settings.html",
        user=current_user,
        smtp_form=form or settings_form(current_user, posted=False),
        test_form=_test_form(test_form),
        result=result,
    ), status


@bp.route("/account/email", methods=["GET", "POST"])
@login_required
def own_settings() -> Response | tuple[str, int]:
    form = settings_form(current_user)
    if request.method == "POST":
        if save(current_user, form):
            return redirect(url_for("notifications.own_settings"))
        return _own_page(form=form, status=400)
    return _own_page(form=form)


@bp.post("/account/email/test")
@login_required
@limiter.limit(TEST_LIMIT, key_func=_tester_key)
def own_test() -> tuple[str, int]:
    form = TestEmailForm()
    result = run_test(current_user, form)
    return _own_page(test_form=form, result=result, status=200 if result else 400)


def email_forms(user: User) -> dict[str, object]:
    """What the Email section of Admin → Users → Edit needs."""
    test_form = TestEmailForm()
    test_form.to.data = current_user.email
    return {"smtp_form": settings_form(user, posted=False), "test_form": test_form, "result": None}


def admin_page(
    user: User,
    *,
    smtp_form: SmtpSettingsForm | None = None,
    test_form: TestEmailForm | None = None,
    result: smtp.TestResult | None = None,
    status: int = 200,
) -> tuple[str, int]:
    from proofdesk.accounts.forms import UserForm

    # formdata=None: the posted form was the email one; the user form shows what is saved
    # (bound to that post, the unchecked "Active" box would deactivate the user on Save).
    return render_template(
        "admin/user_form.html",
        form=UserForm(formdata=None, obj=user),
        user=user,
        smtp_form=smtp_form or settings_form(user, posted=False),
        test_form=_test_form(test_form),
        result=result,
    ), status


@bp.post("/admin/users/<int:user_id>/email")
@admin_required
def admin_settings(user_id: int) -> Response | tuple[str, int]:
    user = get_or_404(get_session(), User, user_id)
    form = settings_form(user)
    if save(user, form):
        return redirect(url_for("admin.edit_user", user_id=user.id) + "#email")
    return admin_page(user, smtp_form=form, status=400)


@bp.post("/admin/users/<int:user_id>/email/test")
@admin_required
@limiter.limit(TEST_LIMIT, key_func=_tester_key)
def admin_test(user_id: int) -> tuple[str, int]:
    user = get_or_404(get_session(), User, user_id)
    form = TestEmailForm()
    result = run_test(user, form)
    return admin_page(user, test_form=form, result=result, status=200 if result else 400)


def _date_arg(name: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None


@bp.get("/admin/notifications")
@admin_required
def log() -> str:
    kind = request.args.get("kind", "")
    filters = services.LogFilter(
        kind=kind if kind in log_kinds() else None,
        status=request.args.get("status") if request.args.get("status") in STATUSES else None,
        designer_id=id_arg("designer"),
        customer_id=id_arg("customer"),
        since=_date_arg("since"),
        until=_date_arg("until"),
    )
    page = page_arg()
    found = services.log_page(get_session(), filters=filters, page=page)
    return render_template(
        "notifications/log.html",
        rows=found.rows,
        has_more=found.has_more,
        page=page,
        filters=filters,
        statuses=STATUSES,
        kinds=log_kinds(),
        staff=filters.kind in STAFF_KINDS,
        designers=found.designers,
        customer=found.customer,
    )


STAFF_KINDS = (services.STAFF, *StaffNotificationKind)


def log_kinds() -> dict[str, str]:
    """The log's kind filter: each customer email, then the emails to staff (all, or one)."""
    return {
        **{str(kind): content.label(kind) for kind in NotificationKind},
        services.STAFF: "Every email to staff",
        **{str(kind): content.label(kind) for kind in StaffNotificationKind},
    }


@bp.post("/admin/notifications/<int:notification_id>/retry")
@admin_required
def retry(notification_id: int) -> Response:
    return _retry(CustomerNotification, notification_id)


@bp.post("/admin/notifications/staff/<int:notification_id>/retry")
@admin_required
def retry_staff(notification_id: int) -> Response:
    return _retry(StaffNotification, notification_id)


def _retry(outbox: services.Outbox, notification_id: int) -> Response:
    session = get_session()
    notification = get_or_404(session, outbox, notification_id)
    if services.retry(session, notification):
        flash(f"Notification to {notification.to_address} is queued again.", "success")
    else:
        flash("Only failed notifications can be retried.", "error")
    return redirect(safe_next(request.form.get("next"), url_for("notifications.log")))
