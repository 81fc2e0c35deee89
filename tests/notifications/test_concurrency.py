"""The outbox under concurrency: many workers, dead workers' leases, racing claims."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from proofdesk.notifications import services
from proofdesk.notifications.models import CustomerNotification
from proofdesk.notifications.tasks import send_due
from tests.conftest import app_config
from tests.mailserver import smtp_settings, start_server

WORKER = Path(sys.executable).with_name("proofdesk")
BASE_URL = "https://proofs.example.test"


def queue_proof_notifications(session: Session, factory, count: int) -> list[int]:
    """`count` "proof ready" notifications for one proof, queued in one transaction."""
    designer = factory.user()  # no SMTP settings of its own: the default mailer sends
    customer = factory.customer()
    proof = factory.proof(designer, customer)
    notes = [services.queue(session, kind="proof", customer=customer, subject=f"Proof {n}",
                            base_url=BASE_URL, proof_id=proof.id, version_number=1,
                            designer_id=designer.id) for n in range(count)]
    session.commit()
    return [note.id for note in notes]


def rows(session: Session) -> list[CustomerNotification]:
    session.expire_all()
    return list(session.scalars(sa.select(CustomerNotification)
                                .order_by(CustomerNotification.id)))


def count_by_status(session: Session) -> Counter[str]:
    return Counter(dict(session.execute(  # type: ignore[arg-type]
        sa.select(CustomerNotification.status, sa.func.count())
        .group_by(CustomerNotification.status)).all()))


def sent(app) -> int:
    with app.extensions["db_sessionmaker"]() as session:
        return count_by_status(session)["sent"]


def stop(workers: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM, as systemd would; a worker finishes its batch and exits."""
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_four_workers_send_1000_notifications_each_exactly_once(db_url, db_session, factory,
                                                                tmp_path):
    ids = queue_proof_notifications(db_session, factory, 1000)
    server = start_server(tmp_path, mode="plain")
    workers: list[subprocess.Popen[bytes]] = []
    logs = []
    try:
        passed_on = {k: v for k, v in os.environ.items() if k in {"PATH", "PYTHONPATH"}}
        env = {**passed_on, "LOG_LEVEL": "WARNING",
               **app_config(db_url, tmp_path, **smtp_settings(server, mode="none"))}
        started = time.monotonic()
        for n in range(4):
            log = (tmp_path / f"worker{n}.log").open("wb")
            logs.append(log)
            workers.append(subprocess.Popen([str(WORKER), "worker"], env=env, cwd=tmp_path,
                                            stdout=log, stderr=subprocess.STDOUT))
        deadline = started + 120
        while count_by_status(db_session)["sent"] < len(ids):
            assert all(w.poll() is None for w in workers), "a worker exited early"
            assert time.monotonic() < deadline, f"not all sent: {count_by_status(db_session)}"
            time.sleep(0.2)
        elapsed = time.monotonic() - started
        stop(workers)
        assert [w.returncode for w in workers] == [0, 0, 0, 0]
        received = server.inbox.wait_for(len(ids), timeout=5)
    finally:
        stop(workers)
        for log in logs:
            log.close()
        server.stop()
    output = "".join((tmp_path / f"worker{n}.log").read_text() for n in range(4))
    assert "Traceback" not in output, output

    notes = rows(db_session)
    assert len(received) == 1000
    message_ids = [message["Message-ID"] for message in received]
    assert len(set(message_ids)) == 1000  # nobody got the same email twice
    assert sorted(message_ids) == sorted(note.message_id for note in notes)
    assert {note.status for note in notes} == {"sent"}  # none left in 'sending'
    assert {note.attempts for note in notes} == {1}
    assert {note.mailer for note in notes} == {"default"}
    sent_at = [note.sent_at for note in notes if note.sent_at]
    sending = max(sent_at) - min(sent_at)
    print(f"\n1000 notifications, 4 workers: all sent {elapsed:.1f} s after start "
          f"(incl. start-up); sending took {sending.total_seconds():.1f} s, "
          f"{1000 / sending.total_seconds():.0f}/s")


