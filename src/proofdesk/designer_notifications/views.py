"""Account → Notifications: each staff user's choice of emails."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from proofdesk.db import get_session
from proofdesk.designer_notifications import services
from proofdesk.designer_notifications.forms import PreferencesForm
from proofdesk.designer_notifications.models import Topic
from proofdesk.errors import ServiceError
from proofdesk.forms import apply_error

bp = Blueprint("designer_notifications", __name__)


@bp.route("/account/notifications", methods=["GET", "POST"])
@login_required
def preferences() -> str | Response | tuple[str, int]:
    session = get_session()
    form = PreferencesForm()
    if request.method == "GET":  # a POST says every choice itself (what it lacks is refused)
        saved = services.preferences_of(session, current_user)
        form = PreferencesForm(
            data={
                **{topic.value: saved.delivery(topic).value for topic in Topic},
                "digest_hour": str(saved.digest_hour),
                "all_proofs": saved.all_proofs,
            }
        )
    if form.validate_on_submit():
        hour = form.digest_hour.data or ""
        try:
            services.save_preferences(
                session,
                user=current_user,
                deliveries={topic: form[topic.value].data for topic in Topic},
                digest_hour=int(hour) if hour.isascii() and hour.isdigit() else None,
                all_proofs=bool(form.all_proofs.data),
            )
        except ServiceError as exc:
            session.rollback()
            apply_error(form, exc)
        else:
            flash("Your notification choices are saved.", "success")
            return redirect(url_for("designer_notifications.preferences"))
    status = 400 if form.errors or form.form_errors else 200
    return (
        render_template(
            "designer_notifications/preferences.html",
            form=form,
            time_zone=services.studio_zone().key,
        ),
        status,
    )
