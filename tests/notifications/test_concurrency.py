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
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from proofdesk.notifications import services
from proofdesk.notifications.models import CustomerNotification
from proofdesk.notifications.tasks import send_due
from tests.conftest import app_config
from tests.mailserver import smtp_settings, start_server

T = TypeVar("T")
WORKER = Path(sys.executable).with_name("proofdesk")
BASE_URL = "https://proofs.example.test"
# `make test` sends a few hundred; `make soak` sends SOAK_NOTIFICATIONS (10,000).
NOTIFICATIONS = int(os.environ.get("SOAK_NOTIFICATIONS", "200"))
# A wait fails only after this long with no progress at all: it catches a hang, never a slow
# machine (speed belongs in `make bench`).
HANG_SECONDS = 300.0


def queue_proof_notifications(session: Session, factory, count: int) -> list[int]:
    """`count` "proof ready" notifications for one proof, queued in one transaction."""
    designer = factory.user()  # no SMTP settings of its own: the default mailer sends
    customer = factory.customer()
    proof = factory.proof(designer, customer)
    notes = [
        services.queue(
            session,
            kind="proof",
            customer=customer,
            subject=f"Proof {n}",
            base_url=BASE_URL,
            proof_id=proof.id,
            version_number=1,
            designer_id=designer.id,
        )
        for n in range(count)
    ]
    session.commit()
    return [note.id for note in notes]


def rows(session: Session) -> list[CustomerNotification]:
    session.expire_all()
    return list(session.scalars(sa.select(CustomerNotification).order_by(CustomerNotification.id)))


def count_by_status(session: Session) -> Counter[str]:
    return Counter(
        dict(
            session.execute(  # type: ignore[arg-type]
                sa.select(CustomerNotification.status, sa.func.count()).group_by(
                    CustomerNotification.status
                )
            ).all()
        )
    )


def sent(app) -> int:
    with app.extensions["db_sessionmaker"]() as session:
        return count_by_status(session)["sent"]


def wait_for_progress(
    look: Callable[[], T],
    done: Callable[[T], bool],
    what: str,
    *,
    check: Callable[[], None] = lambda: None,
) -> T:
    """Look until `done`; fail only when what is seen has not changed for HANG_SECONDS."""
    seen = look()
    changed = time.monotonic()
    while not done(seen):
        check()
        assert time.monotonic() - changed < HANG_SECONDS, (
            f"no progress for {HANG_SECONDS:.0f} s: {what} ({seen})"
        )
        time.sleep(0.05)
        now = look()
        if now != seen:
            seen, changed = now, time.monotonic()
    return seen


def tcp_connections(pid: int) -> list[tuple[int, int]]:
    """(local port, remote port) of each TCP connection the process has open."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    found = []
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[9] in inodes:
                found.append(
                    (int(fields[1].rsplit(":", 1)[1], 16), int(fields[2].rsplit(":", 1)[1], 16))
                )
    return found


def connected_to(worker: subprocess.Popen[bytes], port: int) -> bool:
    """Up and at work (not still starting): connected to the database on `port`."""
    try:
        return any(remote == port for _, remote in tcp_connections(worker.pid))
    except FileNotFoundError:  # exited
        return False


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [str(WORKER), "worker"], env=env, cwd=log.parent, stdout=out, stderr=subprocess.STDOUT
        )


def worker_env(db_url: str, tmp_path: Path, **settings: str) -> dict[str, str]:
    passed_on = {k: v for k, v in os.environ.items() if k in {"PATH", "PYTHONPATH"}}
    return {**passed_on, "LOG_LEVEL": "WARNING", **app_config(db_url, tmp_path, **settings)}


def stop(workers: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM, as systemd would; a worker finishes its batch and exits."""
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(timeout=HANG_SECONDS)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_four_workers_send_every_notification_exactly_once(db_url, db_session, factory, tmp_path):
    """Four `proofdesk worker` processes, all up before anything is due, then every row due
    at once: they compete for the same rows, and each is sent once, at the first attempt."""
    ids = queue_proof_notifications(db_session, factory, NOTIFICATIONS)
    note = CustomerNotification
    db_session.execute(
        sa.update(note).values(  # nothing due while the workers start
            next_attempt_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
        )
    )
    db_session.commit()
    server = start_server(tmp_path, mode="plain")
    db_port = sa.make_url(db_url).port or 5432
    workers: list[subprocess.Popen[bytes]] = []
    logs = [tmp_path / f"worker{n}.log" for n in range(4)]
    try:
        for n, log in enumerate(logs):  # each its own sender address, to see who sent what
            settings = {
                **smtp_settings(server, mode="none"),
                "SMTP_FROM": f"worker{n}@proofs.example.test",
            }
            workers.append(start_worker(worker_env(db_url, tmp_path, **settings), log))

        def running() -> None:
            assert all(w.poll() is None for w in workers), "a worker exited early"

        wait_for_progress(
            lambda: sum(connected_to(w, db_port) for w in workers),
            lambda up: up == 4,
            "the workers starting",
            check=running,
        )
        started = time.monotonic()
        db_session.execute(sa.update(note).values(next_attempt_at=dt.datetime.now(dt.UTC)))
        db_session.commit()

        def look() -> Counter[str]:
            counts = count_by_status(db_session)
            db_session.rollback()
            return counts

        wait_for_progress(
            look,
            lambda counts: counts["sent"] == len(ids),
            "notifications being sent",
            check=running,
        )
        elapsed = time.monotonic() - started
        stop(workers)
        assert [w.returncode for w in workers] == [0, 0, 0, 0]
        # A row is "sent" after the server's 250: every message is in by now.
        received = server.inbox.wait_for(len(ids), timeout=HANG_SECONDS)
    finally:
        stop(workers)
        server.stop()
    output = "".join(log.read_text() for log in logs)
    assert "Traceback" not in output, output

    notes = rows(db_session)
    assert len(received) == len(ids)
    message_ids = [message["Message-ID"] for message in received]
    assert len(set(message_ids)) == len(ids)  # nobody got the same email twice
    assert sorted(message_ids) == sorted(note.message_id for note in notes)
    assert {note.status for note in notes} == {"sent"}  # none left in 'sending'
    assert {note.attempts for note in notes} == {1}
    assert {note.mailer for note in notes} == {"default"}
    by_worker = Counter(message["From"].addresses[0].username for message in received)
    assert len(by_worker) > 1, "one worker sent everything: the workers never competed"
    print(
        f"\n{len(ids)} notifications, 4 workers: all sent {elapsed:.1f} s after they were "
        f"due; sent by {dict(sorted(by_worker.items()))}"
    )


