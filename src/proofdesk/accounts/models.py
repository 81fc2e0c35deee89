"""Staff accounts (`users`), their server-side sessions, and the first-admin setup token."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from proofdesk.db import Base, created_at, intpk, str200, str320

ROLES = ("admin", "designer")


class User(Base):
    __tablename__ = "users"
    __table_args__ = (sa.CheckConstraint("role IN ('admin', 'designer')", name="role"),)

    id: Mapped[intpk]
    email: Mapped[str320] = mapped_column(unique=True)
    name: Mapped[str200]
    role: Mapped[str] = mapped_column(sa.String(20))
    active: Mapped[bool] = mapped_column(default=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    created_at: Mapped[created_at]
    password_changed_at: Mapped[dt.datetime | None]

    # The designer's own SMTP server for branded mail; empty host or port: the default mailer.
    smtp_host: Mapped[str | None] = mapped_column(sa.String(255))
    smtp_port: Mapped[int | None]
    smtp_security: Mapped[str] = mapped_column(sa.String(10), default="starttls",
                                               server_default="starttls")
    smtp_username: Mapped[str | None] = mapped_column(sa.String(255))
    smtp_password_encrypted: Mapped[str | None] = mapped_column(sa.Text)
    smtp_from_name: Mapped[str | None] = mapped_column(sa.String(200))
    smtp_from_address: Mapped[str | None] = mapped_column(sa.String(320))
    smtp_reply_to: Mapped[str | None] = mapped_column(sa.String(320))
    # What the last test or real send through those settings showed.
    smtp_last_tested_at: Mapped[dt.datetime | None]
    smtp_last_status: Mapped[str | None] = mapped_column(sa.String(10))  # ok | failed
    smtp_last_error: Mapped[str | None] = mapped_column(sa.String(1000))
    smtp_failing_since: Mapped[dt.datetime | None]
    smtp_last_success_at: Mapped[dt.datetime | None]

    sessions: Mapped[list[UserSession]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )

    # Flask-Login: the id in the cookie is the session's token, not the user's id,
    # so that ending the session row ends the cookie.
    session_token = None  # set per request; not a column

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def smtp_configured(self) -> bool:
        return bool(self.smtp_host and self.smtp_port)

    @property
    def smtp_state(self) -> str:
        """working, failing, untested, or default (no own server: the default mailer)."""
        if not self.smtp_configured:
            return "default"
        if self.smtp_last_status == "failed":
            return "failing"
        return "working" if self.smtp_last_status == "ok" else "untested"

    def get_id(self) -> str | None:
        return self.session_token


class UserSession(Base):
    __tablename__ = "user_sessions"

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[created_at]
    last_seen_at: Mapped[dt.datetime]
    ip: Mapped[str | None] = mapped_column(sa.String(64))
    user_agent: Mapped[str | None] = mapped_column(sa.String(300))

    user: Mapped[User] = relationship(back_populates="sessions")


class SetupToken(Base):
    """A one-time link that lets the first person create the first admin."""

    __tablename__ = "setup_tokens"

    id: Mapped[intpk]
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[created_at]
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]
