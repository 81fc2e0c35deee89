"""Several machines on one host: app servers (gunicorn) and workers as separate processes, each
with a folder of its own, sharing one PostgreSQL database, moto's S3 server, Redis and an SMTP
sink. Used by the several-machines check (bench/several_machines.py)."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar

import sqlalchemy as sa

T = TypeVar("T")
ROOT = Path(__file__).resolve().parent.parent
POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


class PartMissing(Exception):
    """A part the check needs (postgres, s3, redis) is not available on this machine."""

    def __init__(self, part: str, reason: str) -> None:
        super().__init__(f"{part}: {reason}")
        self.part = part
        self.reason = reason


class CheckFailed(AssertionError):
    """What a user or operator would see go wrong, with the processes' logs when they help."""


def expect(condition: object, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


# A wait fails only after this long with no progress at all: it catches a hang, never a slow
# machine (speed is measured by `make bench`, not asserted).
HANG_SECONDS = 300.0


def wait_for_progress(
    look: Callable[[], T],
    done: Callable[[T], bool],
    what: str,
    *,
    check: Callable[[], None] = lambda: None,
    hang_seconds: float = HANG_SECONDS,
) -> T:
    """Look until `done`; fail when what is seen has not changed for `hang_seconds`."""
    seen = look()
    changed = time.monotonic()
    while not done(seen):
        check()
        expect(
            time.monotonic() - changed < hang_seconds,
            f"no progress for {hang_seconds:.0f} s: {what} ({seen})",
        )
        time.sleep(0.2)
        now = look()
        if now != seen:
            seen, changed = now, time.monotonic()
    return seen


# ---- the shared parts ------------------------------------------------------------------------


@contextlib.contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    """A fresh database, migrated with `alembic upgrade head`, dropped afterwards."""
    from alembic import command
    from alembic.config import Config

    name = f"proofdesk_machines_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        raise PartMissing("postgres", f"cannot reach {admin_url} ({exc.orig})") from exc
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    try:
        cfg = Config(str(ROOT / "alembic.ini"))
        cfg.attributes.update(database_url=url, skip_logging=True)
        command.upgrade(cfg, "head")
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextlib.contextmanager
def s3_server() -> Iterator[str]:
    """moto's S3 server on a free port of 127.0.0.1 (as in tests/test_storage.py)."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as exc:
        raise PartMissing("s3", f"moto[server] is not installed ({exc})") from exc

    class MotoServer(ThreadedMotoServer):  # type: ignore[misc]
        """ThreadedMotoServer waits forever for a server that failed to bind; report it."""

        failure: BaseException | None = None

        def _server_entry(self) -> None:
            try:
                super()._server_entry()
            except BaseException as exc:  # noqa: BLE001 - reported below
                self.failure = exc
                self._server_ready_event.set()

    server = MotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    if server.failure is not None:
        raise PartMissing("s3", f"moto's S3 server did not start ({server.failure!r})")
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()
        server._server.server_close()  # stop() leaves the listening socket open


def s3_client(endpoint: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(s3={"addressing_style": "path"}),
    )


def object_keys(s3: Any, bucket: str) -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return sorted(obj["Key"] for page in pages for obj in page.get("Contents", []))


@contextlib.contextmanager
def redis_database(url: str | None, folder: Path) -> Iterator[str]:
    """A Redis database for the rate limits, empty at the start: the one given (emptied at
    the start and the end: give one nobody else uses), or else a redis-server of this run's
    own on a free port, stopped at the end; the machine's own Redis is never written to."""
    import redis

    if url is None:
        with redis_server(folder) as own:
            yield own
        return
    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    except redis.exceptions.ConnectionError as exc:
        client.close()
        raise PartMissing("redis", f"cannot reach {url} ({exc})") from exc
    try:
        yield url
    finally:
        client.flushdb()
        client.close()


@contextlib.contextmanager
def redis_server(folder: Path, start_limit: float = 300) -> Iterator[str]:
    """redis-server on a free port of 127.0.0.1, keeping nothing on disk."""
    import shutil

    import redis

    binary = shutil.which("redis-server")
    if binary is None:
        raise PartMissing("redis", "redis-server is not installed (apt-get install redis-server)")
    from tests.mailserver import free_port

    port = free_port()
    log = (folder / "redis.log").open("wb")
    process = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(folder),
            "--daemonize",
            "no",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    try:
        gave_up = time.monotonic() + start_limit  # only catches a hang
        while True:
            with contextlib.suppress(redis.exceptions.ConnectionError):
                if client.ping():
                    break
            if process.poll() is not None or time.monotonic() > gave_up:
                log.flush()
                output = (folder / "redis.log").read_text(errors="replace")[-500:]
                raise PartMissing("redis", f"redis-server did not start: {output}")
            time.sleep(0.05)
        yield url
    finally:
        client.close()
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


# ---- the machines ----------------------------------------------------------------------------


@dataclass
class Machine:
    """One process standing for one machine: its own folder, no disk shared with the others."""

    name: str
    folder: Path
    process: subprocess.Popen[bytes]
    log: IO[bytes]
    url: str | None = None  # app servers only

    @property
    def log_path(self) -> Path:
        return self.folder / "output.log"

    def output(self) -> str:
        if not self.log.closed:
            self.log.flush()
        return self.log_path.read_text(errors="replace")


@dataclass
class Cluster:
    app_servers: list[Machine] = field(default_factory=list)
    workers: list[Machine] = field(default_factory=list)
    settings: dict[str, str] = field(default_factory=dict)

    @property
    def machines(self) -> list[Machine]:
        return self.app_servers + self.workers

    def logs(self, tail: int = 40) -> str:
        return "\n".join(
            f"--- {m.name} (last {tail} lines)\n" + "\n".join(m.output().splitlines()[-tail:])
            for m in self.machines
        )

    def check_running(self) -> None:
        for machine in self.machines:
            if machine.process.poll() is not None:
                raise CheckFailed(
                    f"{machine.name} exited with {machine.process.returncode}\n" + self.logs()
                )


def settings(
    *,
    database_url: str,
    s3_endpoint: str,
    bucket: str,
    redis_url: str,
    smtp_port: int,
    base_url: str,
) -> dict[str, str]:
    """The environment every machine gets: production settings, no shared folder."""
    from cryptography.fernet import Fernet

    return {
        "PROOFDESK_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "SMTP_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "DATABASE_URL": database_url,
        "BASE_URL": base_url,
        "STORAGE": "s3",
        "S3_BUCKET": bucket,
        "S3_ENDPOINT_URL": s3_endpoint,
        "S3_ACCESS_KEY_ID": "test",
        "S3_SECRET_ACCESS_KEY": "test",
        "S3_PREFIX": "studio",
        "RATELIMIT_STORAGE_URI": redis_url,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_port),
        "SMTP_SECURITY": "none",
        "SMTP_FROM": "studio@proofs.example.test",
        "SMTP_TIMEOUT": "10",
        "LOG_LEVEL": "WARNING",
    }


