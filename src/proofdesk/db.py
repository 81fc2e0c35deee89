"""The model base, shared column types, and the engine and session for each app."""

from __future__ import annotations

import datetime as dt
import enum
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, TypeVar

import sqlalchemy as sa
from flask import Flask, abort, current_app, g
from sqlalchemy import event
from sqlalchemy.orm import DeclarativeBase, Session, mapped_column, sessionmaker

from proofdesk.config import settings

log = logging.getLogger(__name__)

T = TypeVar("T")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _system_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


_clock: Callable[[], dt.datetime] = _system_clock


def utcnow() -> dt.datetime:
    """Now, in UTC: the one clock of the app (and of the worker's schedules)."""
    return _clock()


def set_clock(clock: Callable[[], dt.datetime] | None) -> None:
    """Let time be what `clock` says (tests of batching windows, digests and reminders), or
    the system's again (None)."""
    global _clock
    _clock = clock or _system_clock


def rowcount(result: sa.Result[Any]) -> int:
    """How many rows an UPDATE or DELETE matched. `Session.execute` is typed as giving a
    Result; what such a statement gives is the CursorResult that has the count."""
    if not isinstance(result, sa.CursorResult):
        raise TypeError(f"no row count in a {type(result).__name__}")
    return result.rowcount


class UTCDateTime(sa.types.TypeDecorator[dt.datetime]):
    """Timezone-aware UTC on every backend (SQLite keeps no zone of its own)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use UTC-aware datetimes")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


intpk = Annotated[int, mapped_column(primary_key=True)]
created_at = Annotated[dt.datetime, mapped_column(UTCDateTime, default=utcnow, nullable=False)]
str200 = Annotated[str, mapped_column(sa.String(200))]
str320 = Annotated[str, mapped_column(sa.String(320))]


class Vocabulary(sa.types.TypeDecorator[enum.StrEnum]):
    """A StrEnum stored as its value in a plain string column, and read back as the member.
    The column's table lists the values in a CHECK constraint (`vocabulary_check`), so that
    the database refuses any other word."""

    impl = sa.String
    cache_ok = True

    def __init__(self, members: type[enum.StrEnum], length: int) -> None:
        super().__init__(length)
        self.members = members
        self.length = length

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else str(value)

    def process_result_value(self, value: str | None, dialect: Any) -> enum.StrEnum | None:
        return None if value is None else self.members(value)


def vocabulary_check(column: str, members: type[enum.StrEnum]) -> sa.CheckConstraint:
    """`ck_<table>_<column>`: the column takes only the members' values."""
    values = ", ".join(repr(member.value) for member in members)
    return sa.CheckConstraint(f"{column} IN ({values})", name=column)


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dt.datetime: UTCDateTime}


def make_engine(url: str) -> sa.Engine:
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    return sa.create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


def register_db(app: Flask) -> None:
    engine = make_engine(settings(app).database_url)
    app.extensions["db_engine"] = engine
    sessions = sessionmaker(engine, expire_on_commit=False)
    track_writes(sessions)
    app.extensions["db_sessionmaker"] = sessions

    @app.teardown_appcontext
    def _close_session(_exc: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            close_session(session)


def close_session(session: Session) -> None:
    """End the session; when its connection broke (e.g. the database restarted), throw the
    connection away instead of failing: the transaction is gone with it, and the response
    already made stands."""
    try:
        session.close()
    except sa.exc.SQLAlchemyError:
        log.warning("the database connection broke; it is discarded", exc_info=True)
        session.invalidate()


def get_session() -> Session:
    """The request's (or app context's) database session."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["db_sessionmaker"]()
    session: Session = g.db_session
    return session


# Whether a session wrote in its transaction, for the request's unit of work
# (`unit_of_work.py`): a request that only read leaves its transaction to be closed, one that
# wrote is committed, or rolled back when its answer is an error.
WROTE, KEEP_ON_ERROR = "wrote", "keep_on_error"


def track_writes(sessions: sessionmaker[Session]) -> None:
    """Note in `session.info` when a session of `sessions` flushes changes or runs an INSERT,
    UPDATE or DELETE statement; forget it when its transaction ends."""
    event.listen(sessions, "after_flush", _flushed)
    event.listen(sessions, "do_orm_execute", _executed)
    event.listen(sessions, "after_transaction_end", _transaction_ended)


def _flushed(session: Session, _flush_context: Any) -> None:
    session.info[WROTE] = True


def _executed(state: Any) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info[WROTE] = True


def _transaction_ended(session: Session, transaction: Any) -> None:
    if transaction.parent is None:  # the whole transaction, not a savepoint
        session.info.pop(WROTE, None)
        session.info.pop(KEEP_ON_ERROR, None)


def wrote(session: Session) -> bool:
    """Has the session changed anything in its transaction (flushed or still pending)?"""
    return bool(session.info.get(WROTE) or session.new or session.dirty or session.deleted)


def keep_on_error(session: Session) -> None:
    """Commit this transaction's writes even though the request answers with an error status
    (e.g. a page that cannot be rendered is marked failed, and the answer is a 404)."""
    session.info[KEEP_ON_ERROR] = True


def kept_on_error(session: Session) -> bool:
    return bool(session.info.get(KEEP_ON_ERROR))


@contextmanager
def session_scope(app: Flask) -> Iterator[Session]:
    """A session of its own that commits on success, for the worker and the CLI."""
    session: Session = app.extensions["db_sessionmaker"]()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def get_or_404(
    session: Session, model: type[T], ident: object, *, allowed: Callable[[T], bool] | None = None
) -> T:
    """The row with this primary key, or a 404. With `allowed`, a row the caller may not see
    answers 404 too, alike a missing one (the access check stays with its domain)."""
    row = session.get(model, ident)
    if row is None or (allowed is not None and not allowed(row)):
        abort(404)
    return row


LIKE_ESCAPE = "\\"


def contains_pattern(text: str) -> str:
    """A LIKE pattern matching `text` anywhere, its own % and _ taken literally (use it
    with `escape=LIKE_ESCAPE`)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
