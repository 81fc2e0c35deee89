"""A fresh PostgreSQL database per size: create, `alembic upgrade head`, fill with COPY (with a
progress bar), VACUUM ANALYZE, and drop it again at the end."""

from __future__ import annotations

import datetime as dt
import io
import random
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import psycopg
from fpdf import FPDF
from PIL import Image

from bench import rows
from bench.procs import BIN, ROOT
from bench.studio import ProofPlan, Size, plan
from proofdesk.passwords import hash_password

SERVER = "postgresql://postgres@127.0.0.1:5432"
TABLES = (
    "users",
    "customers",
    "proofs",
    "proof_versions",
    "proof_pages",
    "share_links",
    "comments",
    "decisions",
    "activities",
    "customer_notifications",
)
COLUMNS = {
    "users": "id, email, name, role, active, password_hash, created_at, smtp_security",
    "customers": "id, name, email, company, created_by_id, created_at",
    "proofs": "id, designer_id, customer_id, title, message, due_date, status, "
    "current_version, created_at, last_activity_at, require_terms, locked_at, "
    "locked_by_id",
    "proof_versions": "id, proof_id, number, file_key, original_filename, content_type, kind, "
    "size_bytes, sha256, page_count, pages_rendered, render_status, "
    "render_error, render_claimed_until, uploaded_by_id, created_at",
    "proof_pages": "id, version_id, number, image_key, thumb_key, width, height",
    "share_links": "id, proof_id, token_hash, nonce, created_at, created_by_id, revoked_at",
    "comments": "id, proof_id, version_id, author_name, author_user_id, author_customer_id, "
    "body, created_at, parent_id, page_number, pin_x, pin_y, pin_w, pin_h, "
    "resolved_at, resolved_by",
    "decisions": "id, proof_id, version_id, decision, reviewer_name, customer_id, comment_id, "
    "ip, user_agent, created_at, file_sha256, terms, withdrawn_at, "
    "withdrawn_reason",
    "activities": "id, at, kind, proof_id, user_id, actor, detail, ip",
    "customer_notifications": "id, kind, customer_id, proof_id, version_number, designer_id, "
    "invite_id, reset_id, batch_id, to_address, subject, "
    "custom_message, status, attempts, next_attempt_at, "
    "claimed_until, last_error, smtp_reply, message_id, mailer, "
    "created_at, updated_at, sent_at",
}


