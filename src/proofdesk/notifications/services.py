"""The outbox: queue a notification, claim due ones atomically, record each outcome."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from proofdesk import queue as queue_rows
from proofdesk.accounts.models import User
from proofdesk.activity import Activity, ActivityKind
from proofdesk.config import settings
from proofdesk.customers.models import Customer
from proofdesk.db import rowcount, utcnow
from proofdesk.mail import SendError, message_id_for
from proofdesk.notifications import content
from proofdesk.notifications.content import NotificationKind, StaffNotificationKind
from proofdesk.notifications.models import (
    STATUSES,
    CustomerNotification,
    NotificationStatus,
    StaffNotification,
    StaffNotificationEvent,
)
from proofdesk.tokens import derive_token, hash_token

LEASE = dt.timedelta(minutes=2)
BACKOFF = (
    dt.timedelta(seconds=30),
    dt.timedelta(minutes=2),
    dt.timedelta(minutes=10),
    dt.timedelta(minutes=30),
    dt.timedelta(hours=2),
)
MAX_ATTEMPTS = len(BACKOFF) + 1


def queue(
    session: Session,
    *,
    kind: NotificationKind,
    customer: Customer,
    subject: str,
    base_url: str,
    proof_id: int | None = None,
    version_number: int | None = None,
    designer_id: int | None = None,
    invite_id: int | None = None,
    reset_id: int | None = None,
    batch_id: str | None = None,
    custom_message: str | None = None,
    due: dt.datetime | None = None,
) -> CustomerNotification:
    """Add a notification to the outbox, in the caller's transaction; sent as soon as a worker
    can, or not before `due`."""
    now = utcnow()
    notification = CustomerNotification(
        kind=kind,
        customer_id=customer.id,
        to_address=customer.email,
        subject=subject[:300],
        proof_id=proof_id,
        version_number=version_number,
        designer_id=designer_id,
        invite_id=invite_id,
        reset_id=reset_id,
        batch_id=batch_id,
        custom_message=custom_message,
        status=NotificationStatus.QUEUED,
        attempts=0,
        next_attempt_at=due or now,
        message_id=message_id_for(base_url),
        created_at=now,
        updated_at=now,
    )
    session.add(notification)
    return notification


def email_link_token(notification: CustomerNotification) -> str:
    """The token of this email's link, derived from its Message-ID (the same on every try)."""
    return derive_token(settings().secret_key, "email-link", notification.message_id)


def tracked(url: str, notification: CustomerNotification) -> str:
    """The link as this email carries it (while the worker builds it): the first visit through
    it marks the email opened."""
    token = email_link_token(notification)
    notification.link_token_hash = hash_token(token)
    return f"{url}{'&' if '?' in url else '?'}n={token}"


def record_opened(session: Session, *, proof_id: int, token: str) -> None:
    """A visit through an email's link: the email was opened (the first visit counts)."""
    if not token or len(token) > 100:
        return
    n = CustomerNotification
    session.execute(
        sa.update(n)
        .where(
            n.link_token_hash == hash_token(token),
            n.proof_id == proof_id,
            n.opened_at.is_(None),
        )
        .values(opened_at=utcnow())
        .execution_options(synchronize_session=False)
    )


Outbox = type[CustomerNotification] | type[StaffNotification]


def claim_due(
    session: Session,
    *,
    limit: int = 10,
    lease: dt.timedelta = LEASE,
    outbox: Outbox = CustomerNotification,
) -> list[int]:
    """Take up to `limit` due rows of the outbox (emails to customers, or to staff) for this
    worker; a row is held by one worker at a time."""
    n = outbox

    def due(now: dt.datetime) -> sa.ColumnElement[bool]:
        return sa.or_(
            sa.and_(n.status == NotificationStatus.QUEUED, n.next_attempt_at <= now),
            sa.and_(n.status == NotificationStatus.SENDING, n.claimed_until < now),
        )

    return queue_rows.claim(
        session,
        n,
        where=due,
        order_by=(n.next_attempt_at, n.id),
        limit=limit,
        values=lambda now: {
            "status": NotificationStatus.SENDING,
            "claimed_until": now + lease,
            "attempts": n.attempts + 1,
            "updated_at": now,
        },
    )


