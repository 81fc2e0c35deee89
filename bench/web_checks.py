"""The browser's side of the several-machines check (bench/several_machines.py): each step
talks to the app servers over HTTP with a cookie jar and the forms' CSRF tokens, as a browser
would, and raises CheckFailed saying what a person would have seen go wrong."""

from __future__ import annotations

import io
import re
import time
from typing import Any

import requests
import sqlalchemy as sa
from PIL import Image
from sqlalchemy.orm import Session, sessionmaker

from bench.cluster import expect

PASSWORD = "correct horse battery"
PAGE_COLOURS = [(204, 51, 51), (51, 170, 85), (51, 85, 204)]  # pages 1, 2, 3 of each PDF
LOGIN_LIMIT = 10  # accounts.views.LOGIN_LIMIT: 10 failures per 5 minutes
# Seconds a request may take before the check calls it hung: generous, as the machine may be
# busy (speed is measured and reported, never asserted).
HTTP_LIMIT = 120


def form_token(http: requests.Session, url: str, prefix: str = "") -> str:
    page = http.get(url, timeout=HTTP_LIMIT)
    expect(page.status_code == 200, f"GET {url} answered {page.status_code}")
    name = f"{prefix}-csrf_token" if prefix else "csrf_token"
    match = re.search(rf'name="{name}"[^>]* value="([^"]+)"', page.text)
    expect(match, f"no {name} on {url}")
    assert match is not None
    return match.group(1)


def log_in(base: str, email: str) -> requests.Session:
    http = requests.Session()
    reply = http.post(
        f"{base}/login",
        allow_redirects=False,
        timeout=HTTP_LIMIT,
        data={
            "email": email,
            "password": PASSWORD,
            "csrf_token": form_token(http, f"{base}/login"),
        },
    )
    expect(reply.status_code == 302, f"logging in on {base} answered {reply.status_code}")
    return http


def three_page_pdf() -> bytes:
    out = io.BytesIO()
    pages = [Image.new("RGB", (300, 420), colour) for colour in PAGE_COLOURS]
    pages[0].save(out, "PDF", save_all=True, append_images=pages[1:], resolution=72)
    return out.getvalue()


def upload_proof(
    http: requests.Session, base: str, customer_id: int, artwork: bytes, *, title: str, notify: bool
) -> tuple[int, float]:
    data = {
        "csrf_token": form_token(http, f"{base}/proofs/new"),
        "customer_id": str(customer_id),
        "title": title,
    }
    if notify:
        data["notify"] = "y"
    started = time.monotonic()
    reply = http.post(
        f"{base}/proofs/new",
        data=data,
        allow_redirects=False,
        timeout=HTTP_LIMIT,
        files={"file": ("sign.pdf", artwork, "application/pdf")},
    )
    seconds = time.monotonic() - started
    expect(
        reply.status_code == 302,
        f"upload on {base} answered {reply.status_code}: {reply.text[:500]}",
    )
    match = re.fullmatch(r"/proofs/(\d+)", reply.headers["Location"])
    expect(match, f"upload went to {reply.headers['Location']}")
    assert match is not None
    return int(match.group(1)), seconds


