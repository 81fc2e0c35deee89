"""A throwaway PostgreSQL cluster for tests that stop or restart the server: initdb in a
temporary folder, its own free port and socket folder, stopped and deleted afterwards. The
machine's own PostgreSQL (and everyone connected to it) is never touched.

As root, initdb refuses to run, so the server binaries run as the `postgres` user
(`runuser -u postgres`); otherwise they run as the current user (see /work/shared/TOOLING.md)."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.mailserver import free_port

# Generous: pg_ctl waits for an event (the server accepting connections) and only gives up
# after this many seconds, which a busy machine never needs.
START_WAIT_SECONDS = 300
# Small and fast: the data is thrown away, so nothing needs to survive a crash.
SERVER_OPTIONS = (
    "-c fsync=off -c full_page_writes=off -c synchronous_commit=off "
    "-c shared_buffers=16MB -c max_connections=60"
)


class ClusterUnavailable(Exception):
    """initdb or the server could not be run here; the message says why."""


def bin_dir() -> Path:
    """The newest /usr/lib/postgresql/*/bin with initdb, or the folder of `initdb` on PATH."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: (
            int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0
        ),
    )
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).parent
    raise ClusterUnavailable("no initdb under /usr/lib/postgresql/*/bin or on PATH")


@dataclass
class Cluster:
    folder: Path
    port: int
    bin: Path
    as_postgres: bool

    @property
    def data(self) -> Path:
        return self.folder / "data"

    @property
    def admin_url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def run(self, program: str, *args: str) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin / program), *args]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(
            command, capture_output=True, text=True, check=False, cwd=self.folder
        )
        if result.returncode != 0:
            raise ClusterUnavailable(
                f"{program} {' '.join(args[:2])} failed "
                f"({result.returncode}): {result.stderr.strip()[-800:]}"
                f"\n{self.log()}"
            )
        return result

    def log(self) -> str:
        path = self.folder / "server.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    def pg_ctl(self, action: str, *args: str) -> None:
        self.run(
            "pg_ctl",
            action,
            "-D",
            str(self.data),
            "-l",
            str(self.folder / "server.log"),
            "-w",
            "-t",
            str(START_WAIT_SECONDS),
            *args,
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 {SERVER_OPTIONS}"
        self.pg_ctl("start", "-o", options)

    def stop(self, mode: str = "fast") -> None:
        self.pg_ctl("stop", "-m", mode)

    def running(self) -> bool:
        command = [str(self.bin / "pg_ctl"), "status", "-D", str(self.data)]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, capture_output=True, check=False).returncode == 0


@contextmanager
def throwaway_cluster() -> Iterator[Cluster]:
    """A new cluster, running; stopped (immediately) and deleted however the test ends.
    Raises ClusterUnavailable when it cannot be made."""
    binaries = bin_dir()
    as_postgres = os.geteuid() == 0
    if as_postgres and shutil.which("runuser") is None:
        raise ClusterUnavailable("running as root, and runuser is missing")
    # Not under pytest's tmp_path: its parents are 0700 root, closed to the postgres user.
    # A short path, too: the server's Unix socket path must fit in 107 bytes.
    folder = Path(tempfile.mkdtemp(prefix="proofdesk-pg-"))
    try:
        if as_postgres:
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError as exc:
                raise ClusterUnavailable("running as root, and there is no postgres user") from exc
            os.chown(folder, owner.pw_uid, owner.pw_gid)
        cluster = Cluster(folder=folder, port=0, bin=binaries, as_postgres=as_postgres)
        cluster.run(
            "initdb",
            "-D",
            str(cluster.data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale",
            "C",
        )
        for attempt in range(5):  # the free port may be taken between asking and binding
            cluster.port = free_port()
            try:
                cluster.start()
                break
            except ClusterUnavailable:
                if attempt == 4 or "already in use" not in cluster.log():
                    raise
        try:
            yield cluster
        finally:
            if cluster.running():
                cluster.stop("immediate")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
