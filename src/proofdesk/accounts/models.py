"""Staff accounts (`users`), their server-side sessions, and the first-admin setup token."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import cast

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from proofdesk.db import Base, Vocabulary, created_at, intpk, str200, str320, vocabulary_check


class Role(StrEnum):
    """What a staff account may do: an admin manages users and sees every proof."""

    ADMIN = "admin"
    DESIGNER = "designer"


class User(Base):
    __tablename__ = "users"
    __table_args__ = (vocabulary_check("role", Role),)

    id: Mapped[intpk]
    email: Mapped[str320] = mapped_column(unique=True)
    name: Mapped[str200]
    role: Mapped[Role] = mapped_column(Vocabulary(Role, 20))
    active: Mapped[bool] = mapped_column(default=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    created_at: Mapped[created_at]
    password_changed_at: Mapped[dt.datetime | None]

    sessions: Mapped[list[UserSession]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )

    # Flask-Login: the id in the cookie is the session's token, not the user's id,
    # so that ending the session row ends the cookie. Set per request; not a column (the
    # declarative base would read an annotation here as one, hence the cast).
    session_token = cast("str | None", None)

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
        return self.role == Role.ADMIN

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
