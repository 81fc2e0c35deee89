"""Staff proof pages: My Proofs, upload, the proof page, new versions, share-link controls."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from proofdesk.customers.models import Customer
from proofdesk.db import get_or_404, get_session
from proofdesk.errors import ServiceError
from proofdesk.forms import SelectChoice, apply_error, filled
from proofdesk.notifications.services import for_proof as notes_for_proof
from proofdesk.pagination import id_arg, page_arg
from proofdesk.proofs import services, serving
from proofdesk.proofs.access import proof_or_404
from proofdesk.proofs.forms import ProofForm, VersionForm
from proofdesk.proofs.models import STATUSES, Proof
from proofdesk.review import screen
from proofdesk.review import services as review
from proofdesk.review.models import Decision
from proofdesk.review.routes import review_routes
from proofdesk.review.urls import ReviewUrls
from proofdesk.storage import get_storage
from proofdesk.web import client_ip

bp = Blueprint("proofs", __name__, url_prefix="/proofs")


@bp.get("")
@login_required
def dashboard() -> str:
    session = get_session()
    status = request.args.get("status") if request.args.get("status") in STATUSES else None
    customer_id = id_arg("customer")
    q = request.args.get("q", "")[:200]
    page = page_arg()
    proofs, has_more = services.list_proofs(
        session, viewer=current_user, status=status, customer_id=customer_id, q=q, page=page
    )
    customer = session.get(Customer, customer_id) if customer_id else None
    return render_template(
        "proofs/dashboard.html",
        proofs=proofs,
        has_more=has_more,
        page=page,
        status=status,
        statuses=STATUSES,
        customer=customer,
        q=q,
    )


def _limits() -> services.Limits:
    return services.Limits.from_config(current_app.config)


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new() -> Response | tuple[str, int]:
    form = ProofForm()
    chosen = id_arg("customer") if request.method == "GET" else form.customer_id.data
    chosen = chosen if chosen and 0 < chosen < 2**31 else None  # a posted id may be any number
    choices = services.customer_choices(get_session(), designer=current_user, selected=chosen)
    form.customer_id.choices = [SelectChoice(0, "Choose a customer…")] + [
        SelectChoice(customer_id, label) for customer_id, label in choices
    ]
    if request.method == "GET" and chosen:
        form.customer_id.data = chosen
    if form.validate_on_submit():
        session = get_session()
        upload = services.Upload(stream=form.file.data.stream, filename=form.file.data.filename)
        try:
            proof = services.create_proof(
                session,
                storage=get_storage(),
                designer=current_user,
                customer_id=form.customer_id.data,
                title=filled(form.title),
                message=form.message.data,
                due_date=form.due_date.data,
                upload=upload,
                limits=_limits(),
                ip=client_ip(),
                require_terms=bool(form.require_terms.data),
                notify_config=current_app.config if form.notify.data else None,
            )
        except ServiceError as exc:
            session.rollback()
            apply_error(form, exc)
        else:
            flash(
                f"Proof uploaded; {proof.customer.name} gets an email in a moment."
                if form.notify.data
                else "Proof uploaded. Copy the share link below and send it to your customer.",
                "success",
            )
            return redirect(url_for("proofs.show", proof_id=proof.id))
    status = 400 if request.method == "POST" else 200
    return render_template("proofs/new.html", form=form), status


def _staff_extra(proof: Proof) -> dict[str, object]:
    session = get_session()
    link = review.active_share_link(session, proof)
    return {
        "activities": review.proof_activity(session, proof),
        "notifications": notes_for_proof(session, proof.id),
        "share_url": review.share_url(link) if link else None,
        "link_unshowable": link is not None and review.share_url(link) is None,
    }


def _who(proof: Proof) -> screen.Audience:
    return screen.Audience(
        urls=ReviewUrls("proofs", {"proof_id": proof.id}),
        template="proofs/show.html",
        user=current_user,
        extra=_staff_extra,
    )


def _proof(proof_id: int) -> Proof:
    return proof_or_404(get_session(), viewer=current_user, proof_id=proof_id)


# The proof page is the review screen as staff see it: comments, threads, compare, pages, files.
review_routes(
    bp,
    prefix="/<int:proof_id>",
    load_proof=_proof,
    audience=_who,
    guard=login_required,
    decides=False,
)


@bp.route("/<int:proof_id>/versions/new", methods=["GET", "POST"])
@login_required
def new_version(proof_id: int) -> str | Response | tuple[str, int]:
    proof = _proof(proof_id)
    if proof.locked_at is not None:
        flash("This proof is locked for production; unlock it to upload a new version.", "error")
        return redirect(url_for("proofs.show", proof_id=proof.id))
    form = VersionForm()
    if form.validate_on_submit():
        session = get_session()
        upload = services.Upload(stream=form.file.data.stream, filename=form.file.data.filename)
        try:
            added = services.add_version(
                session,
                storage=get_storage(),
                proof=proof,
                upload=upload,
                limits=_limits(),
                uploaded_by=current_user,
                ip=client_ip(),
                message=form.message.data,
                notify_config=current_app.config if form.notify.data else None,
            )
        except ServiceError as exc:
            session.rollback()
            apply_error(form, exc)
        else:
            flash(
                f"Version {added.number} uploaded; the share link now shows it."
                + (
                    f" {proof.customer.name} gets an email in a moment." if form.notify.data else ""
                ),
                "success",
            )
            return redirect(url_for("proofs.show", proof_id=proof.id))
    status = 400 if request.method == "POST" else 200
    return render_template("proofs/new_version.html", form=form, proof=proof), status


@bp.post("/<int:proof_id>/lock")
@login_required
def lock(proof_id: int) -> Response:
    proof = _proof(proof_id)
    session = get_session()
    locking = request.form.get("action") != "unlock"
    review.lock(session, proof=proof, by=current_user, locked=locking, ip=client_ip())
    flash(
        "Locked for production: no more decisions, withdrawals or versions."
        if locking
        else "Unlocked.",
        "success",
    )
    return redirect(url_for("proofs.show", proof_id=proof.id))


@bp.get("/<int:proof_id>/decisions/<int:decision_id>/approval-record.pdf")
@login_required
def approval_record(proof_id: int, decision_id: int) -> Response:
    from proofdesk.review.approval_record import approval_record_pdf

    proof = _proof(proof_id)
    session = get_session()
    decision = get_or_404(session, Decision, decision_id, allowed=lambda d: d.proof_id == proof.id)
    pdf = approval_record_pdf(session, storage=get_storage(), proof=proof, decision=decision)
    name = f"approval-record-{proof.id}-v{decision.version.number}.pdf"
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": serving.content_disposition(name)},
    )


@bp.post("/<int:proof_id>/share-link")
@login_required
def share_link(proof_id: int) -> Response:
    proof = _proof(proof_id)
    session = get_session()
    if request.form.get("action") == "revoke":
        review.revoke_share_link(session, proof=proof, by=current_user, ip=client_ip())
        flash("The share link is revoked: it no longer opens this proof.", "success")
    else:
        review.issue_share_link(session, proof=proof, by=current_user, ip=client_ip())
        flash("A new share link is ready; the old one no longer works.", "success")
    return redirect(url_for("proofs.show", proof_id=proof.id) + "#share")
