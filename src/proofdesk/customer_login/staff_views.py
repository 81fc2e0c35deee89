"""Staff side of customer login: invite one or all, follow a bulk invite, reset, disable."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from proofdesk.customer_login import invites, resets
from proofdesk.customer_login.mail_limits import Throttled
from proofdesk.customer_login.services import set_login_disabled
from proofdesk.customers.access import customer_or_404
from proofdesk.customers.models import Customer
from proofdesk.db import get_session
from proofdesk.errors import ServiceError
from proofdesk.notifications.services import batch_progress
from proofdesk.tokens import TokenSettings
from proofdesk.web import client_ip, error_page

bp = Blueprint("customer_login", __name__, url_prefix="/customers")


def _settings() -> TokenSettings:
    return TokenSettings.from_config(current_app.config)


def _customer(customer_id: int) -> Customer:
    """The customer, if the current user may manage its login (else 404)."""
    return customer_or_404(get_session(), user=current_user, customer_id=customer_id, manage=True)


Answer = Response | tuple[str, int]


def _send(customer: Customer, send: Callable[[], object], done: str) -> Answer:
    """Send a login mail for `customer`; a refusal is flashed, a throttled one is a 429."""
    session = get_session()
    try:
        send()
    except Throttled as exc:
        session.rollback()
        return error_page(429, exc.message)
    except ServiceError as exc:
        session.rollback()
        flash(exc.message, "error")
    else:
        flash(done, "success")
    return redirect(url_for("customers.show", customer_id=customer.id))


@bp.post("/<int:customer_id>/invite")
@login_required
def invite(customer_id: int) -> Answer:
    customer = _customer(customer_id)
    return _send(
        customer,
        lambda: invites.invite(
            get_session(), customer=customer, by=current_user, settings=_settings(), ip=client_ip()
        ),
        f"Invitation sent to {customer.email}. Any earlier invitation link no longer works.",
    )


@bp.post("/invite-all")
@login_required
def invite_all() -> Response:
    session = get_session()
    bulk = invites.invite_all_without_credentials(
        session, by=current_user, settings=_settings(), ip=client_ip()
    )
    if bulk.left:
        flash(
            f"{bulk.left} customer{'s' if bulk.left != 1 else ''} not invited yet: you have "
            "reached the number of login emails a designer may send in an hour. Press the "
            "button again later to invite them.",
            "info",
        )
    if bulk.sent == 0:
        if not bulk.left:
            whose = "" if current_user.is_admin else " you manage"
            flash(
                f"Every customer{whose} already has a login or an open invitation; nobody "
                "to invite. Re-send a single invitation from the customer's page.",
                "info",
            )
        return redirect(url_for("customers.index"))
    return redirect(url_for("customer_login.invite_progress", batch_id=bulk.batch_id))


@bp.get("/invites/<batch_id>")
@login_required
def invite_progress(batch_id: str) -> str:
    counts = batch_progress(get_session(), batch_id[:40])
    if counts["total"] == 0:
        abort(404)
    return render_template("customers/invite_progress.html", counts=counts, batch_id=batch_id)


@bp.get("/invites/<batch_id>/progress")
@login_required
def invite_progress_json(batch_id: str) -> Response:
    counts = batch_progress(get_session(), batch_id[:40])
    if counts["total"] == 0:
        abort(404)
    return jsonify(counts)


@bp.post("/<int:customer_id>/reset")
@login_required
def send_reset(customer_id: int) -> Answer:
    customer = _customer(customer_id)
    return _send(
        customer,
        lambda: resets.issue_password_reset(
            get_session(), customer=customer, settings=_settings(), by=current_user, ip=client_ip()
        ),
        f"A password reset link is on its way to {customer.email}. Any earlier reset link "
        "no longer works.",
    )


@bp.post("/<int:customer_id>/login/<action>")
@login_required
def toggle_login(customer_id: int, action: str) -> Response:
    if action not in {"disable", "enable"}:
        abort(404)
    customer = _customer(customer_id)
    session = get_session()
    try:
        set_login_disabled(
            session,
            customer=customer,
            disabled=action == "disable",
            by=current_user,
            ip=client_ip(),
        )
    except ServiceError as exc:
        session.rollback()
        flash(exc.message, "error")
    else:
        flash(
            f"{customer.name} can no longer log in; their sessions have ended."
            if action == "disable"
            else f"{customer.name} can log in again.",
            "success",
        )
    return redirect(url_for("customers.show", customer_id=customer.id))
