"""Who hears of a customer's action, when, and in which email: the subscriber to the review's
events, and each staff user's preferences."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from proofdesk import activity
from proofdesk.accounts.models import Role, User
from proofdesk.activity import Activity, ActivityKind
from proofdesk.config import settings
from proofdesk.db import utcnow
from proofdesk.designer_notifications.models import (
    Delivery,
    NotificationPreferences,
    Topic,
    UnreadMarks,
    defaults_for,
)
from proofdesk.errors import ServiceError
from proofdesk.notifications import services as outbox
from proofdesk.notifications.content import StaffNotificationKind
from proofdesk.proofs.models import Proof, ProofVersion

TOPICS = {
    ActivityKind.DECISION_APPROVED: Topic.DECISIONS,
    ActivityKind.DECISION_CHANGES_REQUESTED: Topic.DECISIONS,
    ActivityKind.DECISION_WITHDRAWN: Topic.DECISIONS,
    ActivityKind.COMMENT_ADDED: Topic.COMMENTS,
    ActivityKind.SHARE_LINK_VIEWED: Topic.FIRST_VIEWS,
    ActivityKind.PROOF_VIEWED: Topic.FIRST_VIEWS,
}
VIEWS = (ActivityKind.SHARE_LINK_VIEWED.value, ActivityKind.PROOF_VIEWED.value)
INSTANT_KINDS = {
    Topic.DECISIONS: StaffNotificationKind.DECISION,
    Topic.FIRST_VIEWS: StaffNotificationKind.FIRST_VIEW,
}
# A reviewer who keeps commenting still gets an email: a batch collects for at most this many
# quiet periods, then goes, and the next comments start another.
LONGEST_BATCH = 6


def register() -> None:
    """At app start: hear the customers' actions (every process, so every app server)."""
    activity.subscribe(*TOPICS)(on_customer_action)


def on_customer_action(session: Session, event: Activity) -> None:
    """Queue (or add to) the emails that tell the proof's designer, and the admins who opted in,
    what a customer or share-link reviewer did. Staff's own actions tell nobody."""
    if event.user_id is not None or event.proof_id is None:
        return
    proof = session.get(Proof, event.proof_id)
    if proof is None:
        return
    kind = ActivityKind(event.kind)
    topic = TOPICS[kind]
    session.flush()  # the event's id, for the emails that report it
    if topic is Topic.FIRST_VIEWS and not _first_view_of_version(session, proof, event):
        return
    if topic is Topic.DECISIONS and event.comment_id is not None:
        _forget_the_decisions_comment(session, event)
    now = utcnow()
    for user in recipients(session, proof):
        if topic is not Topic.FIRST_VIEWS:
            _mark_unread(session, user_id=user.id, proof_id=proof.id, topic=topic)
        preferences = preferences_of(session, user)
        delivery = preferences.delivery(topic)
        if delivery is Delivery.OFF:
            continue
        if delivery is Delivery.DIGEST:
            notification_id = _collecting_into(
                session,
                kind=StaffNotificationKind.DIGEST,
                user=user,
                proof_id=None,
                due=next_digest(now, preferences.digest_hour),
                extend=False,
            )
        elif topic is Topic.COMMENTS:
            quiet = dt.timedelta(minutes=settings().comment_batch_minutes)
            notification_id = _collecting_into(
                session,
                kind=StaffNotificationKind.COMMENTS,
                user=user,
                proof_id=proof.id,
                due=now + quiet,
                extend=True,
                longest=quiet * LONGEST_BATCH,
            )
        else:
            notification_id = outbox.queue_to_staff(
                session,
                kind=INSTANT_KINDS[topic],
                user=user,
                proof_id=proof.id,
                due=now,
                base_url=settings().base_url,
            ).id
        outbox.report_event(session, notification_id=notification_id, activity_id=event.id)


def _collecting_into(
    session: Session,
    *,
    kind: StaffNotificationKind,
    user: User,
    proof_id: int | None,
    due: dt.datetime,
    extend: bool,
    longest: dt.timedelta = dt.timedelta(days=1),
) -> int:
    """The email still collecting events of this kind for the user, or a new one; with
    `extend`, each event moves it to `due` (the quiet period starts again)."""
    found = outbox.collecting(
        session,
        kind=kind,
        user_id=user.id,
        proof_id=proof_id,
        due=due if extend else None,
        started_after=utcnow() - longest,
    )
    if found is not None:
        return found
    return outbox.queue_to_staff(
        session,
        kind=kind,
        user=user,
        proof_id=proof_id,
        due=due,
        base_url=settings().base_url,
    ).id


