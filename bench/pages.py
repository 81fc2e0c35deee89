"""The pages under load: log in, check that each page answers with its content, count its SQL
queries in-process, then wrk at 16 connections against gunicorn, with /healthz of the same
server as the ceiling."""

from __future__ import annotations

import json
import re
import statistics
import subprocess
import time
from dataclasses import dataclass
from typing import Any

import requests
from flask import Flask
from sqlalchemy import event

from bench.procs import ROOT
from bench.rows import PASSWORD, customer_email, designer_email
from bench.studio import ADMIN_ID, BENCH_CUSTOMER_ID, BENCH_DESIGNER_ID

LUA = ROOT / "bench" / "wrk.lua"
CONNECTIONS = 16


@dataclass(frozen=True)
class Page:
    key: str
    label: str
    path: str
    who: str | None  # designer, admin, customer, or None (no login)
    expect: str  # text the page must show, checked before the load


def pages(review_proof_id: int, share_token: str) -> list[Page]:
    return [
        Page("healthz", "/healthz (ceiling)", "/healthz", None, "ok"),
        Page("my_proofs", "My Proofs", "/proofs", "designer", "My Proofs"),
        Page(
            "my_proofs_status",
            "My Proofs, by status",
            "/proofs?status=changes_requested",
            "designer",
            "Changes requested",
        ),
        Page(
            "my_proofs_customer",
            "My Proofs, by customer",
            f"/proofs?customer={BENCH_CUSTOMER_ID}",
            "designer",
            "Customer:",
        ),
        Page("portal", "Customer portal list", "/portal", "customer", "Your proofs"),
        Page(
            "review", "Review page (staff)", f"/proofs/{review_proof_id}", "designer", "Version 4"
        ),
        Page("share", "Share-link page", f"/s/{share_token}", None, "Your decision"),
        Page(
            "notifications",
            "Admin → Notifications, failed",
            "/admin/notifications?status=failed",
            "admin",
            "Temporary failure",
        ),
        Page("users", "Admin → Users", "/admin/users", "admin", "designer1@studio"),
    ]


def prepare_accounts(app: Flask, share_proof_id: int) -> str:
    """Give the benchmarked customer a login through the app's own services (an invitation,
    accepted); the share token of the measured share link."""
    from proofdesk.accounts.models import User
    from proofdesk.customer_login import invites
    from proofdesk.customer_login.links import INVITE
    from proofdesk.customers.models import Customer
    from proofdesk.db import get_session
    from proofdesk.review.models import ShareLink
    from proofdesk.review.services import share_token
    from proofdesk.tokens import TokenSettings, token_of

    with app.app_context():
        session = get_session()
        customer = session.get(Customer, BENCH_CUSTOMER_ID)
        admin = session.get(User, ADMIN_ID)
        assert customer is not None and admin is not None
        settings = TokenSettings.from_config(app.config)
        invite = invites.invite(session, customer=customer, by=admin, settings=settings, ip=None)
        invites.accept_invite(
            session, token=token_of(settings, INVITE, invite.nonce), password=PASSWORD, ip=None
        )
        session.commit()
        link = session.get(ShareLink, share_proof_id)
        assert link is not None
        return share_token(link)


def login(base: str, who: str) -> str:
    """Log in like a browser; the Cookie header that carries the session."""
    path, email = {
        "designer": ("/login", designer_email(BENCH_DESIGNER_ID)),
        "admin": ("/login", designer_email(ADMIN_ID)),
        "customer": ("/portal/login", customer_email(BENCH_CUSTOMER_ID)),
    }[who]
    browser = requests.Session()
    form = browser.get(base + path, timeout=30).text
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form)
    assert match, f"no CSRF token on {path}"
    answer = browser.post(
        base + path,
        data={"email": email, "password": PASSWORD, "csrf_token": match.group(1)},
        allow_redirects=False,
        timeout=30,
    )
    if answer.status_code != 302 or "session" not in browser.cookies:
        raise RuntimeError(f"logging in as {who} failed: {answer.status_code}")
    return f"session={browser.cookies['session']}"


def check(base: str, page: Page, cookie: str | None) -> None:
    answer = requests.get(
        base + page.path,
        headers={"Cookie": cookie} if cookie else {},
        allow_redirects=False,
        timeout=60,
    )
    if answer.status_code != 200 or page.expect not in answer.text:
        raise RuntimeError(
            f"{page.label} ({page.path}) answered {answer.status_code} without {page.expect!r}"
        )


