"""What is new for the designer, in a real browser at desktop and phone size: the customer
opens the proof from its email, comments and requests changes; My Proofs marks the proof (and
counts in all) until the designer opens it, and the proof page shows the email's delivery
timeline."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, expect

from proofdesk.proofs.emails import notify_customer
from tests.browser.conftest import LiveServer, Watcher
from tests.browser.test_customer_portal import open_page
from tests.browser.test_review_flow import DESKTOP, PHONE, Device, log_in, open_menu_link
from tests.conftest import Factory, pdf_bytes
from tests.mailserver import mailbox

pytestmark = pytest.mark.browser


def emailed_link(folder: Path, earlier: int, timeout: float = 120) -> str:
    """The review link of the email the worker writes after the `earlier` ones (it sends
    within a second; the limit only catches a hang)."""
    deadline = time.monotonic() + timeout
    while len(messages := mailbox(folder)) <= earlier:
        assert time.monotonic() < deadline, "the worker sent no email"
        time.sleep(0.1)
    text = messages[earlier].get_body(preferencelist=("plain",)).get_content()
    found = re.search(r"http://127\.0\.0\.1:\d+(/s/[\w-]+\?n=[\w-]+)", text)
    assert found, text
    return found.group(1)


@pytest.mark.parametrize("device", [DESKTOP, PHONE], ids=lambda d: d.name)
def test_the_designer_sees_what_is_new_and_the_emails_timeline(
    browser: Browser,
    studio: LiveServer,
    watcher: Watcher,
    contexts: list[BrowserContext],
    device: Device,
) -> None:
    app = studio.app
    folder = Path(app.config["MAIL_MAILBOX_DIR"])
    earlier = len(mailbox(folder))
    with app.extensions["db_sessionmaker"]() as session:
        factory = Factory(app, session)
        designer = factory.user(name="Dana Designer", email="dana@studio.test")
        customer = factory.customer(name="Mia Moreau", email="mia@client.test")
        proof = factory.proof(designer, customer, title="Spring menu board", data=pdf_bytes(2))
        factory.proof(designer, customer, title="Window vinyl")
        with app.app_context():
            notify_customer(
                session, proof=proof, version_number=1, custom_message=None, config=app.config
            )
        session.commit()
        proof_id = proof.id
    link = emailed_link(folder, earlier)

    review = open_page(browser, studio, device, watcher, contexts)
    review.goto(link)
    decide = review.get_by_role("region", name="Your decision")
    decide.get_by_label("Your name").fill("Mia Moreau")
    decide.get_by_label("What should change?").fill("Please make the prices bigger.")
    decide.get_by_role("button", name="Request changes").click()
    expect(review.get_by_role("status")).to_have_text(
        "Thank you: your change request is sent to the designer."
    )

    page = open_page(browser, studio, device, watcher, contexts)
    log_in(page, "dana@studio.test")
    expect(page.locator(".unread-total")).to_have_text("2 new")
    row = page.get_by_role("row").filter(has_text="Spring menu board")
    expect(row.locator(".mark-new")).to_have_text("1 new decision · 1 new comment")
    expect(page.get_by_role("row").filter(has_text="Window vinyl").locator(".mark")).to_have_count(
        0
    )
    device.look(page, "my-proofs-new")

    row.get_by_role("link", name="Spring menu board").click()
    timeline = page.get_by_role("group", name="Delivery timeline")
    expect(timeline.locator("strong")).to_have_text(
        ["Queued", "Sent", "Opened", "Commented", "Decided"]
    )
    expect(page.get_by_role("region", name="Due date and reminders")).to_be_visible()
    timeline.scroll_into_view_if_needed()
    device.look(page, "proof-timeline")
    assert page.url.endswith(f"/proofs/{proof_id}")

    open_menu_link(page, "My Proofs")
    expect(page.locator(".mark-new")).to_have_count(0)  # opened: nothing is new any more
