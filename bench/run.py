"""`make bench`: seed a studio at 2,000 and at 200,000 proofs, load-test the pages with wrk,
measure mail and file handling, and write bench/results/ and docs/performance.md.

Every figure is also taken as a ratio against a baseline measured in the same run (the
/healthz endpoint of the same server, a plain smtplib loop, a plain pypdfium2 loop), because
the machine is shared and absolute numbers move with its load."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.procs import BIN, ROOT, Processes, gunicorn
from bench.studio import LARGE, SMALL

WEB_WORKERS = 4
SECONDS_PER_PAGE = 5
ROUNDS = 2  # runs per page and size, the sizes' order alternating
MAIL_MESSAGES = 500
TIME_LIMIT = 25 * 60  # stop by itself even if something hangs


class TimeLimit(Exception):
    pass


def ensure_tools() -> None:
    """wrk from Debian's packages, matplotlib from the `bench` extra, if missing."""
    if not shutil.which("wrk"):
        print("--- installing wrk", flush=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "wrk"],
            check=True,
            env=env,
            stdout=subprocess.DEVNULL,
        )
    try:
        import matplotlib  # noqa: F401
        import requests  # noqa: F401
    except ImportError:
        print("--- installing the bench tools (pip install -e '.[bench]')", flush=True)
        subprocess.run(
            [str(BIN / "pip"), "install", "--quiet", "-e", ".[bench]"], cwd=ROOT, check=True
        )


def seed_with_retry(
    seed: Any, database: str, size: Any, settings: Any, now: dt.datetime
) -> dict[str, Any]:
    """Create, migrate and fill one database; once more from scratch if the server went away
    meanwhile (other test suites on this machine restart PostgreSQL on purpose)."""
    import psycopg

    for attempt in (1, 2):
        try:
            seed.create_database(database)
            seed.migrate(settings.env(database))
            result: dict[str, Any] = seed.seed(
                database, size, secret_key=settings.secret_key, now=now
            )
            return result
        except (psycopg.OperationalError, subprocess.CalledProcessError) as exc:
            if attempt == 2:
                raise
            print(f"  PostgreSQL went away ({exc}); seeding {size.name} again", flush=True)
    raise AssertionError("unreachable")


def phase(name: str, started: float) -> None:
    print(f"--- {name} ({time.monotonic() - started:.0f} s)", flush=True)


def bench_pages(
    procs: Processes,
    settings: Any,
    databases: dict[str, str],
    seeded: dict[str, dict[str, Any]],
    apps: dict[str, Any],
) -> dict[str, Any]:
    from bench import pages

    servers, cookies, page_lists, queries, cpu_ms = {}, {}, {}, {}, {}
    children = []
    try:
        for size, database in databases.items():
            token = pages.prepare_accounts(apps[size], seeded[size]["share_proof_id"])
            child, base = gunicorn(
                procs, f"web-{size}", settings.env(database), workers=WEB_WORKERS
            )
            children.append(child)
            servers[size] = base
            cookies[size] = {
                who: pages.login(base, who) for who in ("designer", "admin", "customer")
            }
            page_lists[size] = pages.pages(seeded[size]["review_proof_id"], token)
            for page in page_lists[size]:
                pages.check(base, page, cookies[size].get(page.who) if page.who else None)
            counted = pages.in_process(apps[size], page_lists[size], cookies[size])
            queries[size], cpu_ms[size] = counted["queries"], counted["cpu_ms"]
        measured = pages.load(servers, page_lists, cookies, seconds=SECONDS_PER_PAGE, rounds=ROUNDS)
    finally:
        for child in children:
            procs.stop(child)
    first = next(iter(page_lists.values()))
    return {
        "labels": {p.key: p.label for p in first},
        "pages": measured,
        "queries": queries,
        "cpu_ms": cpu_ms,
        "paths": {size: {p.key: p.path for p in ps} for size, ps in page_lists.items()},
    }


