"""Worker soak: 4 `proofdesk worker` processes on PostgreSQL send N notifications to a local
SMTP sink while a worker is killed (SIGKILL) and restarted.

`make test` sends 200 and kills a worker twice, when a quarter and when half of them are sent
(progress, not the clock, decides: the kills always land mid-run); `make soak` sends
SOAK_NOTIFICATIONS=10000 with a kill every SOAK_KILL_SECONDS (3) until everything is sent, and
prints the figures. Waits end on progress; only no progress at all for minutes fails."""

from __future__ import annotations

import email.parser
import os
import random
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import POSTGRES_ADMIN_URL
from tests.mailserver import SmtpServer, smtp_settings, start_server
from tests.notifications.test_concurrency import (
    HANG_SECONDS,
    NOTIFICATIONS,
    connected_to,
    count_by_status,
    queue_proof_notifications,
    rows,
    start_worker,
    stop,
    tcp_connections,
    wait_for_progress,
    worker_env,
)

LONG = "SOAK_NOTIFICATIONS" in os.environ
KILL_EVERY = float(os.environ.get("SOAK_KILL_SECONDS", "3"))
KILLS = 2  # in `make test`: at 1/4 and 1/2 of the notifications sent
WORKERS = 4
# Short, so that a killed worker's rows come back soon; yet long enough that a busy machine's
# slow SMTP exchange is not taken for a dead server (which would send the message twice).
LEASE_SECONDS = 10
SMTP_TIMEOUT = 5  # the least a lease allows: half of it


def mid_send(pid: int, *, smtp_port: int, db_port: int, admin: sa.Engine) -> bool:
    """Was the (stopped) worker between claiming a message and recording that it was sent:
    talking to the SMTP server, or inside a database transaction? Only then can killing it
    leave a message delivered but not recorded, to be sent again after the lease."""
    connections = tcp_connections(pid)
    if any(remote == smtp_port for _, remote in connections):
        return True
    ports = [local for local, remote in connections if remote == db_port]
    with admin.connect() as conn:
        states = conn.scalars(
            sa.text("SELECT state FROM pg_stat_activity WHERE client_port = ANY(:ports)"),
            {"ports": ports},
        ).all()
    return any(state != "idle" for state in states)


