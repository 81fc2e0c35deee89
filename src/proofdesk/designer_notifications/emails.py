"""What the emails to staff say: one customer action, a batch of comments, or the day's
digest; each event with who, what, which proof and version, the comment, and a link to it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from proofdesk.activity import Activity, ActivityKind
from proofdesk.config import settings
from proofdesk.notifications import content
from proofdesk.notifications.content import NotSendable, StaffNotificationKind
from proofdesk.notifications.models import StaffNotification, StaffNotificationEvent
from proofdesk.proofs.models import Proof
from proofdesk.review.models import Comment

LABELS = {
    StaffNotificationKind.DECISION: "Customer decision (to staff)",
    StaffNotificationKind.COMMENTS: "Customer comments (to staff)",
    StaffNotificationKind.FIRST_VIEW: "First view (to staff)",
    StaffNotificationKind.DIGEST: "Daily digest (to staff)",
}
VERSION = re.compile(r"\bon v(\d+)")


@dataclass(frozen=True)
class Told:
    """One event as an email tells it."""

    at: Any
    actor: str
    what: str
    proof_title: str
    version: int | None
    comment: str | None
    link: str


def register() -> None:
    for kind in StaffNotificationKind:
        content.register(
            kind,
            label=LABELS[kind],
            build=build_digest if kind is StaffNotificationKind.DIGEST else build_update,
        )


def build_update(session: Session, notification: StaffNotification) -> tuple[str, dict[str, Any]]:
    events = told(session, notification)
    proof = events[0]
    return "designer_update", {
        "events": events,
        "proof_title": proof.proof_title,
        "headline": _headline(notification.kind, events),
        "link": events[-1].link,
    }


def build_digest(session: Session, notification: StaffNotification) -> tuple[str, dict[str, Any]]:
    events = told(session, notification)
    by_proof: dict[str, list[Told]] = {}
    for event in events:
        by_proof.setdefault(event.proof_title, []).append(event)
    return "designer_digest", {"by_proof": by_proof, "count": len(events)}


def told(session: Session, notification: StaffNotification) -> list[Told]:
    """The events the email reports, oldest first; NotSendable if none is left."""
    rows = session.execute(
        sa.select(Activity, Proof, Comment)
        .join(StaffNotificationEvent, StaffNotificationEvent.activity_id == Activity.id)
        .join(Proof, Proof.id == Activity.proof_id)
        .outerjoin(Comment, Comment.id == Activity.comment_id)
        .where(StaffNotificationEvent.notification_id == notification.id)
        .order_by(Activity.at, Activity.id)
    ).all()
    if not rows:
        raise NotSendable("Not sent: the events it was to report are gone")
    return [_told(event, proof, comment) for event, proof, comment in rows]


def _told(event: Activity, proof: Proof, comment: Comment | None) -> Told:
    base = f"{settings().base_url}/proofs/{proof.id}"
    version = comment.version.number if comment is not None else _version_of(event)
    link = base
    if comment is not None:
        link = f"{base}/v/{version}#thread-{comment.parent_id or comment.id}"
    elif version is not None:
        link = f"{base}/v/{version}"
    what = ActivityKind(event.kind).label
    if event.kind == ActivityKind.COMMENT_ADDED and comment is not None and comment.parent_id:
        what = "replied"
    text = comment.body if comment is not None else None
    if event.kind == ActivityKind.DECISION_WITHDRAWN:
        text = event.detail  # the reason
    return Told(
        at=event.at,
        actor=event.actor,
        what=what,
        proof_title=proof.title,
        version=version,
        comment=text,
        link=link,
    )


def _version_of(event: Activity) -> int | None:
    found = VERSION.search(event.detail or "")
    return int(found.group(1)) if found else None


def _headline(kind: str, events: list[Told]) -> str:
    first = events[0]
    if kind == StaffNotificationKind.COMMENTS:
        people = sorted({event.actor for event in events})
        count = len(events)
        noun = "comment" if count == 1 else "comments"
        return f"{', '.join(people)}: {count} new {noun} on {first.proof_title}"
    last = events[-1]
    version = f" (version {last.version})" if last.version else ""
    return f"{last.actor} {last.what}: {last.proof_title}{version}"
