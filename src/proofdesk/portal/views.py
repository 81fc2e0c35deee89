"""The portal: a logged-in customer's proofs, and the review screen as that customer."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from werkzeug.wrappers import Response

from proofdesk.customer_login.session import current_customer, customer_required
from proofdesk.customers.models import Customer
from proofdesk.db import get_session
from proofdesk.pagination import page_arg
from proofdesk.portal import services
from proofdesk.proofs import serving
from proofdesk.proofs.access import proof_or_404
from proofdesk.proofs.models import Proof
from proofdesk.review import screen
from proofdesk.review import services as review
from proofdesk.review.urls import ReviewUrls
from proofdesk.web import client_ip, limiter

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


@bp.get("/proofs/<int:proof_id>")
@customer_required
def show(proof_id: int) -> tuple[str, int]:
    # Endpoint names here match ReviewUrls, so the review screen links the same way everywhere.
    found = _proof(proof_id)
    session = get_session()
    review.record_portal_view(
        session,
        proof=found,
        customer=current_customer(),
        ip=client_ip(),
        email_token=request.args.get("n"),
    )
    session.commit()
    return screen.page(found, None, who=_who(found))


@bp.get("/proofs/<int:proof_id>/v/<int:number>")
@customer_required
def version(proof_id: int, number: int) -> tuple[str, int]:
    found = _proof(proof_id)
    return screen.page(found, number, who=_who(found))


@bp.post("/proofs/<int:proof_id>/comments")
@customer_required
@limiter.limit("30 per minute")
def comment(proof_id: int) -> Response | tuple[str, int]:
    found = _proof(proof_id)
    return screen.comment(found, who=_who(found))


@bp.post("/proofs/<int:proof_id>/decision")
@customer_required
@limiter.limit("30 per minute")
def decision(proof_id: int) -> Response | tuple[str, int]:
    found = _proof(proof_id)
    return screen.decision(found, who=_who(found))


@bp.post("/proofs/<int:proof_id>/threads/<int:comment_id>")
@customer_required
@limiter.limit("30 per minute")
def resolve(proof_id: int, comment_id: int) -> Response:
    found = _proof(proof_id)
    return screen.resolve(found, comment_id, who=_who(found))


@bp.post("/proofs/<int:proof_id>/decision/withdraw")
@customer_required
@limiter.limit("30 per minute")
def withdraw(proof_id: int) -> Response | tuple[str, int]:
    found = _proof(proof_id)
    return screen.withdraw(found, who=_who(found))


@bp.get("/proofs/<int:proof_id>/compare")
@customer_required
def compare(proof_id: int) -> str:
    found = _proof(proof_id)
    return screen.compare(found, who=_who(found))


@bp.get("/proofs/<int:proof_id>/compare/<int:a>/<int:b>/pages/<int:page>")
@customer_required
def diff(proof_id: int, a: int, b: int, page: int) -> Response:
    return screen.diff(_proof(proof_id), a, b, page)


@bp.get("/proofs/<int:proof_id>/v/<int:number>/pages/<int:page>")
@customer_required
def page_image(proof_id: int, number: int, page: int) -> Response:
    return serving.send_page(
        serving.version_or_404(get_session(), _proof(proof_id), number), page, thumb=False
    )


@bp.get("/proofs/<int:proof_id>/v/<int:number>/thumbs/<int:page>")
@customer_required
def page_thumb(proof_id: int, number: int, page: int) -> Response:
    return serving.send_page(
        serving.version_or_404(get_session(), _proof(proof_id), number), page, thumb=True
    )


@bp.get("/proofs/<int:proof_id>/v/<int:number>/file")
@customer_required
def original(proof_id: int, number: int) -> Response:
    return serving.send_original(serving.version_or_404(get_session(), _proof(proof_id), number))


@bp.get("/proofs/<int:proof_id>/v/<int:number>/status")
@customer_required
def render_status(proof_id: int, number: int) -> Response:
    return serving.render_status(serving.version_or_404(get_session(), _proof(proof_id), number))
