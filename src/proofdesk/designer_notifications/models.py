"""`notification_preferences`: how each staff user hears of what customers do."""

from __future__ import annotations

from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from proofdesk.db import Base, Vocabulary, vocabulary_check


class Topic(StrEnum):
    """What a customer did, as the preferences group it."""

    DECISIONS = "decisions"  # approved, requested changes, withdrew an approval
    COMMENTS = "comments"  # comments and replies
    FIRST_VIEWS = "first_views"  # first opened a new version


class Delivery(StrEnum):
    INSTANT = "instant"  # at once (comments: after the quiet period, all in one email)
    DIGEST = "digest"  # in the daily digest
    OFF = "off"


DEFAULTS = {
    Topic.DECISIONS: Delivery.INSTANT,
    Topic.COMMENTS: Delivery.INSTANT,
    Topic.FIRST_VIEWS: Delivery.DIGEST,
}
DEFAULT_DIGEST_HOUR = 8


class NotificationPreferences(Base):
    """One row per staff user who changed the defaults (no row: `DEFAULTS`)."""

    __tablename__ = "notification_preferences"
    __table_args__ = (
        vocabulary_check("decisions", Delivery),
        vocabulary_check("comments", Delivery),
        vocabulary_check("first_views", Delivery),
        sa.CheckConstraint("digest_hour >= 0 AND digest_hour <= 23", name="digest_hour"),
    )

    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    decisions: Mapped[Delivery] = mapped_column(
        Vocabulary(Delivery, 10), default=DEFAULTS[Topic.DECISIONS]
    )
    comments: Mapped[Delivery] = mapped_column(
        Vocabulary(Delivery, 10), default=DEFAULTS[Topic.COMMENTS]
    )
    first_views: Mapped[Delivery] = mapped_column(
        Vocabulary(Delivery, 10), default=DEFAULTS[Topic.FIRST_VIEWS]
    )
    # The hour of the daily digest, in the studio's time zone (STUDIO_TIMEZONE).
    digest_hour: Mapped[int] = mapped_column(default=DEFAULT_DIGEST_HOUR)
    # Admins: hear about every proof, not only their own.
    all_proofs: Mapped[bool] = mapped_column(default=False)

    def delivery(self, topic: Topic) -> Delivery:
        value: Delivery = getattr(self, topic.value)
        return value


def defaults_for(user_id: int) -> NotificationPreferences:
    """The preferences of a user who never changed them (not added to a session)."""
    return NotificationPreferences(
        user_id=user_id,
        decisions=DEFAULTS[Topic.DECISIONS],
        comments=DEFAULTS[Topic.COMMENTS],
        first_views=DEFAULTS[Topic.FIRST_VIEWS],
        digest_hour=DEFAULT_DIGEST_HOUR,
        all_proofs=False,
    )


class UnreadMarks(Base):
    """What is new on a proof for a staff user since they last opened it: customers' comments
    and decisions, counted as they happen; the row goes when the user opens the proof."""

    __tablename__ = "unread_marks"

    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    proof_id: Mapped[int] = mapped_column(
        sa.ForeignKey("proofs.id", ondelete="CASCADE"), primary_key=True
    )
    comments: Mapped[int] = mapped_column(default=0)
    decisions: Mapped[int] = mapped_column(default=0)