def _start(name: str, command: list[str], workdir: Path, env: dict[str, str]) -> Machine:
    folder = workdir / name
    folder.mkdir(parents=True)
    own = {
        "INSTANCE_PATH": str(folder / "instance"),
        "UPLOAD_FOLDER": str(folder / "uploads"),
        "PROOFDESK_HOME": str(folder),
    }  # no .env is read from the repository
    passed_on = {
        k: v for k, v in os.environ.items() if k in {"PATH", "PYTHONPATH", "LANG", "TMPDIR"}
    }
    log = (folder / "output.log").open("wb")
    process = subprocess.Popen(
        command, cwd=folder, env={**passed_on, **env, **own}, stdout=log, stderr=subprocess.STDOUT
    )
    return Machine(name=name, folder=folder, process=process, log=log)


def start_app_server(name: str, port: int, workdir: Path, env: dict[str, str]) -> Machine:
    machine = _start(
        name,
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
            "--timeout",
            "60",
            "--graceful-timeout",
            "5",
            # Its own, not the shared ~/.gunicorn/gunicorn.ctl of this host.
            "--control-socket",
            str(workdir / name / "gunicorn.ctl"),
            "proofdesk.wsgi:app",
        ],
        workdir,
        env,
    )
    machine.url = f"http://127.0.0.1:{port}"
    return machine


def start_worker(name: str, workdir: Path, env: dict[str, str]) -> Machine:
    return _start(name, [sys.executable, "-m", "proofdesk.cli", "worker"], workdir, env)


def wait_until_serving(cluster: Cluster, timeout: float = HANG_SECONDS) -> None:
    import requests

    deadline = time.monotonic() + timeout
    for server in cluster.app_servers:
        while True:
            cluster.check_running()
            with contextlib.suppress(requests.ConnectionError, requests.Timeout):
                if requests.get(f"{server.url}/healthz", timeout=30).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise CheckFailed(f"{server.name} did not answer /healthz\n" + cluster.logs())
            time.sleep(0.2)


def stop(machines: list[Machine]) -> list[int]:
    """SIGTERM, as systemd would; a worker finishes its batch, gunicorn its requests."""
    for machine in machines:
        if machine.process.poll() is None:
            machine.process.send_signal(signal.SIGTERM)
    codes = []
    for machine in machines:
        try:
            codes.append(machine.process.wait(timeout=HANG_SECONDS))
        except subprocess.TimeoutExpired:
            machine.process.kill()
            codes.append(machine.process.wait())
        machine.log.close()
    return codes


@contextlib.contextmanager
def cluster(
    workdir: Path,
    *,
    app_servers: int = 2,
    workers: int = 3,
    postgres_admin_url: str = POSTGRES_ADMIN_URL,
    redis_url: str | None = None,
) -> Iterator[tuple[Cluster, Any, Any]]:
    """Everything started, and everything stopped again however the check ends. Yields the
    cluster, the SMTP sink and the S3 client (bucket in cluster.settings["S3_BUCKET"])."""
    from tests.mailserver import free_port, start_server

    with contextlib.ExitStack() as stack:
        database_url = stack.enter_context(postgres_database(postgres_admin_url))
        endpoint = stack.enter_context(s3_server())
        redis_url = stack.enter_context(redis_database(redis_url, workdir))
        s3 = s3_client(endpoint)
        stack.callback(s3.close)
        bucket = f"proofdesk-{uuid.uuid4().hex[:12]}"
        s3.create_bucket(Bucket=bucket)
        sink = start_server(workdir, mode="plain")
        stack.callback(sink.stop)
        ports = [free_port() for _ in range(app_servers)]
        env = settings(
            database_url=database_url,
            s3_endpoint=endpoint,
            bucket=bucket,
            redis_url=redis_url,
            smtp_port=sink.port,
            base_url=f"http://127.0.0.1:{ports[0]}",
        )
        running = Cluster(settings=env)
        stack.callback(lambda: stop(running.machines))
        for n, port in enumerate(ports, 1):
            running.app_servers.append(start_app_server(f"app{n}", port, workdir, env))
        for n in range(1, workers + 1):
            running.workers.append(start_worker(f"worker{n}", workdir, env))
        wait_until_serving(running)
        yield running, sink, s3