def main() -> int:
    ensure_tools()
    # Imported once wrk, matplotlib and requests are surely there.
    from bench import files, mail, pages, report, seed
    from bench.settings import BenchSettings
    from proofdesk.app import create_app

    started = time.monotonic()
    now = dt.datetime.now(dt.UTC)
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    instance = Path(tempfile.mkdtemp(prefix="proofdesk-bench-"))
    (instance / "logs").mkdir()
    settings = BenchSettings(instance=instance)
    procs = Processes(instance / "logs")
    databases = {size.name: f"bench_{stamp.lower()}_{size.name}" for size in (SMALL, LARGE)}
    created: list[str] = []
    apps: dict[str, Any] = {}
    ok = False

    def _stop(_signum: int, _frame: object) -> None:
        raise TimeLimit("stopped") if _signum == signal.SIGALRM else SystemExit(1)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGALRM, _stop)
    signal.alarm(TIME_LIMIT)
    results: dict[str, Any] = {
        "started_at": now.isoformat(timespec="seconds"),
        "commit": subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip(),
        "machine": {"cpus": os.cpu_count(), "load_start": os.getloadavg()},
        "gunicorn_workers": WEB_WORKERS,
        "connections": pages.CONNECTIONS,
        "seconds_per_page": SECONDS_PER_PAGE,
        "rounds": ROUNDS,
        "sizes": {},
        "phase_seconds": {},
    }
    try:
        seed.shared_files(instance / "uploads")
        seeded = {}
        for size in (SMALL, LARGE):
            phase(f"seeding {size.name}: {size.proofs:,} proofs", started)
            database = databases[size.name]
            created.append(database)
            seeded[size.name] = seed_with_retry(seed, database, size, settings, now)
            results["sizes"][size.name] = {
                "proofs": size.proofs,
                "customers": size.customers,
                "designers": size.designers,
                "seed": seeded[size.name],
            }
            apps[size.name] = create_app(settings.app_config(database))
        results["phase_seconds"]["seed"] = round(time.monotonic() - started)
        phase("pages: wrk against gunicorn, both sizes interleaved", started)
        results.update(bench_pages(procs, settings, databases, seeded, apps))
        results["phase_seconds"]["pages"] = round(time.monotonic() - started)
        phase("mail: worker against a plain smtplib loop, to a local SMTP sink", started)
        results["mail"] = mail.run(
            procs,
            settings.env(databases[LARGE.name]),
            apps[LARGE.name],
            messages=MAIL_MESSAGES,
            first_proof=1001,
        )
        results["phase_seconds"]["mail"] = round(time.monotonic() - started)
        phase("files: 50 MB image and 200-page PDF through the app", started)
        results["files"] = files.run(procs, settings.env(databases[LARGE.name]), instance)
        results["phase_seconds"]["files"] = round(time.monotonic() - started)
        phase("several machines: 2 app servers, 3 workers, PostgreSQL, S3, Redis", started)
        from bench.several_machines import run_several_machines

        results["several_machines"] = run_several_machines(
            proofs=2, notifications=1000, progress=lambda line: phase(f"  {line}", started)
        )
        results["phase_seconds"]["several_machines"] = round(time.monotonic() - started)
        results["machine"]["load_end"] = os.getloadavg()
        results["seconds"] = round(time.monotonic() - started)
        path = report.write(results, stamp)
        phase(f"written {path.relative_to(ROOT)} and docs/performance.md", started)
        ok = True
    finally:
        signal.alarm(0)
        procs.stop_all()
        for app in apps.values():
            app.extensions["db_engine"].dispose()
        for database in created:
            try:
                seed.drop_database(database)
            except Exception as exc:  # noqa: BLE001 - report, and go on dropping the others
                print(f"could not drop database {database}: {exc}", file=sys.stderr)
        if ok:
            shutil.rmtree(instance, ignore_errors=True)
        else:
            print(f"bench failed; logs kept in {instance / 'logs'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
