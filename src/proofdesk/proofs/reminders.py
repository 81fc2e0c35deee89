"""Reminders to review a proof, built on its due date: automatic ones before, on and after it
(the studio's REMINDER_DAYS, or the proof's own), and "Send reminder now" with a cooldown.
They are customer emails in the outbox, due at their time: the worker sends each once, also
with several workers, and after a restart catches up. A decision, a lock or a new schedule
takes back the ones not yet sent."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from proofdesk import activity
from proofdesk.accounts.models import User
from proofdesk.activity import Activity, ActivityKind
from proofdesk.config import parse_reminder_days, settings
from proofdesk.db import utcnow
from proofdesk.errors import ServiceError
from proofdesk.notifications import content
from proofdesk.notifications.content import NotificationKind, NotSendable
from proofdesk.notifications.models import CustomerNotification, NotificationStatus
from proofdesk.notifications.services import queue, tracked
from proofdesk.proofs.emails import proof_link, proof_values
from proofdesk.proofs.models import Proof, ProofStatus

# Events after which the proof's reminders are planned again (or taken back).
PLAN_AGAIN = (
    ActivityKind.PROOF_UPLOADED,
    ActivityKind.VERSION_UPLOADED,
    ActivityKind.DECISION_APPROVED,
    ActivityKind.DECISION_CHANGES_REQUESTED,
    ActivityKind.DECISION_WITHDRAWN,
    ActivityKind.PROOF_LOCKED,
    ActivityKind.PROOF_UNLOCKED,
    ActivityKind.REMINDERS_CHANGED,
)


def register() -> None:
    """At app start: the reminder email, and plan reminders as proofs change."""
    content.register(NotificationKind.REMINDER, label="Reminder", build=reminder_email)
    activity.subscribe(*PLAN_AGAIN)(_plan_after)


def _plan_after(session: Session, event: Activity) -> None:
    proof = session.get(Proof, event.proof_id) if event.proof_id else None
    if proof is not None:
        plan(session, proof)


def days_of(proof: Proof) -> tuple[int, ...]:
    """The proof's reminder days, or the studio's."""
    if proof.reminder_days is None:
        return settings().reminder_days
    return parse_reminder_days(proof.reminder_days)


def waiting_for_review(proof: Proof) -> bool:
    return proof.status == ProofStatus.AWAITING_REVIEW and proof.locked_at is None


def plan(session: Session, proof: Proof) -> list[CustomerNotification]:
    """Take back the reminders not sent yet and queue the ones still ahead, each at the
    studio's REMINDER_HOUR on its day; none once the customer decided or the proof is locked."""
    session.flush()
    _take_back(session, proof.id)
    if proof.due_date is None or not waiting_for_review(proof):
        return []
    now = utcnow()
    zone = ZoneInfo(settings().studio_timezone)
    planned = []
    for day in days_of(proof):
        at = dt.datetime.combine(
            proof.due_date + dt.timedelta(days=day),
            dt.time(settings().reminder_hour),
            tzinfo=zone,
        ).astimezone(dt.UTC)
        if at > now:
            planned.append(_queue_reminder(session, proof, due=at))
    return planned


def _take_back(session: Session, proof_id: int) -> None:
    n = CustomerNotification
    session.execute(
        sa.delete(n)
        .where(
            n.proof_id == proof_id,
            n.kind == NotificationKind.REMINDER,
            n.status == NotificationStatus.QUEUED,
            n.attempts == 0,
        )
        .execution_options(synchronize_session=False)
    )


def _queue_reminder(session: Session, proof: Proof, *, due: dt.datetime) -> CustomerNotification:
    if not proof.customer.email:
        raise ServiceError("The customer has no email address: add one to send reminders.")
    return queue(
        session,
        kind=NotificationKind.REMINDER,
        customer=proof.customer,
        subject=f"Reminder: {proof.title}",
        base_url=settings().base_url,
        proof_id=proof.id,
        version_number=proof.current_version,
        designer_id=proof.designer_id,
        due=due,
    )


