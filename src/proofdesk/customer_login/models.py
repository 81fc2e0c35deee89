"""A customer's login (`customer_*` tables): password, emailed links, reset requests, sessions."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from proofdesk.customers.models import Customer
from proofdesk.db import Base, created_at, intpk, str320


class LoginState(StrEnum):
    """Where a customer's login stands, as Admin → Customers shows it (not stored: made from
    their credential and open invitations)."""

    NONE = "none"
    INVITED = "invited"
    ACTIVE = "active"
    DISABLED = "disabled"


class CustomerCredential(Base):
    """A customer's password for the portal; one row once they have set one."""

    __tablename__ = "customer_credentials"

    id: Mapped[intpk]
    customer_id: Mapped[int] = mapped_column(
        sa.ForeignKey("customers.id", ondelete="CASCADE"), unique=True
    )
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    created_at: Mapped[created_at]
    password_changed_at: Mapped[dt.datetime | None]
    disabled_at: Mapped[dt.datetime | None]

    customer: Mapped[Customer] = relationship(back_populates="credential")


class EmailedLink:
    """What an invitation and a password reset keep of their emailed link: only a hash of the
    token (derived again from `nonce` and SECRET_KEY), its expiry, and whether it was spent
    or replaced. `created_by_id` is the staff user who sent it; empty when the customer asked."""

    customer_id: Mapped[int] = mapped_column(sa.ForeignKey("customers.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    nonce: Mapped[str] = mapped_column(sa.String(64))
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[created_at]
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]


class CustomerInvite(EmailedLink, Base):
    """An emailed link to set a first password (72 hours by default, single use)."""

    __tablename__ = "customer_invites"
    __table_args__ = (
        sa.Index("ix_customer_invites_customer", "customer_id", "created_at"),
        sa.Index("ix_customer_invites_created_by", "created_by_id", "created_at"),
    )

    id: Mapped[intpk]


class CustomerPasswordReset(EmailedLink, Base):
    """An emailed link to choose a new password (1 hour by default, single use)."""

    __tablename__ = "customer_password_resets"
    __table_args__ = (
        sa.Index("ix_customer_password_resets_customer", "customer_id", "created_at"),
        sa.Index("ix_customer_password_resets_created_by", "created_by_id", "created_at"),
    )

    id: Mapped[intpk]


class CustomerResetRequest(Base):
    """A "forgot password" form as submitted, for the worker to answer. The form only writes
    this row, whether or not the address has a login, so its answer and its timing are the
    same for every address; the worker looks the address up and mails a link if it has one."""

    __tablename__ = "customer_reset_requests"

    id: Mapped[intpk]
    email: Mapped[str320]
    ip: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[created_at]


class CustomerSession(Base):
    """A logged-in customer's session, ended on logout, password change or deactivation."""

    __tablename__ = "customer_sessions"

    id: Mapped[intpk]
    customer_id: Mapped[int] = mapped_column(
        sa.ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[created_at]
    last_seen_at: Mapped[dt.datetime]
    ip: Mapped[str | None] = mapped_column(sa.String(64))
    user_agent: Mapped[str | None] = mapped_column(sa.String(300))

    customer: Mapped[Customer] = relationship()