def in_process(
    app: Flask, all_pages: list[Page], cookies: dict[str, str]
) -> dict[str, dict[str, float]]:
    """Per page, counted in this process on the same database: the SQL statements of one
    request (the third, when per-process caches are warm), and the CPU time of a request
    (the mean of 10), which the machine's other load hardly changes."""
    seen: list[str] = []

    def _count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    engine = app.extensions["db_engine"]
    client = app.test_client(use_cookies=False)
    queries, cpu_ms = {}, {}
    for page in all_pages:
        headers = {"Cookie": cookies[page.who]} if page.who else {}
        event.listen(engine, "before_cursor_execute", _count)
        try:
            for _ in range(3):
                seen.clear()
                answer = client.get(page.path, headers=headers)
                assert answer.status_code == 200, (page.path, answer.status_code)
        finally:
            event.remove(engine, "before_cursor_execute", _count)
        queries[page.key] = len(seen)
        started = time.process_time()
        for _ in range(10):
            client.get(page.path, headers=headers)
        cpu_ms[page.key] = round((time.process_time() - started) * 100, 2)
    return {"queries": queries, "cpu_ms": cpu_ms}


def wrk(url: str, cookie: str | None, seconds: int) -> dict[str, float]:
    """One wrk run; requests per second and latency percentiles in ms."""
    done = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{CONNECTIONS}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(LUA),
            url,
            "--",
            cookie or "",
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=True,
    )
    line = [x for x in done.stdout.splitlines() if x.startswith("{")][-1]
    raw = json.loads(line)
    errors = {kind: count for kind, count in raw["errors"].items() if count}
    return {
        "rps": round(raw["requests"] / (raw["duration_us"] / 1e6), 1),
        "p50_ms": raw["latency_us"]["p50"] / 1000,
        "p95_ms": raw["latency_us"]["p95"] / 1000,
        "p99_ms": raw["latency_us"]["p99"] / 1000,
        "requests": raw["requests"],
        "errors": sum(errors.values()),
        "error_kinds": errors,
    }


def _combine(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Several runs of one page as one: the mean of each figure, the runs kept."""
    combined: dict[str, Any] = {
        key: round(statistics.mean(r[key] for r in runs), 2)
        for key in ("rps", "p50_ms", "p95_ms", "p99_ms")
    }
    combined["errors"] = sum(r["errors"] for r in runs)
    combined["runs"] = runs
    return combined


def load(
    servers: dict[str, str],
    page_lists: dict[str, list[Page]],
    cookies: dict[str, dict[str, str]],
    *,
    seconds: int,
    rounds: int = 2,
    warmup: int = 1,
) -> dict[str, dict[str, Any]]:
    """Every page on every server, `rounds` times, the sizes interleaved page by page and in
    turn first and second (A B B A); before each run, /healthz of the same server, so that a
    page's share of the ceiling compares runs a few seconds apart on a machine whose other
    load changes by the minute."""
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {size: {"healthz": []} for size in servers}
    count = len(next(iter(page_lists.values())))
    for index in range(1, count):  # the first page is /healthz itself
        for round_ in range(rounds):
            sizes = list(servers) if round_ % 2 == 0 else list(reversed(servers))
            for size in sizes:
                page = page_lists[size][index]
                cookie = cookies[size].get(page.who) if page.who else None
                base = servers[size]
                ceiling = wrk(base + "/healthz", None, seconds)
                wrk(base + page.path, cookie, warmup)
                run = wrk(base + page.path, cookie, seconds)
                run["ceiling_rps"] = ceiling["rps"]
                runs[size]["healthz"].append(ceiling)
                runs[size].setdefault(page.key, []).append(run)
                print(
                    f"  {size:>5} {page.label:<32} {run['rps']:>7.0f} req/s "
                    f"({100 * run['rps'] / ceiling['rps']:4.1f}% of {ceiling['rps']:.0f})  "
                    f"p50 {run['p50_ms']:6.1f} ms  p95 {run['p95_ms']:6.1f} ms  p99 "
                    f"{run['p99_ms']:6.1f} ms  errors {run['error_kinds'] or 0}",
                    flush=True,
                )
    results: dict[str, dict[str, Any]] = {}
    for size, by_page in runs.items():
        results[size] = {key: _combine(page_runs) for key, page_runs in by_page.items()}
        for key, page_runs in by_page.items():
            if key != "healthz":
                results[size][key]["share_of_ceiling"] = round(
                    statistics.mean(r["rps"] / r["ceiling_rps"] for r in page_runs), 3
                )
    return results