def sqlalchemy_url(name: str) -> str:
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def server(timeout: float = 90) -> psycopg.Connection:
    """A connection to the server, waiting while it restarts (other test suites on this
    machine restart PostgreSQL on purpose)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return psycopg.connect(f"{SERVER}/postgres", autocommit=True, connect_timeout=5)
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def create_database(name: str) -> None:
    with server() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(name: str) -> None:
    with server() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def migrate(env: dict[str, str]) -> None:
    subprocess.run(
        [str(BIN / "alembic"), "upgrade", "head"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )


class Progress:
    """One line on stderr: rows written of the total, the table, the rate."""

    def __init__(self, label: str, total: int) -> None:
        self.label, self.total, self.done = label, total, 0
        self.started = time.monotonic()
        self.tty = sys.stderr.isatty()
        self.shown = -1

    def add(self, count: int, table: str) -> None:
        self.done += count
        fraction = min(self.done / self.total, 1.0)
        step = int(fraction * (100 if self.tty else 10))
        if step != self.shown:
            self.shown = step
            self._show(fraction, table)

    def _show(self, fraction: float, table: str) -> None:
        elapsed = time.monotonic() - self.started
        bar = "#" * int(fraction * 30)
        line = (
            f"  seeding {self.label} [{bar:<30}] {fraction:4.0%} {self.done:>10,} rows "
            f"{table:<24} {self.done / max(elapsed, 1e-6):>9,.0f} rows/s"
        )
        print(
            ("\r" if self.tty else "") + line,
            end="" if self.tty else "\n",
            file=sys.stderr,
            flush=True,
        )

    def close(self) -> None:
        if self.shown < (100 if self.tty else 10):
            self._show(1.0, "done")
        if self.tty:
            print(file=sys.stderr)


def _copy(conn: psycopg.Connection, table: str, lines: Iterable[str], progress: Progress) -> int:
    count = 0
    with conn.cursor() as cur, cur.copy(f"COPY {table} ({COLUMNS[table]}) FROM STDIN") as copy:
        batch: list[str] = []
        for line in lines:
            batch.append(line)
            if len(batch) == 5000:
                copy.write("\n".join(batch) + "\n")
                progress.add(len(batch), table)
                count += len(batch)
                batch.clear()
        if batch:
            copy.write("\n".join(batch) + "\n")
            progress.add(len(batch), table)
            count += len(batch)
    return count


def _expected_rows(size: Size, p: ProofPlan) -> int:
    versions = len(p.version_proof)
    return (
        size.designers
        + 1
        + size.customers
        + 2 * size.proofs
        + versions
        + sum(p.version_pages)
        + sum(p.comments)
        + sum(p.activities)
        + sum(p.notifications)
        + size.proofs * 7 // 10
    )


def seed(name: str, size: Size, *, secret_key: str, now: dt.datetime) -> dict[str, object]:
    """Fill the migrated database; what was written (row counts, seconds, the plan)."""
    started = time.monotonic()
    p = plan(size, now)
    rng = random.Random(11)
    epoch = now.timestamp()
    nonces: dict[int, str] = {}
    password_hash = hash_password(rows.PASSWORD)
    progress = Progress(size.name, _expected_rows(size, p))
    generators: dict[str, Iterator[str]] = {
        "users": rows.users(size, password_hash, epoch),
        "customers": rows.customers(size, epoch),
        "proofs": rows.proofs(p),
        "proof_versions": rows.versions(p, rng),
        "proof_pages": rows.pages(p),
        "share_links": rows.share_links(p, secret_key, nonces),
        "comments": rows.comments(p, rng),
        "decisions": rows.decisions(p, p.review_proof),
        "activities": rows.activities(p),
        "customer_notifications": rows.notifications(p),
    }
    counts: dict[str, int] = {}
    with psycopg.connect(f"{SERVER}/{name}") as conn:
        # Rows are consistent by construction; skip the per-row foreign-key triggers, as
        # pg_restore --disable-triggers does.
        conn.execute("SET session_replication_role = replica")
        conn.execute("SET synchronous_commit = off")
        for table in TABLES:
            counts[table] = _copy(conn, table, generators[table], progress)
        for table in TABLES:
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
        conn.commit()
    progress.close()
    copied = time.monotonic() - started
    with psycopg.connect(f"{SERVER}/{name}", autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        size_bytes = conn.execute("SELECT pg_database_size(current_database())").fetchone()
    return {
        "rows": counts,
        "total_rows": sum(counts.values()),
        "copy_seconds": round(copied, 1),
        "seconds": round(time.monotonic() - started, 1),
        "database_mb": round((size_bytes[0] if size_bytes else 0) / 2**20),
        "review_proof_id": p.review_proof + 1,
        "share_proof_id": p.share_proof + 1,
        "share_nonce": nonces[p.share_proof],
    }


def shared_files(upload_folder: Path) -> None:
    """The few stored files every seeded version points at: an original PDF and PNG, and
    three page previews with thumbnails."""
    folder = upload_folder / "bench" / "shared"
    folder.mkdir(parents=True, exist_ok=True)
    pdf = FPDF(format="A4")
    pdf.set_font("helvetica", size=28)
    for number in range(1, 4):
        pdf.add_page()
        pdf.cell(text=f"Bench artwork, page {number}")
    pdf.output(str(folder / "original.pdf"))
    Image.new("RGB", (1700, 2400), "#e8e2d0").save(folder / "original.png")
    for number in range(1, 4):
        page = Image.new("RGB", (1700, 2400), (240, 230 - 20 * number, 210))
        out = io.BytesIO()
        page.save(out, "JPEG", quality=80)
        (folder / f"page-{number}.jpg").write_bytes(out.getvalue())
        page.thumbnail((480, 480))
        page.save(folder / f"thumb-{number}.jpg", "JPEG", quality=80)