@pytest.fixture
def smtp_server(tmp_path):
    server = start_server(tmp_path, mode="plain")
    yield server
    server.stop()


def test_a_dead_workers_notifications_are_sent_after_its_lease(make_app, db_session, factory,
                                                               smtp_server):
    app = make_app(**smtp_settings(smtp_server, mode="none"))
    ids = queue_proof_notifications(db_session, factory, 3)
    dead_worker = app.extensions["db_sessionmaker"]()
    other_worker = app.extensions["db_sessionmaker"]()
    try:
        # The dead worker claims the rows and never sends them.
        assert sorted(services.claim_due(dead_worker, lease=dt.timedelta(seconds=1))) == ids
        assert services.claim_due(other_worker) == []  # held while the lease lasts
        assert {note.status for note in rows(db_session)} == {"sending"}
        time.sleep(1.2)
    finally:
        dead_worker.close()
        other_worker.close()

    with app.app_context():
        assert send_due(app) is True
        assert send_due(app) is False  # nothing left
    received = smtp_server.inbox.wait_for(3)
    notes = rows(db_session)
    assert sorted(m["Message-ID"] for m in received) == sorted(n.message_id for n in notes)
    assert [(n.status, n.attempts) for n in notes] == [("sent", 2)] * 3
    assert all(n.claimed_until is None for n in notes)


def test_racing_claims_take_each_notification_exactly_once(app, db_session, factory):
    ids = queue_proof_notifications(db_session, factory, 200)
    claimed: list[list[int]] = [[] for _ in range(8)]
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def claim_until_empty(mine: list[int]) -> None:
        session = app.extensions["db_sessionmaker"]()
        try:
            start.wait()
            while batch := services.claim_due(session, limit=5):
                assert len(batch) <= 5
                mine.extend(batch)
        except BaseException as exc:  # noqa: BLE001 - reported by the test thread
            errors.append(exc)
        finally:
            session.close()

    threads = [threading.Thread(target=claim_until_empty, args=(mine,)) for mine in claimed]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    every = [note_id for mine in claimed for note_id in mine]
    assert Counter(every).most_common(1)[0][1] == 1  # no id claimed twice
    assert sorted(every) == ids
    # A thread that lost a race used to stop while rows were still due (SQLite).
    assert sum(1 for mine in claimed if mine) > 1
    notes = rows(db_session)
    assert [(n.status, n.attempts) for n in notes] == [("sending", 1)] * 200


def test_a_batch_slower_than_its_lease_is_kept_by_its_worker_and_sent_once(
        make_app, db_session, factory, smtp_server):
    """A batch that takes longer than the lease: its worker renews the hold on the rows still
    waiting their turn, so none is given up, claimed again or sent twice (a 2 s lease and
    0.25 s a message stand for 2 min and a slow server)."""
    app = make_app(**smtp_settings(smtp_server, mode="none"))
    app.config["WORKER_LEASE_SECONDS"] = 2  # shorter than a setting may be (2 × SMTP_TIMEOUT)
    ids = queue_proof_notifications(db_session, factory, 10)
    receive = smtp_server.inbox.handle_DATA

    async def slowly(server, session, envelope):  # type: ignore[no-untyped-def]
        await asyncio.sleep(0.25)
        return await receive(server, session, envelope)

    smtp_server.inbox.handle_DATA = slowly  # type: ignore[method-assign]
    errors: list[BaseException] = []
    deadline = time.monotonic() + 20

    def worker() -> None:
        try:
            with app.app_context():
                while sent(app) < len(ids) and time.monotonic() < deadline:
                    if not send_due(app):
                        time.sleep(0.05)
        except BaseException as exc:  # noqa: BLE001 - reported by the test thread
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    notes = rows(db_session)
    assert [(n.status, n.attempts) for n in notes] == [("sent", 1)] * 10  # none claimed twice
    message_ids = [m["Message-ID"] for m in smtp_server.inbox.messages]
    assert Counter(message_ids).most_common(1)[0][1] == 1, "a customer got an email twice"
    assert sorted(message_ids) == sorted(n.message_id for n in notes)
