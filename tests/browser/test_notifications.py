"""The rollout guide's manual checks in a real browser, at desktop and at phone size, against a
real SMTP server (aiosmtpd, STARTTLS and AUTH): a designer's own SMTP settings, "Notify
customer now" from the upload form, and Send Test Email failing then fixed."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from proofdesk.accounts.models import User
from proofdesk.customers.models import Customer
from proofdesk.web import limiter
from tests.browser.conftest import LiveServer, Watcher, start_live_server
from tests.browser.test_customer_portal import open_page
from tests.browser.test_review_flow import DESKTOP, PHONE, Device, log_in, open_menu_link
from tests.conftest import Factory, empty_tables, pdf_bytes
from tests.mailserver import PASSWORD, USERNAME, SmtpServer, start_server, text_and_html

pytestmark = pytest.mark.browser

WRONG_PASSWORD = "not-the-smtp-password"


@dataclass
class MailSetup:
    live: LiveServer
    smtp: SmtpServer


@pytest.fixture(scope="module")
def mail_setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MailSetup]:
    """A STARTTLS+AUTH SMTP server on 127.0.0.1, and Proofdesk allowed to reach it and to
    trust its self-signed certificate."""
    smtp = start_server(tmp_path_factory.mktemp("smtp"), mode="starttls")
    try:
        live = start_live_server(
            tmp_path_factory.mktemp("notify"),
            SMTP_ALLOW_PRIVATE_HOSTS="true",
            SMTP_CA_FILE=smtp.cafile,
            SMTP_TEST_TIMEOUT="5",
            SMTP_TIMEOUT="5",
        )
    except BaseException:
        smtp.stop()
        raise
    yield MailSetup(live, smtp)
    live.close()
    smtp.stop()


@dataclass
class Studio:
    live: LiveServer
    smtp: SmtpServer
    admin: User
    designer: User
    customer: Customer

    def received(self) -> list[EmailMessage]:
        with self.smtp.inbox.lock:
            return list(self.smtp.inbox.messages)


@pytest.fixture
def studio(mail_setup: MailSetup) -> Iterator[Studio]:
    live = mail_setup.live
    empty_tables(live.app.extensions["db_engine"])
    limiter.reset()
    session = live.app.extensions["db_sessionmaker"]()
    factory = Factory(live.app, session)
    admin = factory.user("admin", name="Ada Admin", email="ada@studio.test")
    designer = factory.user("designer", name="Dana Designer", email="dana@studio.test")
    customer = factory.customer(
        name="Mia Moreau", email="mia@moreau-bakery.test", company="Moreau Bakery"
    )
    yield Studio(live, mail_setup.smtp, admin, designer, customer)
    session.close()
    live.render_pages()


def open_email_settings(page: Page) -> None:
    """My Proofs → the "Email to customers" box → Email settings."""
    open_menu_link(page, "My Proofs")
    page.locator(".email-box summary").get_by_role("link", name="Email settings").click()
    expect(page.get_by_role("heading", name="Email settings", exact=True)).to_be_visible()


def fill_smtp_settings(page: Page, smtp: SmtpServer, *, password: str) -> None:
    settings = page.get_by_role("region", name="Email settings")
    settings.get_by_label("SMTP server").fill("localhost")
    settings.get_by_label("Port").fill(str(smtp.port))
    settings.get_by_label("Security").select_option(label="STARTTLS (usually port 587)")
    settings.get_by_label("Username").fill(USERNAME)
    settings.get_by_label("Password", exact=True).fill(password)
    settings.get_by_label("From name").fill("Studio Nord")
    settings.get_by_label("From address").fill("hello@studio-nord.test")
    settings.get_by_label("Reply-To").fill("desk@studio-nord.test")


def save_smtp_settings(page: Page) -> None:
    settings = page.get_by_role("region", name="Email settings")
    settings.get_by_role("button", name="Save email settings").click()
    expect(page.get_by_role("status")).to_have_text(
        "Email settings saved. Send a test email to check them."
    )
    settings = page.get_by_role("region", name="Email settings")
    expect(settings.get_by_role("heading")).to_contain_text("Not tested yet")
    expect(settings.get_by_text("A password is saved.")).to_be_visible()
    expect(settings.get_by_label("Password", exact=True)).to_have_value("")


def reload_until(page: Page, locator_text: tuple[str, str], timeout: float = 15) -> None:
    """Reload until the named region shows the text, as a person waiting for the worker."""
    region, text = locator_text
    deadline = time.monotonic() + timeout
    while not page.get_by_role("region", name=region).get_by_text(text, exact=True).count():
        assert time.monotonic() < deadline, f"{region} never showed {text!r}"
        page.wait_for_timeout(300)
        page.reload()


@pytest.mark.parametrize("device", [DESKTOP, PHONE], ids=lambda d: d.name)
def test_notify_customer_now_goes_through_the_designers_smtp_server(
    device: Device,
    browser: Browser,
    studio: Studio,
    watcher: Watcher,
    contexts: list[BrowserContext],
    tmp_path: Path,
) -> None:
    page = open_page(browser, studio.live, device, watcher, contexts)
    log_in(page, "dana@studio.test")
    expect(page.locator(".email-box summary")).to_contain_text(
        "Email to customers: the default mailer"
    )

    # The designer's own server, password included, through the form.
    open_email_settings(page)
    expect(
        page.get_by_role("region", name="Email settings").get_by_role("heading")
    ).to_contain_text("Default mailer")
    fill_smtp_settings(page, studio.smtp, password=PASSWORD)
    save_smtp_settings(page)
    device.look(page, "email-settings")

    # Upload with "Notify customer now" ticked.
    open_menu_link(page, "My Proofs")
    expect(page.locator(".email-box summary")).to_contain_text(
        "Email to customers: your SMTP server localhost"
    )
    page.get_by_role("link", name="Upload a proof").first.click()
    page.get_by_label("Customer", exact=True).select_option(label="Mia Moreau (Moreau Bakery)")
    page.get_by_label("Title").fill("Spring menu board")
    artwork = tmp_path / "menu-board.pdf"
    artwork.write_bytes(pdf_bytes(2))
    page.get_by_label("Artwork file").set_input_files(artwork)
    notify = page.get_by_label("Notify customer now")
    expect(notify).not_to_be_checked()
    notify.check()
    device.look(page, "upload-notify")
    received_before = len(studio.received())
    page.get_by_role("button", name="Upload proof").click()
    expect(page).to_have_url(re.compile(r"/proofs/\d+$"))
    expect(page.get_by_role("status")).to_have_text(
        "Proof uploaded; Mia Moreau gets an email in a moment."
    )
    proof_url = page.url
    notifications = page.get_by_role("region", name="Notifications")
    expect(notifications.get_by_role("listitem")).to_have_count(1)
    expect(notifications).to_contain_text("Proof ready (v1) to mia@moreau-bakery.test")

    # The email reaches the SMTP server, from the designer's address.
    message = studio.smtp.inbox.wait_for(received_before + 1)[received_before]
    assert message["To"] == "mia@moreau-bakery.test"
    assert message["From"] == "Studio Nord <hello@studio-nord.test>"
    assert message["Reply-To"] == "desk@studio-nord.test"
    assert message["Subject"] == "Proof ready for review: Spring menu board (version 1)"
    text, html = text_and_html(message)
    assert "Hello Mia Moreau," in text
    # The share link, with this email's own token (its first visit marks the email opened).
    match = re.search(rf"{re.escape(studio.live.url)}/s/[\w-]+\?n=[\w-]+", text)
    assert match, text
    link = match.group(0)
    assert f'href="{link}"' in html

    # Its link opens the proof for someone with no session at all.
    customer = open_page(browser, studio.live, device, watcher, contexts)
    customer.goto(link)
    expect(customer.get_by_role("heading", name="Spring menu board")).to_be_visible()
    expect(customer.get_by_role("img", name="Page 1 of 2, version 1")).to_be_visible()
    expect(customer.get_by_role("region", name="Your decision")).to_be_visible()

    # The proof page lists the email as sent, through the designer's server.
    page.goto(proof_url)
    reload_until(page, ("Notifications", "Sent"))
    notifications = page.get_by_role("region", name="Notifications")
    expect(notifications.get_by_role("listitem")).to_have_count(1)
    expect(notifications.get_by_role("listitem")).to_contain_text("via designer")
    # Its status is no longer "Queued"; its timeline says when it was queued, sent, opened.
    expect(notifications.locator(".badge", has_text="Queued")).to_have_count(0)
    timeline = notifications.get_by_role("group", name="Delivery timeline")
    expect(timeline.locator("strong")).to_have_text(["Queued", "Sent", "Opened"])
    notifications.scroll_into_view_if_needed()
    device.look(page, "proof-notifications")

    # The admin sees it in Admin → Notifications, and the designer's SMTP as working.
    admin = open_page(browser, studio.live, device, watcher, contexts)
    log_in(admin, "ada@studio.test")
    open_menu_link(admin, "Admin → Notifications")
    expect(admin.get_by_role("heading", name="Admin → Notifications")).to_be_visible()
    row = admin.get_by_role("row").filter(has_text="mia@moreau-bakery.test")
    expect(row).to_have_count(1)
    expect(row.locator(".badge")).to_have_text("Sent")
    expect(row).to_contain_text("Proof ready")
    expect(row).to_contain_text("Proof ready for review: Spring menu board (version 1)")
    expect(row).to_contain_text("designer")
    expect(row).to_contain_text("1 attempt")
    device.look(admin, "notifications")
    open_menu_link(admin, "Admin → Users")
    expect(
        admin.get_by_role("row").filter(has_text="dana@studio.test").locator(".badge")
    ).to_have_text("Working")


@pytest.mark.parametrize("device", [DESKTOP, PHONE], ids=lambda d: d.name)
def test_failing_test_email_warns_designer_and_admin_until_fixed(
    device: Device,
    browser: Browser,
    studio: Studio,
    watcher: Watcher,
    contexts: list[BrowserContext],
) -> None:
    page = open_page(browser, studio.live, device, watcher, contexts)
    log_in(page, "dana@studio.test")
    open_email_settings(page)
    fill_smtp_settings(page, studio.smtp, password=WRONG_PASSWORD)
    save_smtp_settings(page)

    # Send Test Email: the server's 535 shows at once, on the same page.
    received_before = len(studio.received())
    test_box = page.get_by_role("region", name="Send Test Email")
    expect(test_box.get_by_label("Send a test to")).to_have_value("dana@studio.test")
    test_box.get_by_role("button", name="Send Test Email").click()
    test_box = page.get_by_role("region", name="Send Test Email")
    expect(test_box.get_by_role("alert")).to_have_text(
        re.compile(r"^Authentication failed\. The server said: 535 ")
    )
    expect(test_box.get_by_role("alert")).to_be_in_viewport()  # no scrolling to find it
    settings = page.get_by_role("region", name="Email settings")
    expect(settings.get_by_role("heading")).to_contain_text("Failing since")
    expect(settings).to_contain_text("Authentication failed: 535")
    # The saved settings are still in the form (Save must not clear them).
    expect(settings.get_by_label("SMTP server")).to_have_value("localhost")
    expect(settings.get_by_label("Port")).to_have_value(str(studio.smtp.port))
    expect(settings.get_by_label("From address")).to_have_value("hello@studio-nord.test")
    device.look(page, "smtp-test-failed")
    assert len(studio.received()) == received_before

    # My Proofs warns the designer, with the server's reply and a way to fix it.
    open_menu_link(page, "My Proofs")
    warning = page.get_by_role("alert").filter(has_text="Your customer emails are failing")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("Authentication failed: 535")
    expect(page.locator(".email-box")).to_have_attribute("open", "")
    device.look(page, "smtp-failing")

    # The admin's user list shows the failing state; Edit → Send Test Email says the same.
    admin = open_page(browser, studio.live, device, watcher, contexts)
    log_in(admin, "ada@studio.test")
    open_menu_link(admin, "Admin → Users")
    row = admin.get_by_role("row").filter(has_text="dana@studio.test")
    expect(row.locator(".badge")).to_contain_text("Failing since")
    expect(row).to_contain_text("Authentication failed: 535")
    expect(
        admin.get_by_role("row").filter(has_text="ada@studio.test").locator(".badge")
    ).to_have_text("Default mailer")
    device.look(admin, "admin-users-smtp-failing")
    row.get_by_role("link", name="Edit").click()
    expect(admin.get_by_role("heading", name="Edit Dana Designer")).to_be_visible()
    test_box = admin.get_by_role("region", name="Send Test Email")
    expect(test_box.get_by_label("Send a test to")).to_have_value("ada@studio.test")
    test_box.get_by_role("button", name="Send Test Email").click()
    failed = admin.get_by_role("region", name="Send Test Email").get_by_role("alert")
    expect(failed).to_have_text(re.compile(r"^Authentication failed\. The server said: 535 "))
    expect(failed).to_be_in_viewport()
    # The rest of the page still shows what is saved: Save would change nothing.
    expect(admin.get_by_label("Active (can log in)")).to_be_checked()
    expect(
        admin.get_by_role("region", name="Email settings").get_by_label("SMTP server")
    ).to_have_value("localhost")
    device.look(admin, "admin-smtp-test-failed")
    assert len(studio.received()) == received_before

    # The designer puts the right password in and tests again from My Proofs.
    warning.get_by_role("link", name="Fix your email settings").click()
    expect(page.get_by_role("heading", name="Email settings", exact=True)).to_be_visible()
    page.get_by_role("region", name="Email settings").get_by_label("Password", exact=True).fill(
        PASSWORD
    )
    save_smtp_settings(page)
    open_menu_link(page, "My Proofs")
    email_box = page.locator(".email-box")
    email_box.locator("summary").click(position={"x": 8, "y": 8})
    expect(email_box.get_by_label("Send Test Email to")).to_have_value("dana@studio.test")
    email_box.get_by_role("button", name="Send Test Email").click()
    sent = page.get_by_role("region", name="Send Test Email").get_by_role("status")
    expect(sent).to_have_text(
        re.compile(
            r"^Test email sent to dana@studio\.test through your "
            r"SMTP server\. The server said: 250 "
        )
    )
    expect(sent).to_be_in_viewport()
    message = studio.smtp.inbox.wait_for(received_before + 1)[received_before]
    assert message["To"] == "dana@studio.test"
    assert message["Subject"] == "Proofdesk test email"
    assert "own SMTP server (localhost)" in text_and_html(message)[0]
    expect(
        page.get_by_role("region", name="Email settings").get_by_role("heading")
    ).to_contain_text("Working")

    open_menu_link(page, "My Proofs")
    expect(page.get_by_text("Your customer emails are failing")).to_have_count(0)
    expect(page.locator(".email-box")).not_to_have_attribute("open", "")
    device.look(page)
    open_menu_link(admin, "Admin → Users")
    row = admin.get_by_role("row").filter(has_text="dana@studio.test")
    expect(row.locator(".badge")).to_have_text("Working")
    expect(row).not_to_contain_text("Authentication failed")
    row.get_by_role("link", name="Edit").click()
    expect(
        admin.get_by_role("region", name="Email settings").get_by_role("heading")
    ).to_contain_text("Working")
