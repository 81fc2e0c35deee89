"""Server-side login sessions, the same for staff (`user_sessions`) and customers
(`customer_sessions`): the cookie names a random token, the table keeps its hash, and ending
the row ends the cookie at once."""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.orm import InstrumentedAttribute, Session

from proofdesk.db import utcnow
from proofdesk.tokens import hash_token, new_token

TOUCH_EVERY = dt.timedelta(minutes=1)  # write last_seen_at at most this often


class SessionRow(Protocol):
    token_hash: Any
    created_at: Any
    last_seen_at: Any


def start(
    session: Session,
    model: type[Any],
    *,
    owner: dict[str, int],
    ip: str | None,
    user_agent: str | None,
) -> str:
    """A new session for the owner (e.g. owner={"user_id": 3}); the token for the cookie."""
    token = new_token()
    now = utcnow()
    session.add(
        model(
            **owner,
            token_hash=hash_token(token),
            created_at=now,
            last_seen_at=now,
            ip=ip,
            user_agent=(user_agent or "")[:300],
        )
    )
    return token


def find(
    session: Session,
    model: type[Any],
    *,
    token: str,
    idle: dt.timedelta,
    max_age: dt.timedelta,
    usable: Any = lambda row: True,
) -> Any | None:
    """The live session row for a token; an idle, too old or unusable one is deleted. The
    deletion and the last-seen time are written with the request's own changes."""
    row = session.scalar(sa.select(model).where(model.token_hash == hash_token(token)))
    if row is None:
        return None
    now = utcnow()
    if now - row.last_seen_at > idle or now - row.created_at > max_age or not usable(row):
        session.delete(row)
        return None
    if now - row.last_seen_at > TOUCH_EVERY:
        row.last_seen_at = now
    return row


def end(session: Session, model: type[Any], *, token: str) -> None:
    session.execute(sa.delete(model).where(model.token_hash == hash_token(token)))


def end_all(
    session: Session,
    owner_column: InstrumentedAttribute[int],
    owner_id: int,
    *,
    keep_token: str | None = None,
) -> None:
    """End every session of one owner, except (optionally) the one in use."""
    model = owner_column.class_
    stmt = sa.delete(model).where(owner_column == owner_id)
    if keep_token:
        stmt = stmt.where(model.token_hash != hash_token(keep_token))
    session.execute(stmt)
