"""Staff side of customer login: invite one or all, follow a bulk invite, reset, disable."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from proofdesk.customers import auth, services
from proofdesk.customers.models import Customer
from proofdesk.db import get_session
from proofdesk.errors import ServiceError
from proofdesk.web import client_ip

bp = Blueprint("customer_login", __name__, url_prefix="/customers")



def _settings() -> auth.TokenSettings:
    return auth.TokenSettings.from_config(current_app.config)


def _customer(customer_id: int) -> Customer:
    customer = get_session().get(Customer, customer_id)
    if customer is None:
        abort(404)
    return customer


@bp.post("/<int:customer_id>/invite")
@login_required
def invite(customer_id: int) -> Response:
    customer = _customer(customer_id)
    session = get_session()
    try:
        auth.invite(session, customer=customer, by=current_user, settings=_settings(),
                    ip=client_ip())
        session.commit()
    except ServiceError as exc:
        session.rollback()
        flash(exc.message, "error")
    else:
        flash(f"Invitation sent to {customer.email}. Any earlier invitation link no longer "
              "works.", "success")
    return redirect(url_for("customers.show", customer_id=customer.id))


@bp.post("/invite-all")
@login_required
def invite_all() -> Response:
    session = get_session()
    batch_id, count = auth.invite_all_without_credentials(session, by=current_user,
                                                          settings=_settings(), ip=client_ip())
    session.commit()
    if count == 0:
        flash("Every customer already has a login or an open invitation; nobody to invite. "
              "Re-send a single invitation from the customer's page.", "info")
        return redirect(url_for("customers.index"))
    return redirect(url_for("customer_login.invite_progress", batch_id=batch_id))


@bp.get("/invites/<batch_id>")
@login_required
def invite_progress(batch_id: str) -> str:
    counts = services.batch_progress(get_session(), batch_id[:40])
    if counts["total"] == 0:
        abort(404)
    return render_template("customers/invite_progress.html", counts=counts, batch_id=batch_id)


@bp.get("/invites/<batch_id>/progress")
@login_required
def invite_progress_json(batch_id: str) -> Response:
    counts = services.batch_progress(get_session(), batch_id[:40])
    if counts["total"] == 0:
        abort(404)
    return jsonify(counts)


@bp.post("/<int:customer_id>/reset")
@login_required
def send_reset(customer_id: int) -> Response:
    customer = _customer(customer_id)
    session = get_session()
    auth.request_password_reset(session, email=customer.email, settings=_settings(),
                                ip=client_ip())
    session.commit()
    flash(f"A password reset link is on its way to {customer.email}.", "success")
    return redirect(url_for("customers.show", customer_id=customer.id))


@bp.post("/<int:customer_id>/login/<action>")
@login_required
def toggle_login(customer_id: int, action: str) -> Response:
    if action not in {"disable", "enable"}:
        abort(404)
    customer = _customer(customer_id)
    session = get_session()
    try:
        auth.set_login_disabled(session, customer=customer, disabled=action == "disable",
                                by=current_user, ip=client_ip())
        session.commit()
    except ServiceError as exc:
        session.rollback()
        flash(exc.message, "error")
    else:
        flash(f"{customer.name} can no longer log in; their sessions have ended."
              if action == "disable" else f"{customer.name} can log in again.", "success")
    return redirect(url_for("customers.show", customer_id=customer.id))
