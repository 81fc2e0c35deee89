"""Proofs (`proofs`), versions and rendered pages."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from proofdesk.accounts.models import User
from proofdesk.customers.models import Customer
from proofdesk.db import Base, Vocabulary, created_at, intpk, str200, vocabulary_check


class ProofStatus(StrEnum):
    """Where a proof stands: the last decision on its current version, if any."""

    AWAITING_REVIEW = "awaiting_review"
    CHANGES_REQUESTED = "changes_requested"
    APPROVED = "approved"


STATUSES = {
    ProofStatus.AWAITING_REVIEW: "Awaiting review",
    ProofStatus.CHANGES_REQUESTED: "Changes requested",
    ProofStatus.APPROVED: "Approved",
}


class FileKind(StrEnum):
    """What a version's file is: an image has one page, a PDF is rendered page by page."""

    IMAGE = "image"
    PDF = "pdf"


class RenderStatus(StrEnum):
    """How far a version's previews are: waiting for the worker, being rendered (claimed
    until `render_claimed_until`), all pages done, or failed (`render_error` says why)."""

    PENDING = "pending"
    RENDERING = "rendering"
    DONE = "done"
    FAILED = "failed"


class Proof(Base):
    __tablename__ = "proofs"
    __table_args__ = (
        sa.Index("ix_proofs_designer_activity", "designer_id", "last_activity_at"),
        sa.Index("ix_proofs_designer_status_activity", "designer_id", "status", "last_activity_at"),
        sa.Index("ix_proofs_customer_activity", "customer_id", "last_activity_at"),
        sa.Index("ix_proofs_status_activity", "status", "last_activity_at"),
        sa.Index("ix_proofs_activity", "last_activity_at"),
        vocabulary_check("status", ProofStatus),
    )

    id: Mapped[intpk]
    designer_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    customer_id: Mapped[int] = mapped_column(sa.ForeignKey("customers.id"))
    title: Mapped[str200]
    message: Mapped[str | None] = mapped_column(sa.Text)
    due_date: Mapped[dt.date | None]
    status: Mapped[ProofStatus] = mapped_column(
        Vocabulary(ProofStatus, 20), default=ProofStatus.AWAITING_REVIEW
    )
    current_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[created_at]
    last_activity_at: Mapped[dt.datetime]
    # Ask the reviewer to tick the studio's approval terms before approving.
    require_terms: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # Locked for production: no more decisions, withdrawals or versions.
    locked_at: Mapped[dt.datetime | None]
    locked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    # When to remind the customer, in days from the due date ("-2,0,2"); "" never; None: the
    # studio's REMINDER_DAYS.
    reminder_days: Mapped[str | None] = mapped_column(sa.String(40))

    designer: Mapped[User] = relationship(foreign_keys=[designer_id])
    customer: Mapped[Customer] = relationship()
    versions: Mapped[list[ProofVersion]] = relationship(
        back_populates="proof", order_by="ProofVersion.number", cascade="all, delete-orphan"
    )

    @property
    def status_label(self) -> str:
        return STATUSES[self.status]


class ProofVersion(Base):
    __tablename__ = "proof_versions"
    __table_args__ = (
        sa.UniqueConstraint("proof_id", "number", name="uq_proof_versions_proof_number"),
        sa.Index("ix_proof_versions_render_queue", "render_status", "render_claimed_until"),
        vocabulary_check("kind", FileKind),
        vocabulary_check("render_status", RenderStatus),
    )

    id: Mapped[intpk]
    proof_id: Mapped[int] = mapped_column(sa.ForeignKey("proofs.id", ondelete="CASCADE"))
    number: Mapped[int]
    file_key: Mapped[str] = mapped_column(sa.String(300))
    original_filename: Mapped[str] = mapped_column(sa.String(255))
    content_type: Mapped[str] = mapped_column(sa.String(50))
    kind: Mapped[FileKind] = mapped_column(Vocabulary(FileKind, 10))
    size_bytes: Mapped[int] = mapped_column(sa.BigInteger)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    page_count: Mapped[int]
    pages_rendered: Mapped[int] = mapped_column(default=0)
    render_status: Mapped[RenderStatus] = mapped_column(
        Vocabulary(RenderStatus, 20), default=RenderStatus.PENDING
    )
    render_error: Mapped[str | None] = mapped_column(sa.String(500))
    render_claimed_until: Mapped[dt.datetime | None]
    uploaded_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[created_at]

    proof: Mapped[Proof] = relationship(back_populates="versions")
    pages: Mapped[list[ProofPage]] = relationship(
        order_by="ProofPage.number", cascade="all, delete-orphan"
    )

    @property
    def superseded(self) -> bool:
        return self.number < self.proof.current_version

    def page(self, number: int) -> ProofPage | None:
        """The rendered page with this number, if it is rendered (among the loaded pages)."""
        return next((p for p in self.pages if p.number == number), None)


class ProofPage(Base):
    """One rendered page of a version: the preview image people look at."""

    __tablename__ = "proof_pages"
    __table_args__ = (
        sa.UniqueConstraint("version_id", "number", name="uq_proof_pages_version_number"),
    )

    id: Mapped[intpk]
    version_id: Mapped[int] = mapped_column(sa.ForeignKey("proof_versions.id", ondelete="CASCADE"))
    number: Mapped[int]
    image_key: Mapped[str] = mapped_column(sa.String(300))
    thumb_key: Mapped[str] = mapped_column(sa.String(300))
    width: Mapped[int]
    height: Mapped[int]
