"""SMTP faults with the worker running: the server down, slow, answering 4xx or 5xx, or
dropping the connection after DATA. What customers receive, what rows and pages say, and that
no request ever talks to the SMTP server (only the worker does). Waits end on events; their
limit only catches a hang."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import smtplib
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from proofdesk.notifications import services
from proofdesk.notifications.models import CustomerNotification
from proofdesk.worker import run_once
from tests import mailserver
from tests.conftest import login, png_bytes
from tests.mailserver import SmtpServer, smtp_settings, start_server
from tests.notifications.test_concurrency import count_by_status, queue_proof_notifications, rows
from tests.proofs.test_views import upload

HANG_SECONDS = 300.0
WORKER_THREAD = "proofdesk-worker"


@contextmanager
def worker_running(app: Flask) -> Iterator[list[BaseException]]:
    """The worker loop of `proofdesk worker` in a thread, polling every 50 ms."""
    stopping = threading.Event()
    errors: list[BaseException] = []

    def loop() -> None:
        while not stopping.is_set():
            try:
                if run_once(app) == 0:
                    stopping.wait(0.05)
            except Exception as exc:  # noqa: BLE001 - reported by the test
                errors.append(exc)
                stopping.wait(0.2)

    thread = threading.Thread(target=loop, name=WORKER_THREAD, daemon=True)
    thread.start()
    try:
        yield errors
    finally:
        stopping.set()
        thread.join(timeout=HANG_SECONDS)
        assert not thread.is_alive(), "the worker did not stop"


def wait_until(check: Callable[[], bool], what: str, timeout: float = HANG_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def statuses(session: Session) -> Counter[str]:
    counts = count_by_status(session)
    session.rollback()  # no transaction left open between looks
    return counts


def tried_once(session: Session, count: int) -> bool:
    """Are `count` notifications queued again after one attempt each (one look)?"""
    queued = [n.attempts for n in rows(session) if n.status == "queued"]
    session.rollback()
    return queued == [1] * count


def make_due(session: Session) -> None:
    """What the backoff's wait would do: the queued rows are due now."""
    n = CustomerNotification
    session.execute(
        sa.update(n).where(n.status == "queued").values(next_attempt_at=dt.datetime.now(dt.UTC))
    )
    session.commit()


