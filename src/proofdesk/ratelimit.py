"""Rate-limit counters kept in the app's own database, shared by every app server process.

The default storage for Flask-Limiter (`RATELIMIT_STORAGE_URI` empty or `database`): a
per-process memory store lets each gunicorn worker count on its own, so two workers would
allow twice the documented login failures. Each counter is one row, changed by one atomic
upsert on its own connection and committed at once, so a count stands even when the
request's own transaction is rolled back.

On SQLite a request must not hold an uncommitted write when a limit is counted (the
counter's connection would wait for it): limits are checked before a view writes, and the
login views commit before their failures are counted.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import sqlalchemy as sa
from limits.storage import Storage
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from proofdesk.db import Base, UTCDateTime, utcnow

SCHEME = "database"
PURGE_BATCH = 100  # rows of ended windows deleted at each count, so the table stays small


class RateLimitCounter(Base):
    """One fixed-window counter: a SHA-256 of the limit's key (which holds emails and IPs,
    of any length), the hits counted and when the window ends."""

    __tablename__ = "rate_limit_counters"
    __table_args__ = (sa.Index("ix_rate_limit_counters_expires_at", "expires_at"),)

    key_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    hits: Mapped[int]
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


COUNTERS = Base.metadata.tables[RateLimitCounter.__tablename__]


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


class DatabaseStorage(Storage):
    """A `limits` storage (fixed window) in the app's database (`engine`, set when the
    limiter is set up for the app)."""

    STORAGE_SCHEME = [SCHEME]

    def __init__(
        self, uri: str | None = None, wrap_exceptions: bool = False, **options: Any
    ) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.engine: sa.Engine | None = None  # set by web.register_limiter

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return sa.exc.SQLAlchemyError

    def _engine(self) -> sa.Engine:
        # One app per process in production. The limiter is module-global, like its storage:
        # when tests build several apps, all count where the last one built does, and that is
        # where limiter.reset() empties the counts.
        if self.engine is None:
            raise RuntimeError("the rate-limit storage has no database yet")
        return self.engine

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        now = utcnow()
        ends = now + dt.timedelta(seconds=expiry)
        engine = self._engine()
        insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
        stmt = insert(COUNTERS).values(key_hash=_hash(key), hits=amount, expires_at=ends)
        expired = COUNTERS.c.expires_at <= now
        upsert = stmt.on_conflict_do_update(
            index_elements=[COUNTERS.c.key_hash],
            set_={
                "hits": sa.case((expired, amount), else_=COUNTERS.c.hits + amount),
                "expires_at": sa.case((expired, ends), else_=COUNTERS.c.expires_at),
            },
        ).returning(COUNTERS.c.hits)
        # Ended windows go first, in a transaction of their own that skips rows another
        # process holds: it never waits, and the count below locks one row only.
        ended = (
            sa.select(COUNTERS.c.key_hash)
            .where(expired)
            .limit(PURGE_BATCH)
            .with_for_update(skip_locked=True)
        )
        with engine.begin() as conn:
            conn.execute(sa.delete(COUNTERS).where(COUNTERS.c.key_hash.in_(ended)))
        with engine.begin() as conn:
            hits = conn.execute(upsert).scalar_one()
        return int(hits)

    def _live(self, key: str) -> sa.Row[int, dt.datetime] | None:
        with self._engine().connect() as conn:
            return conn.execute(
                sa.select(COUNTERS.c.hits, COUNTERS.c.expires_at).where(
                    COUNTERS.c.key_hash == _hash(key), COUNTERS.c.expires_at > utcnow()
                )
            ).first()

    def get(self, key: str) -> int:
        row = self._live(key)
        return int(row.hits) if row else 0

    def get_expiry(self, key: str) -> float:
        row = self._live(key)
        return row.expires_at.timestamp() if row else utcnow().timestamp()

    def check(self) -> bool:
        try:
            with self._engine().connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except sa.exc.SQLAlchemyError:
            return False
        return True

    def reset(self) -> int | None:
        with self._engine().begin() as conn:
            return conn.execute(sa.delete(COUNTERS)).rowcount

    def clear(self, key: str) -> None:
        with self._engine().begin() as conn:
            conn.execute(sa.delete(COUNTERS).where(COUNTERS.c.key_hash == _hash(key)))
