"""The whole proof round trip in a real browser, at desktop and at phone size.

First admin from the setup link → a designer → a customer → a 3-page PDF proof → the
customer requests changes through the share link → version 2 → the customer approves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from proofdesk.cli import print_setup_link
from tests.browser.conftest import LiveServer, Watcher, screenshot
from tests.conftest import PASSWORD, pdf_bytes, png_bytes

pytestmark = pytest.mark.browser

# Lists the elements that stick out past the right edge, so a failure says what to fix.
OVERFLOW_JS = """() => {
  const width = document.documentElement.clientWidth;
  const wide = [...document.querySelectorAll('body *')]
    .filter(el => el.getBoundingClientRect().right > width + 0.5)
    .map(el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
               (typeof el.className === 'string' && el.className.trim()
                  ? '.' + el.className.trim().replace(/\\s+/g, '.') : '') +
               ' right=' + Math.round(el.getBoundingClientRect().right));
  return {scrollWidth: document.documentElement.scrollWidth, wide: wide.slice(0, 10)};
}"""


@dataclass(frozen=True)
class Device:
    name: str
    options: dict[str, Any]

    @property
    def width(self) -> int:
        return int(self.options["viewport"]["width"])

    def look(self, page: Page, shot: str | None = None, *, full_page: bool = True) -> None:
        """What every page must pass on this device; then save its screenshot if named."""
        page.wait_for_load_state()
        # WTForms writes a Python None out as the text "None", which a screen reader takes
        # for "invalid", and autofocus on every field makes the page jump on a phone.
        garbage = page.locator(
            '[aria-invalid]:not([aria-invalid="true"]), [aria-describedby="None"]'
        )
        expect(garbage).to_have_count(0)
        assert page.locator("[autofocus]").count() <= 1, f"{page.url}: several autofocus fields"
        left, right = page.evaluate("""() => {
          const box = document.querySelector('main').getBoundingClientRect();
          return [box.left, document.documentElement.clientWidth - box.right];
        }""")
        assert abs(left - right) < 2, f"{page.url}: the page is not centred ({left}, {right})"
        if self.name == "phone":
            found = page.evaluate(OVERFLOW_JS)
            assert found["scrollWidth"] <= self.width, (
                f"{page.url} is {found['scrollWidth']}px wide on a {self.width}px phone: "
                f"{found['wide']}"
            )
        if shot:
            page.evaluate("window.scrollTo(0, 0)")  # sticky bars in their place
            screenshot(page, f"{self.name}-{shot}", full_page=full_page)


DESKTOP = Device("desktop", {"viewport": {"width": 1280, "height": 800}})
PHONE = Device(
    "phone",
    {
        "viewport": {"width": 390, "height": 844},
        "is_mobile": True,
        "has_touch": True,
        "device_scale_factor": 3,
    },
)


def open_menu_link(page: Page, name: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name=name).click()


def log_in(page: Page, email: str, password: str = PASSWORD) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def expect_all_pages_shown(page: Page, *, count: int, version: int) -> None:
    """Every page of the version is on screen as a loaded picture (the worker renders 2..n)."""
    expect(page.get_by_text(f"{count} pages. Scroll to see them all.")).to_be_visible()
    for number in range(1, count + 1):
        image = page.get_by_role("img", name=f"Page {number} of {count}, version {version}")
        image.scroll_into_view_if_needed(timeout=15_000)
        expect(image).to_be_visible()
        expect(page.locator(f"#page-{number}")).to_contain_text(f"Page {number} of {count}")
        page.wait_for_function(
            "img => img.complete && img.naturalWidth > 0", arg=image.element_handle()
        )
    expect(page.get_by_text("Preparing page")).to_have_count(0)
    assert page.get_by_role("region", name=f"Artwork, version {version}").is_visible()


def setup_link(live: LiveServer, capsys: pytest.CaptureFixture[str]) -> str:
    """The one-time link `proofdesk run` prints when there is no admin yet."""
    capsys.readouterr()
    print_setup_link(live.app)
    printed = capsys.readouterr().out
    assert "No admin yet" in printed
    match = re.search(r"(http://\S+/setup/\S+)", printed)
    assert match, printed
    assert match.group(1).startswith(live.url + "/setup/")
    return match.group(1)


def new_person(
    browser: Browser, live: LiveServer, device: Device, watcher: Watcher
) -> tuple[BrowserContext, Page]:
    context = browser.new_context(base_url=live.url, **device.options)
    return context, watcher.watch(context.new_page())


@pytest.mark.parametrize("device", [DESKTOP, PHONE], ids=lambda d: d.name)
def test_proof_round_trip(
    device: Device,
    browser: Browser,
    studio: LiveServer,
    watcher: Watcher,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    contexts: list[BrowserContext] = []
    try:
        run_round_trip(device, browser, studio, watcher, capsys, tmp_path, contexts)
    finally:
        for context in contexts:
            context.close()


def run_round_trip(
    device: Device,
    browser: Browser,
    live: LiveServer,
    watcher: Watcher,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    contexts: list[BrowserContext],
) -> None:
    studio_context, page = new_person(browser, live, device, watcher)
    contexts.append(studio_context)

    # The first admin, from the link printed in the terminal.
    page.goto(setup_link(live, capsys))
    expect(page.get_by_role("heading", name="Create the first admin")).to_be_visible()
    device.look(page, "setup")
    page.get_by_label("Your name").fill("Ada Admin")
    page.get_by_label("Email").fill("ada@studio.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create admin and log in").click()
    expect(page.get_by_role("status")).to_contain_text("Welcome to Proofdesk")
    expect(page.get_by_role("heading", name="Users")).to_be_visible()
    device.look(page)

    # Admin → Users → a designer.
    open_menu_link(page, "Admin → Users")
    page.get_by_role("link", name="Add user").click()
    expect(page.get_by_role("heading", name="Add a user")).to_be_visible()
    page.get_by_label("Name").fill("Dana Designer")
    page.get_by_label("Email").fill("dana@studio.test")
    page.get_by_label("Role").select_option(label="Designer")
    page.get_by_label("Initial password").fill(PASSWORD)
    device.look(page, "add-user")
    page.get_by_role("button", name="Add user").click()
    expect(page.get_by_role("status")).to_have_text("Dana Designer can now log in as designer.")
    designer_row = page.get_by_role("row").filter(has_text="dana@studio.test")
    expect(designer_row).to_contain_text("Designer")
    expect(designer_row).to_contain_text("Active")
    device.look(page, "admin-users")

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("status")).to_have_text("You are logged out.")
    device.look(page, "login")

    # The designer: a customer, then a 3-page PDF for them.
    log_in(page, "dana@studio.test")
    expect(page.get_by_role("heading", name="My Proofs")).to_be_visible()
    expect(page.get_by_role("heading", name="No proofs yet")).to_be_visible()
    device.look(page, "my-proofs-empty")
    open_menu_link(page, "Customers")
    expect(page.get_by_text("No customers yet.")).to_be_visible()
    device.look(page)
    page.get_by_role("link", name="Add customer").click()
    page.get_by_label("Name").fill("Mia Moreau")
    page.get_by_label("Email").fill("mia@moreau-bakery.test")
    page.get_by_label("Company").fill("Moreau Bakery")
    device.look(page, "add-customer")
    page.get_by_role("button", name="Add customer").click()
    expect(page.get_by_role("status")).to_have_text("Added Mia Moreau.")
    expect(page.get_by_role("heading", name="Mia Moreau")).to_be_visible()
    expect(page.get_by_text("No proofs for Mia Moreau yet.")).to_be_visible()
    device.look(page, "customer")

    page.get_by_role("link", name="Upload a proof").click()
    expect(page.get_by_role("heading", name="Upload a proof")).to_be_visible()
    expect(page.get_by_label("Customer", exact=True).locator("option:checked")).to_have_text(
        "Mia Moreau (Moreau Bakery)"
    )
    artwork = tmp_path / "menu-board.pdf"
    artwork.write_bytes(pdf_bytes(3))
    page.get_by_label("Title").fill("Spring menu board")
    page.get_by_label("Message to the customer").fill("Three panels for the shop window.")
    page.get_by_label("Due date").fill("2030-04-15")
    page.get_by_label("Artwork file").set_input_files(artwork)
    device.look(page, "upload")
    page.get_by_role("button", name="Upload proof").click()

    expect(page).to_have_url(re.compile(r"/proofs/\d+$"))
    expect(page.get_by_role("heading", name="Spring menu board")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Copy the share link below")
    expect(page.locator(".heading .badge")).to_have_text("Awaiting review")
    expect(page.get_by_text("due 15 Apr 2030")).to_be_visible()
    share = page.get_by_label("Send this link to Mia Moreau")
    if device is PHONE:  # below all three pages: the heading has a way down to it
        expect(share).not_to_be_in_viewport()
        page.get_by_role("link", name="Share link ↓").click()
        expect(share).to_be_in_viewport()
    else:
        expect(share).to_be_in_viewport()
        expect(page.get_by_role("link", name="Share link ↓")).to_be_hidden()
    share_url = share.input_value()
    assert share_url.startswith(f"{live.url}/s/"), share_url
    expect_all_pages_shown(page, count=3, version=1)
    device.look(page, "proof")

    # The customer opens the share link in a browser of their own.
    customer_context, review = new_person(browser, live, device, watcher)
    contexts.append(customer_context)
    review.goto(share_url)
    expect(review.get_by_role("heading", name="Spring menu board")).to_be_visible()
    expect(review.get_by_text("Three panels for the shop window.")).to_be_visible()
    expect(review.get_by_text("please review by 15 Apr 2030")).to_be_visible()
    expect(review.get_by_role("button", name="Log out")).to_have_count(0)
    expect_all_pages_shown(review, count=3, version=1)
    device.look(review, "review")

    decide = review.get_by_role("region", name="Your decision")
    decide.get_by_label("Your name").fill("Mia Moreau")
    decide.get_by_label("What should change?").fill("Please make the prices bigger.")
    decide.get_by_role("button", name="Request changes").click()
    expect(review.get_by_role("status")).to_have_text(
        "Thank you: your change request is sent to the designer."
    )
    expect(review.locator(".heading .badge")).to_have_text("Changes requested")
    comments = review.get_by_role("region", name="Comments")
    expect(comments.get_by_role("listitem")).to_contain_text(["Please make the prices bigger."])
    expect(comments).to_contain_text("Mia Moreau")
    device.look(review, "review-changes-requested")

    # Back at the studio: the request shows on My Proofs, and version 2 goes up.
    open_menu_link(page, "My Proofs")
    row = page.get_by_role("row").filter(has_text="Spring menu board")
    expect(row.locator(".badge")).to_have_text("Changes requested")
    expect(row).to_contain_text("v1")
    device.look(page, "my-proofs-changes-requested")
    row.get_by_role("link", name="Spring menu board").click()
    expect(page.get_by_role("region", name="Comments")).to_contain_text(
        "Please make the prices bigger."
    )
    page.get_by_role("link", name="Upload new version").click()
    expect(page.get_by_role("heading", name="Upload version 2")).to_be_visible()
    version_2 = tmp_path / "menu-board-v2.png"
    version_2.write_bytes(png_bytes(600, 840, "#d94f70"))
    page.get_by_label("Artwork file").set_input_files(version_2)
    page.get_by_label("What changed (optional)").fill("Prices are bigger now.")
    device.look(page, "upload-version")
    page.get_by_role("button", name="Upload version 2").click()
    expect(page.get_by_role("status")).to_have_text(
        "Version 2 uploaded; the share link now shows it."
    )
    expect(page.locator(".heading .badge")).to_have_text("Awaiting review")

    # The same share link now shows version 2; version 1 is still there, superseded.
    customer_context.close()
    contexts.remove(customer_context)
    customer_context, review = new_person(browser, live, device, watcher)
    contexts.append(customer_context)
    review.goto(share_url)
    expect(review.locator(".heading .sub")).to_contain_text("version 2")
    expect(review.get_by_role("img", name="Page 1 of 1, version 2")).to_be_visible()
    expect(review.get_by_text("Prices are bigger now.")).to_be_visible()
    versions = review.get_by_role("region", name="Versions")
    expect(versions.get_by_role("listitem")).to_have_count(2)
    expect(versions.get_by_role("listitem").filter(has_text="Version 2")).to_contain_text("Current")
    expect(versions.get_by_role("listitem").filter(has_text="Version 1")).to_contain_text(
        "Superseded"
    )
    device.look(review, "review-version-2")

    versions.get_by_role("link", name="Version 1").click()
    expect(review.get_by_role("status")).to_contain_text(
        "This is version 1, which has been replaced."
    )
    expect(review.get_by_role("region", name="Your decision")).to_have_count(0)
    expect_all_pages_shown(review, count=3, version=1)
    device.look(review, "review-superseded")
    review.get_by_role("link", name="See the current version (2)").click()

    decide = review.get_by_role("region", name="Your decision")
    decide.get_by_label("Your name").fill("Mia Moreau")
    decide.get_by_role("button", name="Approve version 2").click()
    expect(review.get_by_role("status")).to_have_text("Thank you: your approval is recorded.")
    expect(review.locator(".heading .badge")).to_have_text("Approved")
    expect(review.get_by_role("region", name="Comments").locator(".decisions")).to_contain_text(
        "Approved v2 by Mia Moreau"
    )
    device.look(review, "review-approved")

    # The designer sees the approval.
    open_menu_link(page, "My Proofs")
    row = page.get_by_role("row").filter(has_text="Spring menu board")
    expect(row.locator(".badge")).to_have_text("Approved")
    expect(row).to_contain_text("v2")
    expect(row).to_contain_text("Mia Moreau")
    device.look(page, "my-proofs")
