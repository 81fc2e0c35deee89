"""Share links (the legacy public link), comments and decisions."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from proofdesk.db import Base, Vocabulary, created_at, intpk, str200, vocabulary_check
from proofdesk.proofs.models import Proof, ProofVersion


class ShareLink(Base):
    __tablename__ = "share_links"
    __table_args__ = (sa.Index("ix_share_links_proof", "proof_id", "revoked_at"),)

    id: Mapped[intpk]
    proof_id: Mapped[int] = mapped_column(sa.ForeignKey("proofs.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # The token is derived from SECRET_KEY and this nonce, so staff can copy the link
    # again while the database alone never reveals it.
    nonce: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[created_at]
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    revoked_at: Mapped[dt.datetime | None]

    proof: Mapped[Proof] = relationship()


class Comment(Base):
    """A message on a version. A top-level comment starts a thread (replies point to it);
    it may carry a pin: a point, or a rectangle, on one page, in fractions of the page."""

    __tablename__ = "comments"
    __table_args__ = (
        sa.Index("ix_comments_proof_created", "proof_id", "created_at"),
        sa.Index("ix_comments_parent", "parent_id"),
    )

    id: Mapped[intpk]
    proof_id: Mapped[int] = mapped_column(sa.ForeignKey("proofs.id", ondelete="CASCADE"))
    version_id: Mapped[int] = mapped_column(sa.ForeignKey("proof_versions.id", ondelete="CASCADE"))
    author_name: Mapped[str200]
    author_user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    author_customer_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("customers.id", ondelete="SET NULL")
    )
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[created_at]
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("comments.id", ondelete="CASCADE"))
    page_number: Mapped[int | None]
    pin_x: Mapped[float | None]
    pin_y: Mapped[float | None]
    pin_w: Mapped[float | None]
    pin_h: Mapped[float | None]
    resolved_at: Mapped[dt.datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(sa.String(200))

    version: Mapped[ProofVersion] = relationship()

    @property
    def pinned(self) -> bool:
        return self.page_number is not None and self.pin_x is not None


class DecisionKind(StrEnum):
    """What a reviewer decided on a version; the proof's status becomes the same word."""

    APPROVED = "approved"
    CHANGES_REQUESTED = "changes_requested"


DECISIONS = {
    DecisionKind.APPROVED: "Approved",
    DecisionKind.CHANGES_REQUESTED: "Changes requested",
}


class Decision(Base):
    __tablename__ = "decisions"
    __table_args__ = (
        sa.Index("ix_decisions_proof_created", "proof_id", "created_at"),
        vocabulary_check("decision", DecisionKind),
    )

    id: Mapped[intpk]
    proof_id: Mapped[int] = mapped_column(sa.ForeignKey("proofs.id", ondelete="CASCADE"))
    version_id: Mapped[int] = mapped_column(sa.ForeignKey("proof_versions.id", ondelete="CASCADE"))
    decision: Mapped[DecisionKind] = mapped_column(Vocabulary(DecisionKind, 20))
    reviewer_name: Mapped[str200]
    # Set when a logged-in customer decided: the decision is theirs, not a typed name.
    customer_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("customers.id", ondelete="SET NULL")
    )
    comment_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("comments.id", ondelete="SET NULL")
    )
    ip: Mapped[str | None] = mapped_column(sa.String(64))
    user_agent: Mapped[str | None] = mapped_column(sa.String(300))
    created_at: Mapped[created_at]
    # The approval record: the exact file decided on, and the terms the reviewer ticked.
    file_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    terms: Mapped[str | None] = mapped_column(sa.Text)
    withdrawn_at: Mapped[dt.datetime | None]
    withdrawn_reason: Mapped[str | None] = mapped_column(sa.Text)

    version: Mapped[ProofVersion] = relationship()

    @property
    def label(self) -> str:
        return DECISIONS[self.decision]
