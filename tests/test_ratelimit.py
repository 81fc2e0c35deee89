"""Rate-limit counters in the app's database: one count for every process, windows that end,
counts that outlive a rolled-back request, and `limiter.reset()` for the tests."""

from __future__ import annotations

import time

import sqlalchemy as sa

from proofdesk.db import get_session, make_engine, utcnow
from proofdesk.ratelimit import COUNTERS, DatabaseStorage
from proofdesk.web import limiter
from tests.conftest import PASSWORD, csrf_token


def storage_on(db_url: str) -> DatabaseStorage:
    """A storage with an engine of its own, as in another app server process."""
    storage = DatabaseStorage("database://")
    storage.engine = make_engine(db_url)
    return storage


def test_two_processes_share_one_count_and_a_window_ends(app, db_url):
    first, second = storage_on(db_url), storage_on(db_url)
    try:
        key = "LIMITER/login-account:" + "a" * 5000 + "@studio.test/accounts.login/10/5/minute"
        assert [first.incr(key, 300), second.incr(key, 300), first.incr(key, 300)] == [1, 2, 3]
        assert first.get(key) == second.get(key) == 3
        assert 295 < second.get_expiry(key) - time.time() <= 300
        short = "LIMITER/10.0.0.1/accounts.login/10/1/second"
        assert first.incr(short, 1) == 1 and second.incr(short, 1) == 2
        time.sleep(1.2)
        assert first.get(short) == 0
        assert second.incr(short, 1) == 1  # a new window
        first.clear(key)
        assert second.get(key) == 0
        with first.engine.connect() as conn:  # keys are stored hashed, whatever their length
            stored = conn.execute(sa.select(COUNTERS.c.key_hash)).scalars().all()
        assert stored and all(len(k) == 64 and "@" not in k for k in stored)
        assert first.check()
    finally:
        first.engine.dispose()
        second.engine.dispose()


def test_a_count_outlives_the_rolled_back_request(app, db_url):
    storage = storage_on(db_url)
    try:
        with app.test_request_context("/login"):
            session = get_session()
            session.execute(sa.text("SELECT 1"))
            if session.get_bind().dialect.name == "postgresql":
                # (On SQLite a write would make the counter's own connection wait for it.)
                session.execute(
                    COUNTERS.insert().values(key_hash="f" * 64, hits=1, expires_at=utcnow())
                )
            assert storage.incr("LIMITER/rollback/x/1/1/minute", 60) == 1
            session.rollback()
        assert storage.get("LIMITER/rollback/x/1/1/minute") == 1
    finally:
        storage.engine.dispose()


def test_limiter_reset_empties_the_counts(client, factory):
    user = factory.user()
    token = csrf_token(client, "/login")
    for _ in range(10):
        client.post(
            "/login", data={"email": user.email, "password": "wrong-password", "csrf_token": token}
        )
    data = {"email": user.email, "password": PASSWORD, "csrf_token": token}
    assert client.post("/login", data=data).status_code == 429
    limiter.reset()
    assert client.post("/login", data=data).status_code == 302