def change(
    session: Session,
    *,
    proof: Proof,
    due_date: dt.date | None,
    reminder_days: str,
    by: User,
    ip: str | None,
) -> None:
    """The proof page's "Due date and reminders": checked, stored, and planned again."""
    proof.due_date = due_date
    proof.reminder_days = clean_days(reminder_days)
    activity.record(
        session,
        kind=ActivityKind.REMINDERS_CHANGED,
        actor=by.name,
        ip=ip,
        proof_id=proof.id,
        user_id=by.id,
        detail=describe(proof),
    )


def clean_days(text: str | None) -> str | None:
    """A proof's reminder days as typed, stored in one form ("-2,0,2"); None keeps the
    studio's; a clear message for what is not a list of days."""
    if text is None:
        return None
    try:
        return ",".join(str(day) for day in parse_reminder_days(text))
    except ValueError as exc:
        raise ServiceError(str(exc), "reminder_days") from exc


def as_text(days: tuple[int, ...]) -> str:
    return ", ".join(str(day) for day in days)


def describe(proof: Proof) -> str:
    """In words, for the activity list: "due 10 Dec 2026; reminders -2, 0, 2"."""
    due = proof.due_date.strftime("%d %b %Y") if proof.due_date else "no due date"
    days = days_of(proof)
    return f"due {due}; reminders {as_text(days)}" if days else f"due {due}; no reminders"


def remind_now(session: Session, *, proof: Proof, by: User, ip: str | None) -> None:
    """ "Send reminder now": at once, unless one went out less than REMINDER_COOLDOWN_MINUTES
    ago, or the customer has decided, or the proof is locked."""
    if proof.locked_at is not None:
        raise ServiceError("This proof is locked for production: there is nothing to remind.")
    if proof.status != ProofStatus.AWAITING_REVIEW:
        raise ServiceError(
            "The customer has decided on this version; upload a new version to ask again."
        )
    cooldown = dt.timedelta(minutes=settings().reminder_cooldown_minutes)
    now = utcnow()
    n = CustomerNotification
    last = session.scalar(
        sa.select(sa.func.max(n.next_attempt_at)).where(
            n.proof_id == proof.id,
            n.kind == NotificationKind.REMINDER,
            n.status != NotificationStatus.FAILED,
            n.next_attempt_at <= now,
        )
    )
    if last is not None and now - last < cooldown:
        wait = max(1, int((last + cooldown - now).total_seconds() // 60) + 1)
        raise ServiceError(
            f"A reminder went out {int((now - last).total_seconds() // 60)} minutes ago; "
            f"you can send the next one in {wait} minutes."
        )
    _queue_reminder(session, proof, due=now)
    activity.record(
        session,
        kind=ActivityKind.REMINDER_SENT,
        actor=by.name,
        ip=ip,
        proof_id=proof.id,
        user_id=by.id,
        detail=f"to {proof.customer.email}",
    )


def reminder_email(
    session: Session, notification: CustomerNotification
) -> tuple[str, dict[str, Any]]:
    """The reminder: what waits, until when, and the link; never once the customer decided."""
    proof = session.get(Proof, notification.proof_id)
    if proof is None:
        raise NotSendable("Not sent: the proof no longer exists.")
    if not waiting_for_review(proof):
        raise NotSendable("Not sent: the customer decided, or the proof was locked, before it.")
    link = tracked(
        proof_link(session, proof, notification.customer, current_app.config), notification
    )
    values = proof_values(proof, proof.current_version, link)
    today = studio_today()
    return "proof_reminder", {
        **values,
        "link": link,
        "due_date": proof.due_date,
        "days_left": (proof.due_date - today).days if proof.due_date else None,
    }


def studio_today() -> dt.date:
    return utcnow().astimezone(ZoneInfo(settings().studio_timezone)).date()


def overdue(proof: Proof) -> bool:
    """Past its due date (in the studio's time zone) and not approved."""
    if proof.due_date is None or proof.status == ProofStatus.APPROVED:
        return False
    return proof.due_date < studio_today()


def overdue_clause() -> sa.ColumnElement[bool]:
    """The same, for My Proofs' Overdue filter."""
    return sa.and_(Proof.due_date < studio_today(), Proof.status != ProofStatus.APPROVED)