class MessageIds:
    """The SMTP sink keeps only each message's Message-ID (10,000 parsed emails weigh)."""

    def __init__(self, server: SmtpServer) -> None:
        self.ids: list[str] = []
        self.lock = server.inbox.lock
        server.inbox.handle_DATA = self.handle_DATA  # type: ignore[method-assign]

    async def handle_DATA(self, server, session, envelope) -> str:  # type: ignore[no-untyped-def]  # noqa: N802
        headers = email.parser.BytesHeaderParser().parsebytes(envelope.original_content)
        with self.lock:
            self.ids.append(str(headers["Message-ID"]))
        return "250 2.0.0 Ok: queued"


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_workers_killed_at_random_lose_nothing_and_duplicate_only_mid_send(
    db_url, db_session, factory, tmp_path, capsys
):
    ids = queue_proof_notifications(db_session, factory, NOTIFICATIONS)
    db_session.rollback()
    server = start_server(tmp_path, mode="plain")
    sink = MessageIds(server)
    admin = sa.create_engine(POSTGRES_ADMIN_URL, pool_pre_ping=True)
    env = worker_env(
        db_url,
        tmp_path,
        **{
            **smtp_settings(server, mode="none"),
            "SMTP_TIMEOUT": str(SMTP_TIMEOUT),
            "WORKER_LEASE_SECONDS": str(LEASE_SECONDS),
        },
    )
    logs: list[Path] = []
    workers: list[subprocess.Popen[bytes]] = []
    db_port = sa.make_url(db_url).port or 5432

    def new_worker() -> subprocess.Popen[bytes]:
        logs.append(tmp_path / f"worker{len(logs)}.log")
        return start_worker(env, logs[-1])

    def look() -> Counter[str]:
        counts = count_by_status(db_session)
        db_session.rollback()
        return counts

    def running() -> None:
        assert all(w.poll() is None for w in workers), "a worker exited by itself"

    def kill_one() -> None:
        nonlocal kills, kills_mid_send
        at_work = [slot for slot, w in enumerate(workers) if connected_to(w, db_port)]
        if not at_work:
            return
        slot = random.choice(at_work)
        victim = workers[slot]
        victim.send_signal(signal.SIGSTOP)  # hold still while we look
        kills_mid_send += mid_send(victim.pid, smtp_port=server.port, db_port=db_port, admin=admin)
        victim.kill()
        victim.wait()
        kills += 1
        workers[slot] = new_worker()

    kills = kills_mid_send = 0
    try:
        started = time.monotonic()
        workers.extend(new_worker() for _ in range(WORKERS))
        wait_for_progress(
            lambda: (look()["sent"], sum(connected_to(w, db_port) for w in workers)),
            lambda seen: seen[0] > 0 and seen[1] == WORKERS,
            "the workers starting to send",
            check=running,
        )
        next_kill = time.monotonic() + KILL_EVERY / 2
        seen, changed = look(), time.monotonic()
        while seen["queued"] + seen["sending"]:
            running()
            if LONG:
                due = time.monotonic() >= next_kill
            else:  # the next quarter reached: the kills land while work is left
                due = kills < KILLS and seen["sent"] >= NOTIFICATIONS * (kills + 1) // 4
            if due:
                kill_one()
                next_kill += KILL_EVERY
            time.sleep(0.05)
            now = look()
            if now != seen:
                seen, changed = now, time.monotonic()
            assert time.monotonic() - changed < HANG_SECONDS, (
                f"no progress for {HANG_SECONDS:.0f} s: {seen}"
            )
        elapsed = time.monotonic() - started
        # A worker started in place of a killed one may still be starting (SIGTERM would
        # end it before it can finish cleanly): up means connected, its handler set.
        wait_for_progress(
            lambda: sum(connected_to(w, db_port) for w in workers),
            lambda up: up == WORKERS,
            "the last workers starting",
            check=running,
        )
        stop(workers)
        assert [w.returncode for w in workers] == [0] * WORKERS
    finally:
        stop(workers)
        server.stop()
        admin.dispose()

    notes = rows(db_session)
    statuses = Counter(n.status for n in notes)
    received = Counter(sink.ids)
    duplicates = sum(received.values()) - len(received)
    sent_at = sorted(n.sent_at for n in notes if n.sent_at)
    sending = (sent_at[-1] - sent_at[0]).total_seconds()
    with capsys.disabled():
        print(
            f"\n\nWorker soak: {WORKERS} workers on PostgreSQL, lease {LEASE_SECONDS} s, "
            f"a kill every {KILL_EVERY:g} s\n"
            "| notifications | kills | kills mid-send | duplicates | sent | failed "
            "| time (s) | rate (/s) |\n"
            "|---:|---:|---:|---:|---:|---:|---:|---:|\n"
            f"| {NOTIFICATIONS:,} | {kills} | {kills_mid_send} | {duplicates} "
            f"| {statuses['sent']:,} | {statuses['failed']} | {elapsed:.1f} "
            f"| {NOTIFICATIONS / max(sending, 0.001):.0f} |\n"
        )

    assert len(notes) == len(ids) == NOTIFICATIONS
    assert set(statuses) <= {"sent", "failed"}  # none left queued or in 'sending'
    assert statuses["sent"] == NOTIFICATIONS  # the sink never refused, so none failed
    assert set(received) == {n.message_id for n in notes}  # N distinct Message-IDs arrived
    assert duplicates <= kills_mid_send
    assert all(n.claimed_until is None for n in notes)
    if not LONG:
        assert kills == KILLS, "the kills did not happen before the work was done"
    output = "".join(log.read_text(errors="replace") for log in logs)
    assert "Traceback" not in output, output[-5000:]