@pytest.fixture
def smtp_talkers(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The threads that opened a connection to an SMTP server. Requests run on the test's
    thread and the worker on its own: a page that waited for the server would show here,
    however fast or busy the machine."""
    talkers: list[str] = []
    connect = smtplib.SMTP.connect

    def recorded(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        talkers.append(threading.current_thread().name)
        return connect(self, *args, **kwargs)

    monkeypatch.setattr(smtplib.SMTP, "connect", recorded)
    return talkers


def answered(response) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code in (200, 302), response.status_code


def start_server_on(port: int, folder: Path) -> SmtpServer:
    """The SMTP server back on the port it had before it went down."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(mailserver, "free_port", lambda: port)
        return start_server(folder, mode="plain")


def message_ids(server: SmtpServer) -> Counter[str]:
    with server.inbox.lock:
        return Counter(str(m["Message-ID"]) for m in server.inbox.messages)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[SmtpServer]:
    srv = start_server(tmp_path, mode="plain")
    yield srv
    if srv.controller._thread is not None:  # not stopped by the test
        srv.stop()


def test_server_down_keeps_mail_queued_pages_fast_and_all_delivered_when_it_returns(
    make_app, factory, db_session, server, tmp_path, smtp_talkers
):
    app = make_app(**smtp_settings(server, mode="none"))
    client = app.test_client()
    designer, customer = factory.user(), factory.customer()
    login(client, designer)
    returned: SmtpServer | None = None
    try:
        with worker_running(app) as errors:
            # Server up: the baseline.
            for _ in range(3):
                answered(upload(client, customer.id, png_bytes(), notify="y"))
            wait_until(lambda: statuses(db_session)["sent"] == 3, "the first 3 to be sent")
            answered(client.get("/proofs"))

            server.stop()
            queue_proof_notifications(db_session, factory, 20)  # another designer's
            wait_until(lambda: tried_once(db_session, 20), "every new one to be tried once")
            answered(client.get("/proofs"))  # the same 3 proofs
            for _ in range(3):
                answered(upload(client, customer.id, png_bytes(), notify="y"))
            wait_until(lambda: tried_once(db_session, 23), "the uploads' to be tried once")

            waiting = [n for n in rows(db_session) if n.status == "queued"]
            assert len(waiting) == 23
            for note in waiting:
                assert note.last_error.startswith("Cannot connect"), note.last_error
                assert note.next_attempt_at - note.updated_at > dt.timedelta(seconds=20)
                assert note.claimed_until is None
            proof_page = client.get(f"/proofs/{waiting[-1].proof_id}").get_data(as_text=True)
            assert "Queued" in proof_page and "next try" in proof_page
            assert "Cannot connect" in proof_page
            db_session.rollback()

            returned = start_server_on(server.port, tmp_path)
            make_due(db_session)
            wait_until(
                lambda: statuses(db_session) == Counter(sent=26),
                "everything to be sent after the server returned",
            )
        assert errors == []
    finally:
        if returned is not None:
            returned.stop()

    notes = rows(db_session)
    assert Counter(message_ids(returned)) == Counter(
        {n.message_id: 1 for n in notes if n.attempts == 2}
    )
    assert len(message_ids(server)) == 3
    assert sorted([n.attempts for n in notes]) == [1] * 3 + [2] * 23
    assert all(n.last_error is None and n.claimed_until is None for n in notes)
    # Nothing waited for the SMTP server in a request: only the worker talked to it.
    assert smtp_talkers and set(smtp_talkers) == {WORKER_THREAD}, smtp_talkers


class SlowRecipient:
    """An SMTP server that takes `delay` seconds to answer RCPT (0: at once)."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.asked: list[float] = []

    async def __call__(self, server, session, envelope, address, rcpt_options):  # type: ignore[no-untyped-def]
        self.asked.append(time.monotonic())
        if self.delay:
            await asyncio.sleep(self.delay)
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_slow_server_times_out_is_retried_and_leaves_nothing_sending(
    make_app, factory, db_session, server, smtp_talkers
):
    app = make_app(
        **{**smtp_settings(server, mode="none"), "SMTP_TIMEOUT": "1", "WORKER_LEASE_SECONDS": "5"}
    )
    client = app.test_client()
    login(client, factory.user())
    slow = SlowRecipient(delay=2 * HANG_SECONDS)  # never answers while the test runs
    server.inbox.handle_RCPT = slow  # type: ignore[attr-defined]
    ids = queue_proof_notifications(db_session, factory, 3)
    with worker_running(app) as errors:
        wait_until(lambda: len(slow.asked) >= 1, "the first attempt")
        answered(client.get("/proofs"))  # while the worker waits for the server
        # The server never answers: each attempt can only have ended by SMTP_TIMEOUT.
        wait_until(lambda: tried_once(db_session, 3), "three timed-out attempts")
        assert len(slow.asked) == 3
        for note in rows(db_session):
            assert note.last_error.startswith("Timed out"), note.last_error
            assert note.claimed_until is None
        db_session.rollback()
        # Nothing is held in 'sending', and nothing is due before its backoff.
        with app.extensions["db_sessionmaker"]() as other_worker:
            assert services.claim_due(other_worker) == []
        assert statuses(db_session) == Counter(queued=3)

        slow.delay = 0
        # A busy machine's local server may take more than 1 s: the retries are not about that.
        app.config.update(SMTP_TIMEOUT=HANG_SECONDS / 2, WORKER_LEASE_SECONDS=HANG_SECONDS)
        make_due(db_session)
        wait_until(lambda: statuses(db_session) == Counter(sent=3), "the retries")
    assert errors == []
    notes = rows(db_session)
    assert [n.id for n in notes] == ids and {n.attempts for n in notes} == {2}
    # The slow server never got as far as DATA: each customer got the message once.
    assert message_ids(server) == Counter({n.message_id: 1 for n in notes})
    assert set(smtp_talkers) == {WORKER_THREAD}, smtp_talkers  # the page did not wait


def test_4xx_is_retried_with_the_same_message_id(make_app, factory, db_session, server):
    app = make_app(**smtp_settings(server, mode="none"))
    server.inbox.script.extend(
        ["451 4.7.1 Greylisted, try again later", "421 4.3.2 Too busy, try again later"]
    )
    ids = queue_proof_notifications(db_session, factory, 3)
    with worker_running(app) as errors:
        wait_until(
            lambda: statuses(db_session) == Counter(queued=2, sent=1), "two refused, one sent"
        )
        waiting = [n for n in rows(db_session) if n.status == "queued"]
        assert sorted(n.last_error for n in waiting) == [
            "Temporary failure: 421 4.3.2 Too busy, try again later",
            "Temporary failure: 451 4.7.1 Greylisted, try again later",
        ]
        assert all(n.next_attempt_at - n.updated_at > dt.timedelta(seconds=20) for n in waiting)
        db_session.rollback()
        make_due(db_session)
        wait_until(lambda: statuses(db_session) == Counter(sent=3), "the retries")
    assert errors == []
    notes = rows(db_session)
    assert [n.id for n in notes] == ids
    assert sorted(n.attempts for n in notes) == [1, 2, 2]
    assert message_ids(server) == Counter({n.message_id: 1 for n in notes})


def test_5xx_fails_once_and_is_shown_on_the_proof_and_in_the_admin_log(
    make_app, factory, db_session, server
):
    app = make_app(**smtp_settings(server, mode="none"))
    client = app.test_client()
    designer, customer = factory.user(), factory.customer(email="olga@oak.test")
    login(client, designer)
    server.inbox.script.append("554 5.7.1 Rejected as spam")
    with worker_running(app) as errors:
        assert (
            upload(client, customer.id, png_bytes(), title="Oak sign", notify="y").status_code
            == 302
        )
        wait_until(lambda: statuses(db_session) == Counter(failed=1), "the refusal")
        # Due or not, a failed notification is not tried again by the worker: the next one
        # (queued after it) goes out, the failed one stays as it was.
        n = CustomerNotification
        db_session.execute(
            sa.update(n).values(next_attempt_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
        )
        db_session.commit()
        assert (
            upload(client, customer.id, png_bytes(), title="Oak flyer", notify="y").status_code
            == 302
        )
        wait_until(lambda: statuses(db_session) == Counter(failed=1, sent=1), "the next one")
    assert errors == []
    failed, sent = rows(db_session)
    assert (failed.status, failed.attempts, failed.mailer) == ("failed", 1, "default")
    assert failed.last_error == "Message refused: 554 5.7.1 Rejected as spam"
    assert message_ids(server) == Counter({sent.message_id: 1})

    page = client.get(f"/proofs/{failed.proof_id}").get_data(as_text=True)
    assert "Failed" in page and "Message refused: 554 5.7.1 Rejected as spam" in page
    assert "olga@oak.test" in page
    admin = app.test_client()
    login(admin, factory.user(role="admin"))
    log = admin.get("/admin/notifications?status=failed").get_data(as_text=True)
    assert "Oak sign" in log and "Rejected as spam" in log and "Retry" in log
    assert "Oak flyer" not in log
    assert "1 attempt</div>" in log  # failed once, not tried again


def test_connection_dropped_after_data_is_retried_with_the_same_message_id(
    make_app, factory, db_session, server
):
    """The server takes the message and closes the socket without a reply: the worker cannot
    know it arrived, tries again with the same Message-ID, and the customer may get it twice
    (the documented at-least-once duplicate; the Message-ID lets mail programs merge them)."""
    app = make_app(**smtp_settings(server, mode="none"))
    inbox = server.inbox
    dropped = []

    async def take_and_hang_up(smtp, session, envelope):  # type: ignore[no-untyped-def]
        if dropped:
            return await type(inbox).handle_DATA(inbox, smtp, session, envelope)
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        with inbox.lock:
            inbox.messages.append(message)  # type: ignore[arg-type]
        dropped.append(message["Message-ID"])
        smtp.transport.abort()  # no reply at all
        await asyncio.sleep(3600)  # cancelled when aiosmtpd sees the connection gone

    inbox.handle_DATA = take_and_hang_up  # type: ignore[method-assign]
    (note_id,) = queue_proof_notifications(db_session, factory, 1)
    with worker_running(app) as errors:
        wait_until(
            lambda: dropped and statuses(db_session) == Counter(queued=1), "the dropped attempt"
        )
        (note,) = rows(db_session)
        assert note.attempts == 1 and note.last_error.startswith("Cannot connect"), note.last_error
        assert note.next_attempt_at > note.updated_at  # backoff, not at once
        db_session.rollback()
        make_due(db_session)
        wait_until(lambda: statuses(db_session) == Counter(sent=1), "the retry")
    assert errors == []
    (note,) = rows(db_session)
    assert (note.id, note.attempts, note.last_error) == (note_id, 2, None)
    assert dropped == [note.message_id]
    assert message_ids(server) == Counter({note.message_id: 2})  # the same message, twice