def _first_view_of_version(session: Session, proof: Proof, event: Activity) -> bool:
    """No customer opened the proof since its current version was uploaded."""
    uploaded = session.scalar(
        sa.select(ProofVersion.created_at).where(
            ProofVersion.proof_id == proof.id, ProofVersion.number == proof.current_version
        )
    )
    earlier = sa.select(Activity.id).where(
        Activity.proof_id == proof.id,
        Activity.kind.in_(VIEWS),
        Activity.id != event.id,
    )
    if uploaded is not None:
        earlier = earlier.where(Activity.at >= uploaded)
    return session.scalar(earlier.limit(1)) is None


def _forget_the_decisions_comment(session: Session, decision: Activity) -> None:
    """A decision's comment was recorded as a comment too: the decision's email tells it."""
    comment_events = session.scalars(
        sa.select(Activity.id).where(
            Activity.comment_id == decision.comment_id,
            Activity.kind == ActivityKind.COMMENT_ADDED.value,
        )
    ).all()
    outbox.forget_events(session, comment_events)


def _mark_unread(session: Session, *, user_id: int, proof_id: int, topic: Topic) -> None:
    """One more new comment or decision on the proof for the user (in one statement: two
    events at once both count)."""
    column = "comments" if topic is Topic.COMMENTS else "decisions"
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(UnreadMarks).values(
        {"user_id": user_id, "proof_id": proof_id, "comments": 0, "decisions": 0, column: 1}
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["user_id", "proof_id"],
            set_={column: getattr(UnreadMarks, column) + 1},
        )
    )


def mark_read(session: Session, *, user: User, proof_id: int) -> None:
    """The user opened the proof: nothing on it is new any more."""
    session.execute(
        sa.delete(UnreadMarks).where(
            UnreadMarks.user_id == user.id, UnreadMarks.proof_id == proof_id
        )
    )


@dataclass(frozen=True)
class Unread:
    """What My Proofs marks as new: per proof, and in all."""

    by_proof: dict[int, UnreadMarks]
    comments: int
    decisions: int

    @property
    def total(self) -> int:
        return self.comments + self.decisions


def unread(session: Session, *, user: User) -> Unread:
    """The user's marks, in one query (a row per proof with something new)."""
    marks = session.scalars(sa.select(UnreadMarks).where(UnreadMarks.user_id == user.id)).all()
    return Unread(
        by_proof={mark.proof_id: mark for mark in marks},
        comments=sum(mark.comments for mark in marks),
        decisions=sum(mark.decisions for mark in marks),
    )


def recipients(session: Session, proof: Proof) -> list[User]:
    """The proof's designer, and the admins who asked to hear about every proof; active ones."""
    watching_admins = sa.select(NotificationPreferences.user_id).where(
        NotificationPreferences.all_proofs.is_(True)
    )
    return list(
        session.scalars(
            sa.select(User)
            .where(
                User.active.is_(True),
                sa.or_(
                    User.id == proof.designer_id,
                    sa.and_(User.role == Role.ADMIN, User.id.in_(watching_admins)),
                ),
            )
            .order_by(User.id)
        )
    )


def preferences_of(session: Session, user: User) -> NotificationPreferences:
    return session.get(NotificationPreferences, user.id) or defaults_for(user.id)


def studio_zone() -> ZoneInfo:
    return ZoneInfo(settings().studio_timezone)


def next_digest(now: dt.datetime, hour: int) -> dt.datetime:
    """The next time it is `hour` o'clock in the studio's time zone, after `now` (UTC)."""
    zone = studio_zone()
    local = now.astimezone(zone)
    at = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    if at <= local:
        at = (local + dt.timedelta(days=1)).replace(hour=hour, minute=0, second=0, microsecond=0)
    return at.astimezone(dt.UTC)


def save_preferences(
    session: Session,
    *,
    user: User,
    deliveries: dict[Topic, str],
    digest_hour: int | None,
    all_proofs: bool,
) -> NotificationPreferences:
    """Store how the user hears of each topic; refuses what is not a choice, with a message."""
    if digest_hour is None or not 0 <= digest_hour <= 23:
        raise ServiceError("Choose the digest's hour, from 0 to 23.", "digest_hour")
    chosen: dict[Topic, Delivery] = {}
    for topic in Topic:
        try:
            chosen[topic] = Delivery(deliveries.get(topic, ""))
        except ValueError:
            raise ServiceError(
                "Choose instantly, in the daily digest, or not at all.", topic.value
            ) from None
    preferences = session.get(NotificationPreferences, user.id)
    if preferences is None:
        preferences = NotificationPreferences(user_id=user.id)
        session.add(preferences)
    for topic, delivery in chosen.items():
        setattr(preferences, topic.value, delivery)
    preferences.digest_hour = digest_hour
    preferences.all_proofs = all_proofs and user.role == Role.ADMIN
    return preferences
