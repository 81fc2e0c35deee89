"""Worker soak: 4 `proofdesk worker` processes on PostgreSQL send N notifications to a local
SMTP sink while a random worker is killed (SIGKILL) and restarted every few seconds.

`make test` runs 500 notifications and 2 kills; `make soak` runs SOAK_NOTIFICATIONS=10000
with a kill every SOAK_KILL_SECONDS (3) until everything is sent, and prints the figures."""

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

from tests.conftest import POSTGRES_ADMIN_URL, app_config
from tests.mailserver import SmtpServer, smtp_settings, start_server
from tests.notifications.test_concurrency import (
    WORKER,
    count_by_status,
    queue_proof_notifications,
    rows,
    stop,
)

LONG = "SOAK_NOTIFICATIONS" in os.environ
NOTIFICATIONS = int(os.environ.get("SOAK_NOTIFICATIONS", "500"))
KILL_EVERY = float(os.environ.get("SOAK_KILL_SECONDS", "3" if LONG else "1"))
MAX_KILLS = None if LONG else 2
WORKERS = 4
LEASE_SECONDS = 5  # short, so that a killed worker's rows come back soon
SMTP_TIMEOUT = 2


def tcp_connections(pid: int) -> list[tuple[int, int]]:
    """(local port, remote port) of each TCP connection the process has open."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:["):-1])
    found = []
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[9] in inodes:
                found.append((int(fields[1].rsplit(":", 1)[1], 16),
                              int(fields[2].rsplit(":", 1)[1], 16)))
    return found


def mid_send(pid: int, *, smtp_port: int, db_port: int, admin: sa.Engine) -> bool:
    """Was the (stopped) worker between claiming a message and recording that it was sent:
    talking to the SMTP server, or inside a database transaction? Only then can killing it
    leave a message delivered but not recorded, to be sent again after the lease."""
    connections = tcp_connections(pid)
    if any(remote == smtp_port for _, remote in connections):
        return True
    ports = [local for local, remote in connections if remote == db_port]
    with admin.connect() as conn:
        states = conn.scalars(sa.text(
            "SELECT state FROM pg_stat_activity WHERE client_port = ANY(:ports)"),
            {"ports": ports}).all()
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
        db_url, db_session, factory, tmp_path, capsys):
    ids = queue_proof_notifications(db_session, factory, NOTIFICATIONS)
    db_session.rollback()
    server = start_server(tmp_path, mode="plain")
    sink = MessageIds(server)
    admin = sa.create_engine(POSTGRES_ADMIN_URL, pool_pre_ping=True)
    passed_on = {k: v for k, v in os.environ.items() if k in {"PATH", "PYTHONPATH"}}
    env = {**passed_on, "LOG_LEVEL": "WARNING",
           **app_config(db_url, tmp_path, **{**smtp_settings(server, mode="none"),
                                              "SMTP_TIMEOUT": str(SMTP_TIMEOUT),
                                              "WORKER_LEASE_SECONDS": str(LEASE_SECONDS)})}
    logs: list[Path] = []
    workers: list[subprocess.Popen[bytes]] = []

    def start_worker() -> subprocess.Popen[bytes]:
        log = tmp_path / f"worker{len(logs)}.log"
        logs.append(log)
        with log.open("wb") as out:
            return subprocess.Popen([str(WORKER), "worker"], env=env, cwd=tmp_path,
                                    stdout=out, stderr=subprocess.STDOUT)

    def unfinished() -> int:
        counts = count_by_status(db_session)
        db_session.rollback()
        return counts["queued"] + counts["sending"]

    kills = kills_mid_send = 0
    try:
        started = time.monotonic()
        workers.extend(start_worker() for _ in range(WORKERS))
        deadline = started + 60 + NOTIFICATIONS / 20
        db_port = sa.make_url(db_url).port or 5432

        def working(worker: subprocess.Popen[bytes]) -> bool:
            """Up and at work (not still starting): connected to the database."""
            return any(remote == db_port for _, remote in tcp_connections(worker.pid))

        while unfinished() == NOTIFICATIONS or not all(map(working, workers)):
            assert time.monotonic() < deadline, "the workers never started sending"
            time.sleep(0.05)
        next_kill = time.monotonic() + KILL_EVERY / 2
        while unfinished():
            assert time.monotonic() < deadline, f"not finished: {count_by_status(db_session)}"
            assert all(w.poll() is None for w in workers), "a worker exited by itself"
            at_work = [slot for slot, w in enumerate(workers) if working(w)]
            if (MAX_KILLS is None or kills < MAX_KILLS) and time.monotonic() >= next_kill \
                    and at_work:
                slot = random.choice(at_work)
                victim = workers[slot]
                victim.send_signal(signal.SIGSTOP)  # hold still while we look
                kills_mid_send += mid_send(victim.pid, smtp_port=server.port,
                                           db_port=db_port, admin=admin)
                victim.kill()
                victim.wait()
                kills += 1
                workers[slot] = start_worker()
                next_kill += KILL_EVERY
            time.sleep(0.05)
        elapsed = time.monotonic() - started
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
        print(f"\n\nWorker soak: {WORKERS} workers on PostgreSQL, lease {LEASE_SECONDS} s, "
              f"a kill every {KILL_EVERY:g} s\n"
              "| notifications | kills | kills mid-send | duplicates | sent | failed "
              "| time (s) | rate (/s) |\n"
              "|---:|---:|---:|---:|---:|---:|---:|---:|\n"
              f"| {NOTIFICATIONS:,} | {kills} | {kills_mid_send} | {duplicates} "
              f"| {statuses['sent']:,} | {statuses['failed']} | {elapsed:.1f} "
              f"| {NOTIFICATIONS / max(sending, 0.001):.0f} |\n")

    assert len(notes) == len(ids) == NOTIFICATIONS
    assert set(statuses) <= {"sent", "failed"}  # none left queued or in 'sending'
    assert statuses["sent"] == NOTIFICATIONS  # the sink never refused, so none failed
    assert set(received) == {n.message_id for n in notes}  # N distinct Message-IDs arrived
    assert duplicates <= kills_mid_send
    assert all(n.claimed_until is None for n in notes)
    if MAX_KILLS is not None:
        assert kills == MAX_KILLS, "the kills did not happen before the work was done"
    output = "".join(log.read_text(errors="replace") for log in logs)
    assert "Traceback" not in output, output[-5000:]
