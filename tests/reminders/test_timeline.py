"""Each email about a proof has a delivery timeline on the proof page: queued → sent (with the
server's reply) → opened (the first visit through that email's own link) → commented →
decided; "we reminded you twice, on these days, and you opened it once" is provable."""

from __future__ import annotations

import datetime as dt
import re

from proofdesk.worker import run_once
from tests.conftest import login, png_bytes
from tests.designer_notifications.test_emails import comment, decide
from tests.mailserver import text_and_html
from tests.proofs.test_views import upload

LINK = re.compile(r"https://proofs\.example\.test(/s/[A-Za-z0-9_-]+)\?n=([A-Za-z0-9_-]+)")


def timeline_of(page: str) -> list[list[str]]:
    """The proof page's timelines, each as its steps' labels."""
    return [
        re.findall(r"<strong>(\w+)</strong>", found)
        for found in re.findall(r'<div class="timeline"[^>]*>(.*?)</div>\s*</li>', page)
    ]


def test_each_email_shows_queued_sent_opened_commented_decided(app, client, factory, server, clock):
    designer = factory.user()
    login(client, designer)
    response = upload(
        client, factory.customer().id, png_bytes(), title="Van wrap", notify="y", due_date=""
    )
    proof_id = int(response.headers["Location"].rsplit("/", 1)[1])
    run_once(app)
    [message] = server.inbox.wait_for(1)
    text, html = text_and_html(message)
    path, token = LINK.search(text).groups()
    assert f"?n={token}" in html  # each email's link has its own token; no tracking pixel
    assert "<img" not in html
    page = client.get(f"/proofs/{proof_id}").get_data(as_text=True)
    assert timeline_of(page) == [["Queued", "Sent"]]
    assert "250 2.0.0 Ok: queued" in page  # the server's reply
    visitor = app.test_client()
    clock.advance(minutes=30)
    assert visitor.get(f"{path}?n={token}").status_code == 200
    clock.advance(minutes=5)
    visitor.get(f"{path}?n={token}")  # the first visit counts
    comment(visitor, path, "Bigger logo")
    decide(visitor, path, "approved")
    page = client.get(f"/proofs/{proof_id}").get_data(as_text=True)
    assert timeline_of(page) == [["Queued", "Sent", "Opened", "Commented", "Decided"]]
    opened = re.search(r"<strong>Opened</strong> <time datetime=\"([^\"]+)\"", page).group(1)
    assert opened == "2026-12-07T10:30:00+00:00"


def test_reminders_twice_opened_once(app, client, factory, server, clock):
    login(client, factory.user())
    response = upload(
        client, factory.customer().id, png_bytes(), title="Van wrap", due_date="2026-12-10"
    )
    proof_id = int(response.headers["Location"].rsplit("/", 1)[1])
    for day in (8, 10):
        clock.now = dt.datetime(2026, 12, day, 8, 0, tzinfo=dt.UTC)
        run_once(app)
    first, second = server.inbox.wait_for(2)
    path, token = LINK.search(text_and_html(second)[0]).groups()
    clock.advance(hours=2)
    app.test_client().get(f"{path}?n={token}")
    app.test_client().get(f"{path}?n=not-a-token-of-any-email")
    login(client, factory.user(role="admin"))
    page = client.get(f"/proofs/{proof_id}").get_data(as_text=True)
    # Newest first: the second reminder was opened, the first was not; the third is ahead.
    assert timeline_of(page) == [
        ["Queued", "Scheduled"],
        ["Queued", "Sent", "Opened"],
        ["Queued", "Sent"],
    ]
    assert page.count("Reminder") >= 3
