"""Customers: list and search, create, edit, and a customer's proofs."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from proofdesk.customer_login.invites import credential_state, open_invite_customer_ids
from proofdesk.customer_login.session import login_enabled
from proofdesk.customers import services
from proofdesk.customers.access import customer_or_404, may_manage
from proofdesk.customers.forms import CustomerForm
from proofdesk.db import get_session
from proofdesk.errors import ServiceError
from proofdesk.forms import apply_error, filled
from proofdesk.pagination import page_arg
from proofdesk.proofs.services import list_proofs
from proofdesk.web import client_ip

bp = Blueprint("customers", __name__, url_prefix="/customers")


def listing(*, with_readiness: bool) -> str:
    """The customer list with each one's login state (and, for Admin → Customers, the
    readiness summary for retiring share links)."""
    session = get_session()
    query = request.args.get("q", "")[:200]
    page = page_arg()
    rows, has_more = services.search_customers(session, query=query, page=page)
    invited = open_invite_customer_ids(session, [c.id for c in rows])
    states = {c.id: credential_state(c, invited) for c in rows}
    return render_template(
        "customers/index.html",
        customers=rows,
        q=query,
        page=page,
        has_more=has_more,
        states=states,
        login_enabled=login_enabled(),
        readiness=services.readiness(session) if with_readiness else None,
    )


@bp.get("")
@login_required
def index() -> str:
    return listing(with_readiness=False)


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new() -> str | Response:
    form = CustomerForm()
    if form.validate_on_submit():
        session = get_session()
        try:
            customer = services.create_customer(
                session,
                name=filled(form.name),
                email=filled(form.email),
                company=form.company.data,
                created_by_id=current_user.id,
            )
        except ServiceError as exc:
            session.rollback()
            apply_error(form, exc)
        else:
            flash(f"Added {customer.name}.", "success")
            return redirect(safe_back() or url_for("customers.show", customer_id=customer.id))
    return render_template("customers/form.html", form=form, customer=None)


def safe_back() -> str | None:
    back = request.args.get("back")
    return back if back in {"/proofs/new"} else None


@bp.get("/<int:customer_id>")
@login_required
def show(customer_id: int) -> str:
    session = get_session()
    customer = customer_or_404(session, user=current_user, customer_id=customer_id)
    page = page_arg()
    proofs, has_more = list_proofs(session, viewer=current_user, customer_id=customer.id, page=page)
    state = credential_state(customer, open_invite_customer_ids(session, [customer.id]))
    manage = may_manage(session, current_user, customer)
    return render_template(
        "customers/show.html",
        customer=customer,
        proofs=proofs,
        page=page,
        has_more=has_more,
        state=state,
        login_enabled=login_enabled(),
        manage=manage,
        history=services.history(session, customer) if manage else [],
    )


@bp.route("/<int:customer_id>/edit", methods=["GET", "POST"])
@login_required
def edit(customer_id: int) -> str | Response:
    session = get_session()
    customer = customer_or_404(session, user=current_user, customer_id=customer_id, manage=True)
    form = CustomerForm(obj=customer)
    if form.validate_on_submit():
        try:
            services.update_customer(
                session,
                customer=customer,
                name=filled(form.name),
                email=filled(form.email),
                company=form.company.data,
                by=current_user,
                ip=client_ip(),
            )
        except ServiceError as exc:
            session.rollback()
            apply_error(form, exc)
        else:
            flash("Saved.", "success")
            return redirect(url_for("customers.show", customer_id=customer.id))
    return render_template("customers/form.html", form=form, customer=customer)