@pytest.fixture
def smtp_server(tmp_path):
    server = start_server(tmp_path, mode="plain")
    yield server
    server.stop()


def test_a_dead_workers_notifications_are_sent_after_its_lease(
    make_app, db_session, factory, smtp_server
):
    app = make_app(**smtp_settings(smtp_server, mode="none"))
    ids = queue_proof_notifications(db_session, factory, 3)
    dead_worker = app.extensions["db_sessionmaker"]()
    other_worker = app.extensions["db_sessionmaker"]()
    try:
        # The dead worker claims the rows and never sends them.
        assert sorted(services.claim_due(dead_worker, lease=dt.timedelta(minutes=10))) == ids
        assert services.claim_due(other_worker) == []  # held while the lease lasts
        assert {note.status for note in rows(db_session)} == {"sending"}
    finally:
        dead_worker.close()
        other_worker.close()
    # Ten minutes later (without waiting for them): the lease has run out.
    db_session.execute(
        sa.update(CustomerNotification).values(
            claimed_until=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        )
    )
    db_session.commit()

    with app.app_context():
        assert send_due(app) is True
        assert send_due(app) is False  # nothing left
    received = smtp_server.inbox.wait_for(3, timeout=HANG_SECONDS)
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
    make_app, db_session, factory, smtp_server
):
    """A batch that takes longer than the lease: its worker renews the hold on the rows still
    waiting their turn, so none is given up, claimed again or sent twice (a 4 s lease and
    0.5 s a message stand for 2 min and a slow server)."""
    app = make_app(**smtp_settings(smtp_server, mode="none"))
    app.config["WORKER_LEASE_SECONDS"] = 4  # shorter than a setting may be (2 × SMTP_TIMEOUT)
    ids = queue_proof_notifications(db_session, factory, 10)
    receive = smtp_server.inbox.handle_DATA

    async def slowly(server, session, envelope):  # type: ignore[no-untyped-def]
        await asyncio.sleep(0.5)
        return await receive(server, session, envelope)

    smtp_server.inbox.handle_DATA = slowly  # type: ignore[method-assign]
    errors: list[BaseException] = []
    stopping = threading.Event()

    def worker() -> None:
        try:
            with app.app_context():
                while not stopping.is_set():
                    if not send_due(app):
                        stopping.wait(0.05)
        except BaseException as exc:  # noqa: BLE001 - reported by the test thread
            errors.append(exc)
            stopping.set()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    try:
        wait_for_progress(
            lambda: sent(app),
            lambda done: done == len(ids) or bool(errors),
            "the slow batch being sent",
        )
    finally:
        stopping.set()
        for thread in threads:
            thread.join()

    assert errors == []
    notes = rows(db_session)
    assert [(n.status, n.attempts) for n in notes] == [("sent", 1)] * 10  # none claimed twice
    message_ids = [m["Message-ID"] for m in smtp_server.inbox.messages]
    assert Counter(message_ids).most_common(1)[0][1] == 1, "a customer got an email twice"
    assert sorted(message_ids) == sorted(n.message_id for n in notes)
