"""Staff proof pages: My Proofs, upload, the proof page, new versions, share-link controls."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from proofdesk.config import settings
from proofdesk.customers.models import Customer
from proofdesk.db import get_or_404, get_session
from proofdesk.designer_notifications import services as designer_notifications
from proofdesk.errors import ServiceError
from proofdesk.forms import SelectChoice, apply_error, filled
from proofdesk.notifications.services import for_proof as notes_for_proof
from proofdesk.notifications.services import staff_notifications_for_proof, timeline
from proofdesk.pagination import id_arg, page_arg
from proofdesk.proofs import reminders, services, serving
from proofdesk.proofs.access import proof_or_404
from proofdesk.proofs.forms import ProofForm, RemindersForm, RemindNowForm, VersionForm
from proofdesk.proofs.models import STATUSES, Proof
from proofdesk.review import screen
from proofdesk.review import services as review
from proofdesk.review.models import Decision
from proofdesk.review.routes import review_routes
from proofdesk.review.urls import ReviewUrls
from proofdesk.storage import get_storage
from proofdesk.web import client_ip, limiter

bp = Blueprint("proofs", __name__, url_prefix="/proofs")


@bp.get("")
@login_required
def dashboard() -> str:
    session = get_session()
    status = request.args.get("status") if request.args.get("status") in STATUSES else None
    customer_id = id_arg("customer")
    q = request.args.get("q", "")[:200]
    page = page_arg()
    overdue = request.args.get("overdue") == "1"
    proofs, has_more = services.list_proofs(
        session,
        viewer=current_user,
        status=status,
        customer_id=customer_id,
        q=q,
        overdue=overdue,
        page=page,
    )
    customer = session.get(Customer, customer_id) if customer_id else None
    return render_template(
        "proofs/dashboard.html",
        unread=designer_notifications.unread(session, user=current_user),
        proofs=proofs,
        has_more=has_more,
        page=page,
        status=status,
        statuses=STATUSES,
        customer=customer,
        q=q,
        overdue=overdue,
        today=reminders.studio_today(),
    )


def _own_days(typed: str | None) -> str | None:
    """The proof's own reminder days, or None for the studio's (left as the form showed them,
    or not sent at all); empty: none."""
    if typed is None or typed.strip() == reminders.as_text(settings().reminder_days):
        return None
    return typed


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
    if request.method == "GET":
        form.reminder_days.data = reminders.as_text(settings().reminder_days)
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
                reminder_days=_own_days(
                    form.reminder_days.data if "reminder_days" in request.form else None
                ),
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
        "reminders_form": RemindersForm(
            data={
                "due_date": proof.due_date,
                "reminder_days": reminders.as_text(reminders.days_of(proof)),
            }
        ),
        "remind_form": RemindNowForm(),
        "overdue": reminders.overdue(proof),
        "activities": review.proof_activity(session, proof),
        "notifications": (notifications := notes_for_proof(session, proof.id)),
        "timeline": timeline(session, notifications),
        "staff_notifications": staff_notifications_for_proof(session, proof.id),
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
def _mark_read(proof: Proof) -> None:
    """Looking at the proof clears what My Proofs marked new on it for this user."""
    designer_notifications.mark_read(get_session(), user=current_user, proof_id=proof.id)


review_routes(
    bp,
    prefix="/<int:proof_id>",
    load_proof=_proof,
    audience=_who,
    guard=login_required,
    decides=False,
    on_look=_mark_read,
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


@bp.post("/<int:proof_id>/reminders")
@login_required
def change_reminders(proof_id: int) -> Response:
    proof = _proof(proof_id)
    form = RemindersForm()
    session = get_session()
    if form.validate_on_submit():
        try:
            reminders.change(
                session,
                proof=proof,
                due_date=form.due_date.data,
                reminder_days=form.reminder_days.data or "",
                by=current_user,
                ip=client_ip(),
            )
        except ServiceError as exc:
            session.rollback()
            flash(exc.message, "error")
        else:
            flash("Due date and reminders saved.", "success")
    else:
        flash(_first_error(form), "error")
    return redirect(url_for("proofs.show", proof_id=proof.id) + "#reminders")


@bp.post("/<int:proof_id>/remind")
@login_required
@limiter.limit("10 per minute")
def remind_now(proof_id: int) -> Response:
    proof = _proof(proof_id)
    session = get_session()
    if RemindNowForm().validate_on_submit():
        try:
            reminders.remind_now(session, proof=proof, by=current_user, ip=client_ip())
        except ServiceError as exc:
            session.rollback()
            flash(exc.message, "error")
        else:
            flash(f"A reminder is on its way to {proof.customer.email}.", "success")
    else:
        flash("The form expired; try again.", "error")
    return redirect(url_for("proofs.show", proof_id=proof.id) + "#reminders")


def _first_error(form: RemindersForm) -> str:
    for field in (form.due_date, form.reminder_days):
        if field.errors:
            return str(field.errors[0])
    return "The form expired; try again."