def keep_claim(
    session: Session,
    notification: CustomerNotification | StaffNotification,
    *,
    lease: dt.timedelta = LEASE,
    waiting: Sequence[CustomerNotification | StaffNotification] = (),
) -> bool:
    """May this worker send a row it claimed now? With under half the lease left, the hold is
    renewed first, also on the rows of the batch `waiting` their turn (else a slow server lets
    them run out, and they are given up and claimed again); False when it ran out, as another
    worker may have claimed the row. The worker commits the renewal before it sends."""
    n = type(notification)
    now = utcnow()
    if notification.claimed_until is not None and notification.claimed_until - now > lease / 2:
        return True  # nobody can claim the row before claimed_until: no need to ask
    kept = []
    for row in (notification, *waiting):
        result = session.execute(
            sa.update(n)
            .where(
                n.id == row.id,
                n.status == NotificationStatus.SENDING,
                n.claimed_until > now,
                n.claimed_until == row.claimed_until,
            )
            .values(claimed_until=now + lease, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if rowcount(result) == 1:
            kept.append(row)
    for row in kept:
        set_committed_value(row, "claimed_until", now + lease)
    return bool(kept) and kept[0] is notification


def mark_sent(
    session: Session,
    notification: CustomerNotification | StaffNotification,
    *,
    reply: str,
    mailer: str,
) -> None:
    now = utcnow()
    notification.status, notification.sent_at, notification.updated_at = (
        NotificationStatus.SENT,
        now,
        now,
    )
    (
        notification.smtp_reply,
        notification.mailer,
        notification.claimed_until,
        notification.last_error,
    ) = (
        reply[:1000],
        mailer,
        None,
        None,
    )


def mark_not_sent(
    session: Session,
    notification: CustomerNotification | StaffNotification,
    *,
    error: SendError,
    mailer: str,
) -> None:
    """Retry later with backoff, or fail for good (5xx, or out of attempts)."""
    now = utcnow()
    notification.last_error = f"{error.label}: {error.reply}"[:1000]
    notification.smtp_reply = error.reply[:1000]
    notification.mailer, notification.claimed_until, notification.updated_at = mailer, None, now
    if error.permanent or notification.attempts >= MAX_ATTEMPTS:
        notification.status = NotificationStatus.FAILED
    else:
        notification.status = NotificationStatus.QUEUED
        notification.next_attempt_at = now + BACKOFF[min(notification.attempts, len(BACKOFF)) - 1]


def cancel(notification: CustomerNotification | StaffNotification, reason: str) -> None:
    (
        notification.status,
        notification.last_error,
        notification.claimed_until,
        notification.updated_at,
    ) = (
        NotificationStatus.FAILED,
        reason,
        None,
        utcnow(),
    )


def retry(session: Session, notification: CustomerNotification | StaffNotification) -> bool:
    """Queue a failed notification again (same Message-ID); False if it had not failed."""
    if notification.status != NotificationStatus.FAILED:
        return False
    now = utcnow()
    notification.status, notification.next_attempt_at, notification.updated_at = (
        NotificationStatus.QUEUED,
        now,
        now,
    )
    notification.attempts = 0
    return True


def for_proof(session: Session, proof_id: int) -> list[CustomerNotification]:
    n = CustomerNotification
    return list(
        session.scalars(
            sa.select(n).where(n.proof_id == proof_id).order_by(n.created_at.desc(), n.id.desc())
        )
    )


def batch_progress(session: Session, batch_id: str) -> dict[str, int]:
    """How the mails of one batch (a bulk invitation) stand: a count per status, and the total."""
    rows = session.execute(
        sa.select(CustomerNotification.status, sa.func.count())
        .where(CustomerNotification.batch_id == batch_id)
        .group_by(CustomerNotification.status)
    ).all()
    counts = {str(status): 0 for status in NotificationStatus}
    counts.update({status: n for status, n in rows})
    counts["total"] = sum(counts.values())
    return counts


STAFF = "staff"  # the log's kind filter: every email to staff users


@dataclass(frozen=True)
class LogFilter:
    kind: str | None = None  # a customer email's kind; STAFF or a staff kind: emails to staff
    status: str | None = None
    designer_id: int | None = None
    customer_id: int | None = None
    since: dt.date | None = None
    until: dt.date | None = None


@dataclass(frozen=True)
class LogPage:
    """What Admin → Notifications shows: one page of notifications, whether more follow, the
    designers to filter by, and the customer filtered by (if any)."""

    rows: list[CustomerNotification] | list[StaffNotification]
    has_more: bool
    designers: list[sa.Row[int, str]]  # id and name
    customer: Customer | None


def log_page(
    session: Session, *, filters: LogFilter, page: int = 1, page_size: int = 50
) -> LogPage:
    """Admin → Notifications: newest first, filtered; one query for the rows."""
    if filters.kind == STAFF or filters.kind in tuple(StaffNotificationKind):
        staff_rows, has_more = _staff_log_rows(
            session, filters=filters, page=page, page_size=page_size
        )
        rows: list[CustomerNotification] | list[StaffNotification] = staff_rows
    else:
        rows, has_more = _log_rows(session, filters=filters, page=page, page_size=page_size)
    designers = session.execute(sa.select(User.id, User.name).order_by(User.name)).all()
    customer = session.get(Customer, filters.customer_id) if filters.customer_id else None
    return LogPage(
        rows=rows,
        has_more=has_more,
        designers=list(designers),
        customer=customer,
    )


def _log_rows(
    session: Session, *, filters: LogFilter, page: int, page_size: int
) -> tuple[list[CustomerNotification], bool]:
    n = CustomerNotification
    stmt = sa.select(n).options(joinedload(n.customer)).order_by(n.created_at.desc(), n.id.desc())
    if filters.kind in tuple(NotificationKind):
        stmt = stmt.where(n.kind == filters.kind)
    if filters.designer_id:
        stmt = stmt.where(n.designer_id == filters.designer_id)
    if filters.customer_id:
        stmt = stmt.where(n.customer_id == filters.customer_id)
    return _one_page(session, _logged(stmt, n, filters), page=page, page_size=page_size)


def _staff_log_rows(
    session: Session, *, filters: LogFilter, page: int, page_size: int
) -> tuple[list[StaffNotification], bool]:
    n = StaffNotification
    stmt = sa.select(n).order_by(n.created_at.desc(), n.id.desc())
    if filters.kind in tuple(StaffNotificationKind):
        stmt = stmt.where(n.kind == filters.kind)
    if filters.designer_id:
        stmt = stmt.where(n.user_id == filters.designer_id)
    return _one_page(session, _logged(stmt, n, filters), page=page, page_size=page_size)


def _logged(stmt: Any, n: Outbox, filters: LogFilter) -> Any:
    """The filters both logs share: status, and the days the email was queued."""
    if filters.status in STATUSES:
        stmt = stmt.where(n.status == filters.status)
    if filters.since:
        stmt = stmt.where(n.created_at >= dt.datetime.combine(filters.since, dt.time(), dt.UTC))
    if filters.until:
        stmt = stmt.where(
            n.created_at
            < dt.datetime.combine(filters.until + dt.timedelta(days=1), dt.time(), dt.UTC)
        )
    return stmt


def _one_page(session: Session, stmt: Any, *, page: int, page_size: int) -> tuple[list[Any], bool]:
    rows = list(session.scalars(stmt.offset((page - 1) * page_size).limit(page_size + 1)))
    return rows[:page_size], len(rows) > page_size


def queue_to_staff(
    session: Session,
    *,
    kind: StaffNotificationKind,
    user: User,
    proof_id: int | None,
    due: dt.datetime,
    base_url: str,
) -> StaffNotification:
    """Add an email to a staff user to the outbox, due at `due`, in the caller's transaction;
    its subject is written when it is sent (a batch grows until then)."""
    now = utcnow()
    notification = StaffNotification(
        kind=kind,
        user_id=user.id,
        user=user,
        proof_id=proof_id,
        to_address=user.email,
        subject=content.label(kind),
        status=NotificationStatus.QUEUED,
        attempts=0,
        next_attempt_at=due,
        message_id=message_id_for(base_url),
        created_at=now,
        updated_at=now,
    )
    session.add(notification)
    session.flush()
    return notification


def collecting(
    session: Session,
    *,
    kind: StaffNotificationKind,
    user_id: int,
    proof_id: int | None,
    due: dt.datetime | None,
    started_after: dt.datetime,
) -> int | None:
    """The email of this kind to this user (about this proof) that still collects events: queued,
    never tried, begun after `started_after`. Its due time moves to `due` (None: stays); the row
    stays locked until the caller's transaction ends, so a worker cannot claim it meanwhile
    (and once a worker has, it collects no more: the caller starts a new one)."""
    n = StaffNotification
    now = utcnow()
    values: dict[str, Any] = {"updated_at": now}
    if due is not None:
        values["next_attempt_at"] = due
    found = session.scalars(
        sa.update(n)
        .where(
            n.kind == kind,
            n.user_id == user_id,
            n.proof_id.is_(None) if proof_id is None else n.proof_id == proof_id,
            n.status == NotificationStatus.QUEUED,
            n.attempts == 0,
            n.created_at > started_after,
        )
        .values(**values)
        .returning(n.id)
        .execution_options(synchronize_session=False)
    ).all()
    return found[0] if found else None


def report_event(session: Session, *, notification_id: int, activity_id: int) -> None:
    """The email will report this event."""
    session.add(StaffNotificationEvent(notification_id=notification_id, activity_id=activity_id))


def forget_events(session: Session, activity_ids: Sequence[int]) -> None:
    """Events another email reports (a decision's comment, told with the decision): out of the
    emails still collecting, and such an email left with none is not sent."""
    n, e = StaffNotification, StaffNotificationEvent
    if not activity_ids:
        return
    collecting = sa.select(n.id).where(n.status == NotificationStatus.QUEUED, n.attempts == 0)
    holders = list(
        session.scalars(
            sa.select(e.notification_id).where(
                e.activity_id.in_(activity_ids), e.notification_id.in_(collecting)
            )
        )
    )
    if not holders:
        return
    session.execute(
        sa.delete(e).where(e.activity_id.in_(activity_ids), e.notification_id.in_(holders))
    )
    still_reporting = sa.select(e.notification_id).where(e.notification_id == n.id).exists()
    session.execute(
        sa.delete(n)
        .where(n.id.in_(holders), ~still_reporting)
        .execution_options(synchronize_session=False)
    )


def staff_notifications_for_proof(session: Session, proof_id: int) -> list[StaffNotification]:
    n = StaffNotification
    return list(
        session.scalars(
            sa.select(n).where(n.proof_id == proof_id).order_by(n.created_at.desc(), n.id.desc())
        )
    )


@dataclass(frozen=True)
class Step:
    """One step of an email's way: queued, sent (with the server's reply), opened, then what
    the customer did after it."""

    label: str
    at: dt.datetime | None
    detail: str | None = None


CUSTOMER_ACTS = {
    ActivityKind.COMMENT_ADDED.value: "Commented",
    ActivityKind.DECISION_APPROVED.value: "Decided",
    ActivityKind.DECISION_CHANGES_REQUESTED.value: "Decided",
}


def timeline(
    session: Session, notifications: Sequence[CustomerNotification]
) -> dict[int, list[Step]]:
    """Each email's delivery timeline, by id: queued → sent → opened → commented → decided (the
    customer's first comment and first decision after it went out, before the next email)."""
    if not notifications:
        return {}
    proof_ids = {n.proof_id for n in notifications if n.proof_id is not None}
    acts = session.execute(
        sa.select(Activity.proof_id, Activity.kind, Activity.at)
        .where(
            Activity.proof_id.in_(proof_ids),
            Activity.kind.in_(tuple(CUSTOMER_ACTS)),
            Activity.user_id.is_(None),
        )
        .order_by(Activity.at)
    ).all()
    sent = sorted((n.sent_at, n.proof_id) for n in notifications if n.sent_at is not None)
    steps: dict[int, list[Step]] = {}
    for n in notifications:
        way = [Step("Queued", n.created_at)]
        if n.status == NotificationStatus.QUEUED and n.next_attempt_at > n.created_at:
            way.append(Step("Scheduled", n.next_attempt_at))
        if n.sent_at is not None:
            way.append(Step("Sent", n.sent_at, n.smtp_reply))
        elif n.status == NotificationStatus.FAILED:
            way.append(Step("Failed", n.updated_at, n.last_error))
        if n.opened_at is not None:
            way.append(Step("Opened", n.opened_at))
        if n.sent_at is not None:
            until = next((at for at, proof in sent if proof == n.proof_id and at > n.sent_at), None)
            for label in ("Commented", "Decided"):
                first = next(
                    (
                        at
                        for proof, kind, at in acts
                        if proof == n.proof_id
                        and CUSTOMER_ACTS[kind] == label
                        and at >= n.sent_at
                        and (until is None or at < until)
                    ),
                    None,
                )
                if first is not None:
                    way.append(Step(label, first))
        steps[n.id] = way
    return steps