def page_colour(reply: requests.Response, what: str) -> tuple[int, int, int]:
    expect(
        reply.status_code == 200 and reply.headers["Content-Type"] == "image/jpeg",
        f"{what} answered {reply.status_code} {reply.headers.get('Content-Type')}",
    )
    with Image.open(io.BytesIO(reply.content)) as image:
        pixel = image.convert("RGB").getpixel((image.width // 2, image.height // 2))
    return pixel  # type: ignore[return-value]


def same_colour(a: tuple[int, int, int], b: tuple[int, int, int]) -> bool:
    return all(abs(x - y) <= 12 for x, y in zip(a, b, strict=True))


def review_elsewhere(
    http: requests.Session, base: str, proof_id: int, artwork: bytes
) -> dict[str, Any]:
    """My Proofs with its thumbnail, the review page and every page image and the
    original, all from the other app server."""
    listed = http.get(f"{base}/proofs", timeout=HTTP_LIMIT)
    thumb = f"/proofs/{proof_id}/v/1/thumbs/1"
    expect(
        listed.url == f"{base}/proofs" and f'src="{thumb}"' in listed.text,
        f"My Proofs on {base} does not list proof {proof_id} with its thumbnail",
    )
    got = page_colour(http.get(f"{base}{thumb}", timeout=HTTP_LIMIT), f"{base}{thumb}")
    expect(same_colour(got, PAGE_COLOURS[0]), f"{base}{thumb} shows {got}, not page 1")
    started = time.monotonic()
    page = http.get(f"{base}/proofs/{proof_id}", timeout=HTTP_LIMIT)
    page_seconds = time.monotonic() - started
    expect(page.status_code == 200, f"the review page on {base} answered {page.status_code}")
    expect(
        "Page 3 of 3" in page.text and "Dana Designer" in page.text,
        f"the review page on {base} does not show the 3-page proof to its designer",
    )
    status = http.get(f"{base}/proofs/{proof_id}/v/1/status", timeout=HTTP_LIMIT).json()
    by = "worker" if 3 in status["rendered"] else "on demand"
    timings = {}
    for number, colour in enumerate(PAGE_COLOURS, 1):
        url = f"{base}/proofs/{proof_id}/v/1/pages/{number}"
        expect(url.removeprefix(base) in page.text, f"the review page does not show {url}")
        started = time.monotonic()
        got = page_colour(http.get(url, timeout=HTTP_LIMIT), url)
        timings[number] = time.monotonic() - started
        expect(same_colour(got, colour), f"{url} shows {got}, not page {number}'s {colour}")
    original = http.get(f"{base}/proofs/{proof_id}/v/1/file", timeout=HTTP_LIMIT)
    expect(original.content == artwork, f"the original from {base} is not the uploaded PDF")
    return {"page_seconds": page_seconds, "page_3_seconds": timings[3], "page_3_rendered_by": by}


def share_link_on_both(http: requests.Session, one: str, two: str, proof_id: int) -> None:
    """The share link opens the proof on both servers; a comment made through one shows on
    the other."""
    page = http.get(f"{two}/proofs/{proof_id}", timeout=HTTP_LIMIT).text
    match = re.search(r'id="share-url" type="text" readonly value="[^"]*(/s/[\w-]+)"', page)
    expect(match, "the proof page shows no share link")
    assert match is not None
    path = match.group(1)
    for base in (one, two):
        reviewer = requests.Session()
        shown = reviewer.get(f"{base}{path}", timeout=HTTP_LIMIT)
        expect(
            shown.status_code == 200 and "Page 3 of 3" in shown.text,
            f"the share link on {base} answered {shown.status_code}",
        )
        got = page_colour(
            reviewer.get(f"{base}{path}/v/1/pages/3", timeout=HTTP_LIMIT),
            f"page 3 by share link on {base}",
        )
        expect(same_colour(got, PAGE_COLOURS[2]), f"page 3 by share link on {base} is {got}")
    reviewer = requests.Session()
    reply = reviewer.post(
        f"{two}{path}/comments",
        allow_redirects=False,
        timeout=HTTP_LIMIT,
        data={
            "comment-csrf_token": form_token(reviewer, f"{one}{path}", "comment"),
            "comment-name": "Bea Baker",
            "comment-body": "Make the logo on page 3 bigger.",
            "version": "1",
            "page": "3",
            "x": "0.5",
            "y": "0.25",
        },
    )
    expect(reply.status_code == 302, f"a comment on {two} answered {reply.status_code}")
    staff = http.get(f"{one}/proofs/{proof_id}", timeout=HTTP_LIMIT).text
    expect(
        "Make the logo on page 3 bigger." in staff and "Bea Baker" in staff,
        "a comment made through app server 2 is missing on app server 1",
    )


def session_ends_everywhere(
    http: requests.Session, one: str, two: str, db: sessionmaker[Session]
) -> None:
    """The session started on app server 1 works on 2, as one server-side row; logging out
    on 2 ends it on 1."""
    from proofdesk.accounts.models import UserSession

    def rows() -> int:
        with db() as session:
            return session.scalar(sa.select(sa.func.count()).select_from(UserSession)) or 0

    other = requests.Session()
    other.cookies.update(http.cookies)
    expect(
        other.get(f"{one}/proofs", timeout=HTTP_LIMIT).url == f"{one}/proofs",
        "the session stopped working on app server 1",
    )
    expect(rows() == 1, f"{rows()} session rows for one login used on two servers")
    reply = http.post(
        f"{two}/logout",
        data={"csrf_token": form_token(http, f"{two}/proofs")},
        allow_redirects=False,
        timeout=HTTP_LIMIT,
    )
    expect(reply.status_code == 302, f"logging out on {two} answered {reply.status_code}")
    after = other.get(f"{one}/proofs", allow_redirects=False, timeout=HTTP_LIMIT)
    expect(
        after.status_code == 302 and "/login" in after.headers["Location"],
        "app server 1 still accepts a session ended on app server 2",
    )
    expect(rows() == 0, "logging out left the session row behind")


def throttle_spans_servers(
    one: str, two: str, email: str, db: sessionmaker[Session], redis_url: str
) -> None:
    """Ten failed logins spread over both servers lock the account on both (Redis counts)."""
    import redis

    from proofdesk.activity import Activity, ActivityKind

    http = requests.Session()
    token = form_token(http, f"{one}/login")  # one form, posted to both servers
    for n in range(LOGIN_LIMIT):
        base = (one, two)[n % 2]
        reply = http.post(
            f"{base}/login",
            timeout=HTTP_LIMIT,
            data={"email": email, "password": "wrong password", "csrf_token": token},
        )
        expect(
            reply.status_code == 200 and "Email or password is not right." in reply.text,
            f"failed login {n + 1} on {base} answered {reply.status_code}",
        )
    for base in (one, two):
        reply = http.post(
            f"{base}/login",
            allow_redirects=False,
            timeout=HTTP_LIMIT,
            data={"email": email, "password": PASSWORD, "csrf_token": token},
        )
        expect(
            reply.status_code == 429 and "Too many attempts" in reply.text,
            f"after {LOGIN_LIMIT} failures over both servers, {base} answered "
            f"{reply.status_code} to the right password",
        )
    with db() as session:
        failed = session.scalar(
            sa.select(sa.func.count())
            .select_from(Activity)
            .where(Activity.kind == ActivityKind.LOGIN_FAILED)
        )
    expect(failed == LOGIN_LIMIT, f"{failed} failed logins recorded, not {LOGIN_LIMIT}")
    store = redis.Redis.from_url(redis_url)
    try:
        expect(store.keys(f"*login-account:{email}*"), "no login counter in Redis")
    finally:
        store.close()
