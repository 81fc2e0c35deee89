"""Comment threads with pins: add, reply, resolve, and what a version shows (its own threads
and the unresolved ones carried forward from earlier versions)."""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from proofdesk import activity
from proofdesk.activity import ActivityKind
from proofdesk.db import utcnow
from proofdesk.errors import ServiceError
from proofdesk.proofs.models import Proof, ProofVersion
from proofdesk.review.models import Comment


@dataclass(frozen=True)
class Pin:
    page: int
    x: float
    y: float
    w: float | None = None
    h: float | None = None


def parse_pin(
    page: str | None,
    x: str | None,
    y: str | None,
    w: str | None = None,
    h: str | None = None,
    *,
    page_count: int,
) -> Pin | None:
    """A pin from form fields (fractions of the page), or None when no pin was placed."""
    if not page and not x and not y:
        return None
    try:
        pin = Pin(
            page=int(page or ""),
            x=float(x or ""),
            y=float(y or ""),
            w=float(w) if w else None,
            h=float(h) if h else None,
        )
    except ValueError as exc:
        raise ServiceError("The pin's position could not be read; place it again.") from exc
    if not 1 <= pin.page <= page_count:
        raise ServiceError("The pin is on a page this version does not have.")
    for value in (pin.x, pin.y):
        if not 0 <= value <= 1:
            raise ServiceError("The pin must be on the artwork.")
    if (pin.w is None) != (pin.h is None):
        raise ServiceError("A rectangle needs a width and a height.")
    if (
        pin.w is not None
        and pin.h is not None
        and not (0 < pin.w <= 1 - pin.x + 1e-9 and 0 < pin.h <= 1 - pin.y + 1e-9)
    ):
        raise ServiceError("The rectangle must lie on the artwork.")
    return pin


@dataclass
class Thread:
    root: Comment
    replies: list[Comment] = field(default_factory=list)
    number: int | None = None  # the pin's number on this version
    carried_from: int | None = None  # the version it was started on, if earlier

    @property
    def resolved(self) -> bool:
        return self.root.resolved_at is not None


def threads_for(session: Session, *, proof: Proof, version: ProofVersion) -> list[Thread]:
    """This version's threads, then unresolved threads of earlier versions; pinned threads
    numbered 1, 2, … in that order."""
    comments = list(
        session.scalars(
            sa.select(Comment)
            .options(joinedload(Comment.version))
            .where(Comment.proof_id == proof.id)
            .order_by(Comment.created_at, Comment.id)
        )
    )
    by_root: dict[int, Thread] = {}
    for comment in comments:
        if comment.parent_id is None:
            by_root[comment.id] = Thread(root=comment)
    for comment in comments:
        if comment.parent_id is not None and comment.parent_id in by_root:
            by_root[comment.parent_id].replies.append(comment)
    own = [t for t in by_root.values() if t.root.version_id == version.id]
    carried = [
        t for t in by_root.values() if t.root.version.number < version.number and not t.resolved
    ]
    for thread in carried:
        thread.carried_from = thread.root.version.number
    shown = own + carried
    number = 0
    for thread in shown:
        if thread.root.pinned:
            number += 1
            thread.number = number
    return shown


def thread_root(session: Session, *, proof: Proof, comment_id: int) -> Comment:
    root = session.get(Comment, comment_id)
    if root is None or root.proof_id != proof.id or root.parent_id is not None:
        raise ServiceError("That comment thread does not exist.")
    return root


def set_resolved(
    session: Session,
    *,
    proof: Proof,
    comment_id: int,
    resolved: bool,
    by_name: str,
    by_user_id: int | None = None,
    ip: str | None,
) -> Comment:
    root = thread_root(session, proof=proof, comment_id=comment_id)
    root.resolved_at = utcnow() if resolved else None
    root.resolved_by = by_name[:200] if resolved else None
    proof.last_activity_at = utcnow()
    activity.record(
        session,
        kind=ActivityKind.THREAD_RESOLVED if resolved else ActivityKind.THREAD_REOPENED,
        actor=by_name,
        ip=ip,
        proof_id=proof.id,
        user_id=by_user_id,
    )
    return root
