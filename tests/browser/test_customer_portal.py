"""Customer login in a real browser, at desktop and at phone size: an invitation from the
customer's page, the emailed link, the portal, an approval as the customer; and a forgotten
password reset by email."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from proofdesk.accounts.models import User
from proofdesk.customer_login import invites
from proofdesk.customer_login.links import INVITE
from proofdesk.customers.models import Customer
from proofdesk.proofs.models import Proof
from proofdesk.tokens import TokenSettings, token_of
from proofdesk.web import limiter
from tests.browser.conftest import LiveServer, Watcher, start_live_server
from tests.browser.test_review_flow import DESKTOP, PHONE, Device, log_in, open_menu_link
from tests.conftest import Factory, empty_tables, pdf_bytes
from tests.mailserver import mailbox, text_and_html

pytestmark = pytest.mark.browser

CUSTOMER_PASSWORD = "mia's own proof password"
NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture(scope="module")
def portal_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """Customer login switched on; mail goes to the development mailbox folder."""
    live = start_live_server(tmp_path_factory.mktemp("portal"), CUSTOMER_LOGIN_ENABLED="true")
    yield live
    live.close()


@dataclass
class Studio:
    live: LiveServer
    factory: Factory
    designer: User
    customer: Customer

    @property
    def mailbox(self) -> str:
        return str(self.live.app.config["MAIL_MAILBOX_DIR"])

    def mail_count(self) -> int:
        return len(mailbox(self.mailbox))

    def mailed_link(self, kind: str, *, after: int, timeout: float = 10) -> str:
        """The /portal/<kind>/… link in the first such mail to the customer after `after`
        mails, once the worker has sent it."""
        deadline = time.monotonic() + timeout
        while True:
            for message in mailbox(self.mailbox)[after:]:
                text, html = text_and_html(message)
                match = re.search(rf"{re.escape(self.live.url)}/portal/{kind}/[\w-]+", text)
                if message["To"] == self.customer.email and match:
                    assert f'href="{match.group(0)}"' in html
                    return match.group(0)
            assert time.monotonic() < deadline, f"no {kind} mail to {self.customer.email}"
            time.sleep(0.1)

    def give_login(self) -> None:
        """The customer has a login already (invited and accepted, without a browser)."""
        session = self.factory.session
        settings = TokenSettings.from_config(self.live.app.config)
        invite = invites.invite(
            session, customer=self.customer, by=self.designer, settings=settings, ip=None
        )
        session.commit()
        invites.accept_invite(
            session,
            token=token_of(settings, INVITE, invite.nonce),
            password=CUSTOMER_PASSWORD,
            ip=None,
        )
        session.commit()


@pytest.fixture
def studio(portal_server: LiveServer) -> Iterator[Studio]:
    """A fresh install with a designer and their customer."""
    empty_tables(portal_server.app.extensions["db_engine"])
    limiter.reset()
    session = portal_server.app.extensions["db_sessionmaker"]()
    factory = Factory(portal_server.app, session)
    designer = factory.user("designer", name="Dana Designer", email="dana@studio.test")
    customer = factory.customer(
        name="Mia Moreau", email="mia@moreau-bakery.test", company="Moreau Bakery"
    )
    yield Studio(portal_server, factory, designer, customer)
    session.close()
    portal_server.render_pages()


def open_page(
    browser: Browser,
    live: LiveServer,
    device: Device,
    watcher: Watcher,
    contexts: list[BrowserContext],
) -> Page:
    """A browser of its own: a person who shares no cookies with the others."""
    context = browser.new_context(base_url=live.url, **device.options)
    contexts.append(context)
    return watcher.watch(context.new_page())


def proof_for(studio: Studio, title: str) -> Proof:
    proof = studio.factory.proof(
        studio.designer, studio.customer, title=title, data=pdf_bytes(2), filename="artwork.pdf"
    )
    studio.live.render_pages()
    return proof


@pytest.mark.parametrize("device", [DESKTOP, PHONE], ids=lambda d: d.name)
def test_invited_customer_sets_a_password_and_approves_in_the_portal(
    device: Device,
    browser: Browser,
    studio: Studio,
    watcher: Watcher,
    contexts: list[BrowserContext],
) -> None:
    proof_for(studio, "Spring menu board")

    # The designer invites Mia from her customer page.
    staff = open_page(browser, studio.live, device, watcher, contexts)
    log_in(staff, "dana@studio.test")
    open_menu_link(staff, "Customers")
    staff.get_by_role("link", name="Mia Moreau").click()
    login_box = staff.get_by_role("region", name="Portal login")
    expect(login_box).to_contain_text("No login")
    expect(login_box).to_contain_text("Mia Moreau cannot log in yet.")
    sent_before = studio.mail_count()
    login_box.get_by_role("button", name="Send invitation").click()
    expect(staff.get_by_role("status")).to_have_text(
        "Invitation sent to mia@moreau-bakery.test. Any earlier invitation link no longer works."
    )
    expect(login_box).to_contain_text("Invited")
    expect(login_box).to_contain_text("An invitation is waiting to be accepted.")
    device.look(staff, "customer-invited")

    # Mia follows the emailed link in a browser of her own and chooses a password.
    link = studio.mailed_link("invite", after=sent_before)
    customer = open_page(browser, studio.live, device, watcher, contexts)
    customer.goto(link)
    expect(customer.get_by_role("heading", name="Welcome! Choose your password")).to_be_visible()
    device.look(customer, "portal-set-password")
    customer.get_by_label("New password").fill(CUSTOMER_PASSWORD)
    customer.get_by_role("button", name="Set password and log in").click()

    expect(customer).to_have_url(f"{studio.live.url}/portal")
    expect(customer.get_by_role("status")).to_have_text("Your password is set. Welcome!")
    expect(customer.get_by_role("heading", name="Your proofs")).to_be_visible()
    nav = customer.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Mia Moreau")).to_be_visible()
    expect(nav.get_by_role("link", name="Customers")).to_have_count(0)
    row = customer.get_by_role("row").filter(has_text="Spring menu board")
    expect(row.locator(".badge")).to_have_text("Awaiting your review")
    expect(row).to_contain_text("Dana Designer")
    expect(row).to_contain_text("v1")
    device.look(customer, "portal")

    # The proof, as Mia: she decides as herself, so there is no name to type.
    row.get_by_role("link", name="Spring menu board").click()
    expect(customer).to_have_url(re.compile(r"/portal/proofs/\d+$"))
    expect(customer.get_by_role("heading", name="Spring menu board")).to_be_visible()
    decide = customer.get_by_role("region", name="Your decision")
    expect(decide.get_by_label("Your name")).to_have_count(0)
    expect(customer.get_by_label("Your name")).to_have_count(0)
    expect(customer.get_by_role("img", name="Page 1 of 2, version 1")).to_be_visible()
    device.look(customer, "portal-proof")
    decide.get_by_role("button", name="Approve version 1").click()
    expect(customer.get_by_role("status")).to_have_text("Thank you: your approval is recorded.")
    expect(customer.locator(".heading .badge")).to_have_text("Approved")
    expect(customer.get_by_role("region", name="Comments").locator(".decisions")).to_contain_text(
        "Approved v1 by Mia Moreau"
    )
    device.look(customer, "portal-approved")

    # Back in the portal list, and at the studio, the proof is approved.
    open_menu_link(customer, "Your proofs")
    expect(
        customer.get_by_role("row").filter(has_text="Spring menu board").locator(".badge")
    ).to_have_text("Approved")
    open_menu_link(staff, "My Proofs")
    row = staff.get_by_role("row").filter(has_text="Spring menu board")
    expect(row.locator(".badge")).to_have_text("Approved")
    expect(row).to_contain_text("Mia Moreau")
    row.get_by_role("link", name="Spring menu board").click()
    expect(staff.get_by_role("region", name="Comments").locator(".decisions")).to_contain_text(
        "Approved v1 by Mia Moreau"
    )
    staff.get_by_role("link", name="Mia Moreau").first.click()
    expect(staff.get_by_role("region", name="Portal login")).to_contain_text("Active")
    device.look(staff)


@pytest.mark.parametrize("device", [DESKTOP, PHONE], ids=lambda d: d.name)
def test_customer_resets_a_forgotten_password_by_email(
    device: Device,
    browser: Browser,
    studio: Studio,
    watcher: Watcher,
    contexts: list[BrowserContext],
) -> None:
    studio.give_login()
    proof_for(studio, "Window decal")
    page = open_page(browser, studio.live, device, watcher, contexts)

    page.goto("/portal/login")
    expect(page.get_by_role("heading", name="Log in to see your proofs")).to_be_visible()
    device.look(page, "customer-login")
    page.get_by_role("link", name="Forgot your password?").click()
    expect(page.get_by_role("heading", name="Forgot your password?")).to_be_visible()
    page.get_by_label("Email").fill("Mia@Moreau-Bakery.test")
    device.look(page, "portal-forgot")
    sent_before = studio.mail_count()
    page.get_by_role("button", name="Send reset link").click()
    expect(page).to_have_url(f"{studio.live.url}/portal/login")
    expect(page.get_by_role("status")).to_have_text(
        "If an account exists for that email address, we have sent it a link to choose a new "
        "password. The link works for 60 minutes."
    )

    # The emailed link: a new password, and Mia is logged in.
    page.goto(studio.mailed_link("reset", after=sent_before))
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    device.look(page, "portal-reset")
    page.get_by_label("New password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password and log in").click()
    expect(page).to_have_url(f"{studio.live.url}/portal")
    expect(page.get_by_role("status")).to_have_text("Your password is changed.")
    expect(page.get_by_role("row").filter(has_text="Window decal")).to_be_visible()

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("status")).to_have_text("You are logged out.")
    expect(page.get_by_role("button", name="Log out")).to_have_count(0)

    # The old password no longer works; the new one does.
    page.get_by_label("Email").fill("mia@moreau-bakery.test")
    page.get_by_label("Password").fill(CUSTOMER_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_have_text("Email or password is not right.")
    device.look(page)
    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{studio.live.url}/portal")
    expect(page.get_by_role("heading", name="Your proofs")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="Window decal")).to_be_visible()

    # The reset link was for one use only (a 404 page, in a tab the watcher ignores).
    used = page.context.new_page()
    response = used.goto(studio.mailed_link("reset", after=sent_before))
    assert response is not None and response.status == 404
    expect(used.get_by_role("heading", name="This link no longer works")).to_be_visible()
    device.look(used)
