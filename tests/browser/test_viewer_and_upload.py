"""The upload progress bar and the artwork viewer's zoom, in a real browser."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect

from proofdesk.accounts.models import User
from proofdesk.customers.models import Customer
from proofdesk.proofs.models import Proof
from proofdesk.review import services as review
from tests.browser.conftest import LiveServer, Watcher, screenshot
from tests.browser.test_review_flow import DESKTOP, PHONE, Device, log_in
from tests.conftest import Factory, pdf_bytes

pytestmark = pytest.mark.browser

# Notes every state of the progress bar in sessionStorage, which outlives the page swap
# that ends an upload.
RECORD_PROGRESS_JS = """() => {
  const box = document.querySelector('.upload-progress');
  const bar = box.querySelector('progress');
  const note = () => {
    const seen = JSON.parse(sessionStorage.getItem('progress') || '[]');
    seen.push({shown: !box.hidden, value: bar.value});
    sessionStorage.setItem('progress', JSON.stringify(seen));
  };
  new MutationObserver(note).observe(box, {attributes: true, subtree: true});
}"""


@dataclass
class Studio:
    live: LiveServer
    factory: Factory
    designer: User
    customer: Customer

    def proof(self, title: str, pages: int) -> tuple[Proof, str]:
        """A proof with a PDF of `pages` pages, all rendered, and its share link."""
        proof = self.factory.proof(
            self.designer, self.customer, title=title, data=pdf_bytes(pages), filename="artwork.pdf"
        )
        self.live.render_pages()
        with self.live.app.app_context():
            link = review.active_share_link(self.factory.session, proof)
            assert link is not None
            return proof, review.share_url(link)


@pytest.fixture
def studio_with_designer(studio: LiveServer) -> Iterator[Studio]:
    session = studio.app.extensions["db_sessionmaker"]()
    factory = Factory(studio.app, session)
    designer = factory.user("designer", name="Dana Designer", email="dana@studio.test")
    customer = factory.customer(name="Mia Moreau", company="Moreau Bakery")
    yield Studio(studio, factory, designer, customer)
    session.close()


def open_page(
    browser: Browser,
    live: LiveServer,
    device: Device,
    watcher: Watcher,
    contexts: list[BrowserContext],
) -> Page:
    context = browser.new_context(base_url=live.url, **device.options)
    contexts.append(context)
    return watcher.watch(context.new_page())


def test_upload_shows_a_progress_bar_then_the_proof(
    browser: Browser,
    studio_with_designer: Studio,
    watcher: Watcher,
    contexts: list[BrowserContext],
    tmp_path: Path,
) -> None:
    live = studio_with_designer.live
    page = open_page(browser, live, DESKTOP, watcher, contexts)
    log_in(page, "dana@studio.test")
    page.goto("/proofs/new")
    page.get_by_label("Customer", exact=True).select_option(label="Mia Moreau (Moreau Bakery)")
    page.get_by_label("Title").fill("Opening hours sticker")
    artwork = tmp_path / "sticker.pdf"
    artwork.write_bytes(pdf_bytes(2))
    page.get_by_label("Artwork file").set_input_files(artwork)
    progress = page.locator(".upload-progress")
    expect(progress).to_be_hidden()
    page.evaluate(RECORD_PROGRESS_JS)

    # Hold the upload at the network until the bar has been seen.
    held: list[Route] = []
    page.route(
        "**/proofs/new",
        lambda route: held.append(route) if route.request.method == "POST" else route.continue_(),
    )
    page.get_by_role("button", name="Upload proof").click()
    expect(progress).to_be_visible()
    expect(progress.get_by_text("Uploading…")).to_be_visible()
    expect(page.get_by_role("button", name="Upload proof")).to_be_disabled()
    screenshot(page, "desktop-upload-progress")
    assert len(held) == 1
    held[0].continue_()

    expect(page).to_have_url(f"{live.url}/proofs/1")
    expect(page.get_by_role("heading", name="Opening hours sticker")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Proof uploaded.")
    seen = page.evaluate("JSON.parse(sessionStorage.getItem('progress') || '[]')")
    assert seen and seen[0]["shown"], seen
    assert max(state["value"] for state in seen) == 100, seen


def test_zoom_buttons_change_the_zoom_level(
    browser: Browser, studio_with_designer: Studio, watcher: Watcher, contexts: list[BrowserContext]
) -> None:
    _proof, share_url = studio_with_designer.proof("Window decal", pages=1)
    page = open_page(browser, studio_with_designer.live, DESKTOP, watcher, contexts)
    page.goto(share_url)
    toolbar = page.get_by_role("toolbar", name="Zoom")
    level = toolbar.locator(".zoom-level")
    artwork = page.get_by_role("img", name="Page 1 of 1, version 1")
    expect(artwork).to_be_visible()
    expect(level).to_have_text("100%")
    fit_width = artwork.bounding_box()["width"]

    toolbar.get_by_role("button", name="Zoom in").click()
    expect(level).to_have_text("150%")
    assert artwork.bounding_box()["width"] == pytest.approx(fit_width * 1.5, rel=0.01)
    toolbar.get_by_role("button", name="Zoom in").click()
    expect(level).to_have_text("225%")
    toolbar.get_by_role("button", name="Zoom out").click()
    expect(level).to_have_text("150%")
    toolbar.get_by_role("button", name="Fit").click()
    expect(level).to_have_text("100%")
    assert artwork.bounding_box()["width"] == pytest.approx(fit_width, rel=0.01)
    toolbar.get_by_role("button", name="Zoom out").click()
    expect(level).to_have_text("100%")  # never smaller than the fitted page


def swipe_up(page: Page, x: float, y: float, distance: float = 150) -> None:
    """A finger drag upwards, as raw touch events (Playwright has no swipe of its own)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]})
    for step in range(1, 11):
        cdp.send(
            "Input.dispatchTouchEvent",
            {"type": "touchMove", "touchPoints": [{"x": x, "y": y - distance * step / 10}]},
        )
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    cdp.detach()


def test_on_a_phone_a_swipe_on_the_artwork_scrolls_until_zoomed(
    browser: Browser, studio_with_designer: Studio, watcher: Watcher, contexts: list[BrowserContext]
) -> None:
    _proof, share_url = studio_with_designer.proof("Van wrap", pages=3)
    page = open_page(browser, studio_with_designer.live, PHONE, watcher, contexts)
    page.goto(share_url)
    artwork = page.get_by_role("img", name="Page 1 of 3, version 1")
    expect(artwork).to_be_visible()
    PHONE.look(page)

    # Zoomed in, a swipe on the artwork moves it inside its frame; the page stays put.
    page.get_by_role("button", name="Zoom in").click()
    expect(page.locator(".zoom-level")).to_have_text("150%")
    before = artwork.bounding_box()
    swipe_up(page, before["x"] + before["width"] / 3, before["y"] + 150)
    page.wait_for_function(
        "y => document.querySelector('.page-frame img').getBoundingClientRect().y < y - 50",
        arg=before["y"],
        timeout=5_000,
    )
    assert page.evaluate("window.scrollY") == 0, "a zoomed page should pan, not scroll"

    # At 100% the artwork fills most of the screen: the same swipe must scroll the page.
    page.get_by_role("button", name="Fit").click()
    expect(page.locator(".zoom-level")).to_have_text("100%")
    box = artwork.bounding_box()
    swipe_up(page, box["x"] + box["width"] / 3, box["y"] + 150)
    page.wait_for_function("() => window.scrollY > 50", timeout=5_000)
