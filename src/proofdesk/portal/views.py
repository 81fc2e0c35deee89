"""The portal: a logged-in customer's proofs, and the review screen as that customer."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from proofdesk.customer_login.session import current_customer, customer_required
from proofdesk.customers.models import Customer
from proofdesk.db import get_session
from proofdesk.pagination import page_arg
from proofdesk.portal import services
from proofdesk.proofs.access import proof_or_404
from proofdesk.proofs.models import Proof
from proofdesk.review import screen
from proofdesk.review import services as review
from proofdesk.review.routes import review_routes
from proofdesk.review.urls import ReviewUrls
from proofdesk.web import client_ip

bp = Blueprint("portal", __name__, url_prefix="/portal")


def _me() -> Customer:
    customer = current_customer()
    assert customer is not None
    return customer


def _proof(proof_id: int) -> Proof:
    return proof_or_404(get_session(), viewer=_me(), proof_id=proof_id)


def _who(proof: Proof) -> screen.Audience:
    return screen.Audience(
        urls=ReviewUrls("portal", {"proof_id": proof.id}),
        template="review/share.html",
        customer=_me(),
    )


@bp.get("")
@customer_required
def index() -> str:
    page = page_arg()
    proofs, has_more = services.customer_proofs(get_session(), customer=_me(), page=page)
    return render_template(
        "portal/index.html", proofs=proofs, page=page, has_more=has_more, customer=_me()
    )


def _record_view(proof: Proof) -> None:
    """The customer opened the proof (through an email's link: the email was opened)."""
    customer = current_customer()
    assert customer is not None  # customer_required let the request in
    review.record_portal_view(
        get_session(),
        proof=proof,
        customer=customer,
        ip=client_ip(),
        email_token=request.args.get("n"),
    )


# The review screen as the customer sees it: they comment, resolve, approve and withdraw.
review_routes(
    bp,
    prefix="/proofs/<int:proof_id>",
    load_proof=_proof,
    audience=_who,
    guard=customer_required,
    form_limit="30 per minute",
    on_open=_record_view,
)
