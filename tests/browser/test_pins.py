"""The review screen in a real browser: pins placed by click, tap, drag and keyboard; threads
with replies, resolving and carrying forward; approval terms and the approval record."""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from PIL import Image, ImageDraw, ImageFont
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from proofdesk.accounts.models import User
from proofdesk.customers.models import Customer
from proofdesk.proofs import services as proofs
from proofdesk.proofs.models import Proof
from proofdesk.review import services as review
from proofdesk.review.threads import Pin
from tests.browser.conftest import LiveServer, Watcher
from tests.browser.test_review_flow import DESKTOP, PHONE, Device, log_in
from tests.conftest import Factory, pdf_bytes

pytestmark = pytest.mark.browser

NEAR = 3  # pixels: a saved pin lands where the reviewer put it


def artwork_png(
    width: int = 800,
    height: int = 500,
    *,
    changed: tuple[int, ...] | None = None,
) -> bytes:
    """A shop sign: a dark band with the name, a line of text; `changed` adds a blue block
    (left, top, right, bottom), as a second version might."""
    image = Image.new("RGB", (width, height), "#f4efe6")
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, width, height // 4), fill="#1d2230")
    draw.text(
        (40, height // 8),
        "MOREAU BAKERY",
        fill="#f4efe6",
        anchor="lm",
        font=ImageFont.load_default(size=height // 9),
    )
    draw.text(
        (40, height // 2),
        "Fresh bread daily, 7am to 7pm",
        fill="#8a3b12",
        font=ImageFont.load_default(size=height // 16),
    )
    draw.ellipse(
        (40, height * 2 // 3, 40 + height // 4, height * 2 // 3 + height // 4), fill="#d9a441"
    )
    if changed:
        draw.rectangle(changed, fill="#2d4bd8")
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


@dataclass
class Desk:
    """A designer and a customer on the live server, and quick ways to set up proofs."""

    live: LiveServer
    factory: Factory
    designer: User
    customer: Customer

    def proof(self, title: str, data: bytes, filename: str) -> tuple[Proof, str]:
        """A proof, all pages rendered, and its share link."""
        proof = self.factory.proof(
            self.designer, self.customer, title=title, data=data, filename=filename
        )
        self.live.render_pages()
        with self.live.app.app_context():
            link = review.active_share_link(self.factory.session, proof)
            assert link is not None
            return proof, review.share_url(link)

    def add_version(self, proof: Proof, data: bytes, filename: str) -> None:
        with self.live.app.app_context():
            proofs.add_version(
                self.factory.session,
                storage=self.live.app.extensions["storage"],
                proof=proof,
                upload=proofs.Upload(io.BytesIO(data), filename),
                limits=proofs.Limits.from_config(self.live.app.config),
                uploaded_by=self.designer,
                ip="127.0.0.1",
            )
            self.factory.session.commit()
        self.live.render_pages()

    def comment(self, proof: Proof, body: str, pin: Pin, version: int = 1) -> None:
        session = self.factory.session
        with self.live.app.app_context():
            found = proofs.version_of(session, proof, version)
            assert found is not None
            review.add_comment(
                session,
                proof=proof,
                version=found,
                author_name="Mia Moreau",
                body=body,
                ip="127.0.0.1",
                pin=pin,
            )
            session.commit()


def open_desk(live: LiveServer) -> Iterator[Desk]:
    session = live.app.extensions["db_sessionmaker"]()
    factory = Factory(live.app, session)
    designer = factory.user("designer", name="Dana Designer", email="dana@studio.test")
    customer = factory.customer(name="Mia Moreau", company="Moreau Bakery")
    yield Desk(live, factory, designer, customer)
    session.close()


@pytest.fixture
def desk(studio: LiveServer) -> Iterator[Desk]:
    yield from open_desk(studio)


def open_page(
    browser: Browser, desk: Desk, device: Device, watcher: Watcher, contexts: list[BrowserContext]
) -> Page:
    context = browser.new_context(base_url=desk.live.url, **device.options)
    contexts.append(context)
    return watcher.watch(context.new_page())


def loaded(page: Page, image: Locator) -> dict[str, float]:
    expect(image).to_be_visible()
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=image.element_handle()
    )
    box = image.bounding_box()
    assert box is not None
    return box


def put_pin(
    page: Page, device: Device, image: Locator, fx: float, fy: float
) -> tuple[float, float]:
    """Click (or tap, on a phone) the artwork at fractions fx, fy; the offset in pixels."""
    image.scroll_into_view_if_needed()
    box = loaded(page, image)
    offset = (box["width"] * fx, box["height"] * fy)
    if device.options.get("has_touch"):
        image.tap(position={"x": offset[0], "y": offset[1]})
    else:
        image.click(position={"x": offset[0], "y": offset[1]})
    return offset


def centre(locator: Locator) -> tuple[float, float]:
    box = locator.bounding_box()
    assert box is not None
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def assert_at(pin: Locator, image: Locator, offset: tuple[float, float]) -> None:
    box = image.bounding_box()
    assert box is not None
    x, y = centre(pin)
    assert abs(x - (box["x"] + offset[0])) <= NEAR and abs(y - (box["y"] + offset[1])) <= NEAR, (
        f"pin at {x:.1f},{y:.1f}; clicked {box['x'] + offset[0]:.1f},{box['y'] + offset[1]:.1f}"
    )


def pin_fields(page: Page) -> dict[str, str]:
    return page.evaluate("""() => Object.fromEntries(['page', 'x', 'y', 'w', 'h'].map(
        n => [n, document.querySelector(`#comment-form input[name=${n}]`).value]))""")


def send_comment(page: Page, text: str, *, name: str | None = "Mia Moreau") -> None:
    form = page.locator("#comment-form")
    if name:
        form.get_by_label("Your name").fill(name)
    form.get_by_label("Comment").fill(text)
    form.get_by_role("button", name="Add comment").click()
    expect(page.get_by_role("status")).to_have_text("Your comment is added.")


@pytest.mark.parametrize("device", [DESKTOP, PHONE], ids=lambda d: d.name)
def test_pins_on_an_image_and_on_page_2_of_a_pdf(
    device: Device, browser: Browser, desk: Desk, watcher: Watcher, contexts: list[BrowserContext]
) -> None:
    _image_proof, image_url = desk.proof("Shop sign", artwork_png(), "sign.png")
    _pdf_proof, pdf_url = desk.proof("Menu board", pdf_bytes(2), "menu.pdf")
    page = open_page(browser, desk, device, watcher, contexts)

    # An image proof: click or tap the artwork, and the form knows where.
    page.goto(image_url)
    form = page.locator("#comment-form")
    status = form.locator(".pin-status")
    expect(status).to_contain_text("Click or tap the artwork")
    expect(form.get_by_role("button", name="Remove the pin")).to_be_hidden()
    artwork = page.get_by_role("img", name="Page 1 of 1, version 1")
    offset = put_pin(page, device, artwork, 0.3, 0.4)
    fields = pin_fields(page)
    assert fields["page"] == "1" and fields["w"] == fields["h"] == ""
    assert float(fields["x"]) == pytest.approx(0.3, abs=0.005)
    assert float(fields["y"]) == pytest.approx(0.4, abs=0.005)
    expect(status).to_have_text("Pinned to page 1 — write your comment")
    expect(form.get_by_role("button", name="Remove the pin")).to_be_visible()
    expect(form.get_by_label("Comment")).to_be_focused()
    assert_at(page.locator(".pin-new"), artwork, offset)

    # Removing the pin empties the fields; a second tap pins again.
    form.get_by_role("button", name="Remove the pin").click()
    assert set(pin_fields(page).values()) == {""}
    expect(page.locator(".pin-new")).to_have_count(0)
    expect(status).to_contain_text("Click or tap the artwork")
    offset = put_pin(page, device, artwork, 0.3, 0.4)
    send_comment(page, "Make the logo bigger here.")

    pin = page.locator("a.pin[data-pin='1']")
    expect(pin).to_have_text("1")
    expect(page.locator("a.pin")).to_have_count(1)
    pin.scroll_into_view_if_needed()
    assert_at(pin, artwork, offset)
    thread = page.locator("li.thread-item[data-pin='1']")
    expect(thread).to_contain_text("Make the logo bigger here.")
    expect(thread.locator("a.pin-ref")).to_have_text("1")
    if device is PHONE:
        device.look(page, "pins")

    # Page 2 of a PDF.
    page.goto(pdf_url)
    second = page.get_by_role("img", name="Page 2 of 2, version 1")
    offset = put_pin(page, device, second, 0.6, 0.25)
    fields = pin_fields(page)
    assert fields["page"] == "2"
    assert float(fields["x"]) == pytest.approx(0.6, abs=0.005)
    assert float(fields["y"]) == pytest.approx(0.25, abs=0.005)
    expect(form.locator(".pin-status")).to_have_text("Pinned to page 2 — write your comment")
    expect(page.locator("#page-2 .pin-new")).to_have_count(1)
    send_comment(page, "The price on page 2 is wrong.")
    pin = page.locator("#page-2 a.pin[data-pin='1']")
    expect(pin).to_have_text("1")
    expect(page.locator("#page-1 a.pin")).to_have_count(0)
    pin.scroll_into_view_if_needed()
    assert_at(pin, second, offset)
    thread = page.locator("li.thread-item[data-pin='1']")
    expect(thread).to_contain_text("The price on page 2 is wrong.")
    expect(thread).to_contain_text("page 2")

    # Selecting the pin highlights its thread; the thread's number brings back the pin.
    if device is PHONE:
        pin.tap()
    else:
        pin.click()
    expect(thread).to_have_class(re.compile(r"\bselected\b"))
    expect(pin).to_have_class(re.compile(r"\bselected\b"))
    expect(thread).to_be_in_viewport()
    if device is PHONE:  # the comments are below the pages: the pin has scrolled away
        expect(pin).not_to_be_in_viewport()
        thread.locator("a.pin-ref").tap()
    else:
        thread.locator("a.pin-ref").click()
    expect(pin).to_be_in_viewport()
    expect(pin).to_be_focused()


def drag(page: Page, start: tuple[float, float], end: tuple[float, float]) -> None:
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(*end, steps=8)
    page.mouse.up()


def test_a_drag_pins_an_area_and_a_zoomed_page_pans_then_pins(
    browser: Browser, desk: Desk, watcher: Watcher, contexts: list[BrowserContext]
) -> None:
    proof, share_url = desk.proof("Shop sign", artwork_png(), "sign.png")
    desk.comment(proof, "Is this the right blue?", Pin(page=1, x=0.8, y=0.7))
    page = open_page(browser, desk, DESKTOP, watcher, contexts)
    page.goto(share_url)
    artwork = page.get_by_role("img", name="Page 1 of 1, version 1")
    box = loaded(page, artwork)

    def at(fx: float, fy: float) -> tuple[float, float]:
        return box["x"] + box["width"] * fx, box["y"] + box["height"] * fy

    drag(page, at(0.2, 0.3), at(0.5, 0.6))
    fields = pin_fields(page)
    assert fields["page"] == "1"
    for name, value in {"x": 0.2, "y": 0.3, "w": 0.3, "h": 0.3}.items():
        assert float(fields[name]) == pytest.approx(value, abs=0.005), fields
    expect(page.locator(".pin-new")).to_have_class(re.compile(r"\bpin-area\b"))
    send_comment(page, "Move this whole block left.")

    area = page.locator("a.pin.pin-area")
    expect(area).to_have_count(1)
    expect(area).to_have_text("2")  # numbered in the order the threads were started
    expect(page.locator("a.pin:not(.pin-area)")).to_have_text("1")
    page.evaluate("window.scrollTo(0, 0)")
    found = area.bounding_box()
    box = artwork.bounding_box()
    assert found is not None and box is not None
    expected = (
        box["x"] + box["width"] * 0.2,
        box["y"] + box["height"] * 0.3,
        box["width"] * 0.3,
        box["height"] * 0.3,
    )
    actual = (found["x"], found["y"], found["width"], found["height"])
    assert actual == pytest.approx(expected, abs=NEAR), (actual, expected)
    badge = centre(area.locator(".pin-number"))  # the number sits on the top-left corner
    assert badge == pytest.approx((expected[0], expected[1]), abs=NEAR)
    area.click()
    expect(page.locator("li.thread-item.selected")).to_contain_text("Move this whole block left.")
    DESKTOP.look(page, "pins", full_page=False)

    # Zoomed in, a drag pans the page (and its pins) instead of pinning.
    page.get_by_role("button", name="Zoom in").click()
    expect(page.locator(".zoom-level")).to_have_text("150%")
    box = artwork.bounding_box()
    assert box is not None
    before = centre(area)
    drag(page, (box["x"] + 200, box["y"] + 200), (box["x"] + 100, box["y"] + 120))
    assert set(pin_fields(page).values()) == {""}, "a pan is not a pin"
    expect(page.locator(".pin-new")).to_have_count(0)
    moved = artwork.bounding_box()
    assert moved is not None
    assert (moved["x"] - box["x"], moved["y"] - box["y"]) == pytest.approx((-100, -80), abs=1)
    assert centre(area) == pytest.approx((before[0] - 100, before[1] - 80), abs=1)

    # A click on the zoomed, panned page pins the spot under the pointer.
    frame = page.locator(".page-frame").bounding_box()
    assert frame is not None
    spot = (frame["x"] + frame["width"] * 0.5, frame["y"] + frame["height"] * 0.5)
    page.mouse.click(*spot)
    fields = pin_fields(page)
    assert float(fields["x"]) == pytest.approx((spot[0] - moved["x"]) / moved["width"], abs=0.002)
    assert float(fields["y"]) == pytest.approx((spot[1] - moved["y"]) / moved["height"], abs=0.002)
    # (The comment box took the focus, which may have scrolled the window: measure again.)
    now = artwork.bounding_box()
    assert now is not None
    x, y = float(fields["x"]), float(fields["y"])
    assert centre(page.locator(".pin-new")) == pytest.approx(
        (now["x"] + now["width"] * x, now["y"] + now["height"] * y), abs=NEAR
    )


def test_the_keyboard_places_and_moves_a_pin(
    browser: Browser, desk: Desk, watcher: Watcher, contexts: list[BrowserContext]
) -> None:
    _proof, share_url = desk.proof("Menu board", pdf_bytes(2), "menu.pdf")
    page = open_page(browser, desk, DESKTOP, watcher, contexts)
    page.goto(share_url)
    second = page.get_by_role("img", name="Page 2 of 2, version 1")
    loaded(page, second)
    frame = page.get_by_role("group", name=re.compile(r"^Page 2 of 2: press Enter to pin"))
    expect(frame).to_have_attribute("tabindex", "0")

    # Tab from page 1's frame to page 2's, as a keyboard user would.
    page.get_by_role("group", name=re.compile(r"^Page 1 of 2")).focus()
    page.keyboard.press("Tab")
    expect(frame).to_be_focused()
    page.keyboard.press("Enter")
    assert pin_fields(page) == {"page": "2", "x": "0.5", "y": "0.5", "w": "", "h": ""}
    expect(page.locator(".pin-status")).to_have_text("Pinned to page 2 — write your comment")
    expect(frame).to_be_focused()  # so the arrows can move the pin
    for key in ("ArrowRight", "ArrowRight", "ArrowUp"):
        page.keyboard.press(key)
    assert pin_fields(page) == {"page": "2", "x": "0.6", "y": "0.45", "w": "", "h": ""}
    box = second.bounding_box()
    assert box is not None
    assert centre(page.locator("#page-2 .pin-new")) == pytest.approx(
        (box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.45), abs=NEAR
    )
    page.keyboard.press("Enter")
    expect(page.locator("#comment-form").get_by_label("Comment")).to_be_focused()
    page.keyboard.type("This panel needs the allergens.")
    form = page.locator("#comment-form")
    form.get_by_role("button", name="Add comment").press("Enter")

    # Refused for want of a name, the comment comes back with its pin still in place.
    expect(form).to_contain_text("Enter your name so the designer knows who this is.")
    refused = [p for p in watcher.problems if "/comments" in p and "400" in p]
    assert len(refused) == 1, watcher.problems
    watcher.problems.remove(refused[0])
    assert pin_fields(page) == {"page": "2", "x": "0.6", "y": "0.45", "w": "", "h": ""}
    expect(form.locator(".pin-status")).to_have_text("Pinned to page 2 — write your comment")
    expect(page.locator("#page-2 .pin-new")).to_have_count(1)
    expect(form.get_by_label("Comment")).to_have_value("This panel needs the allergens.")
    form.get_by_label("Your name").fill("Mia Moreau")
    form.get_by_role("button", name="Add comment").press("Enter")
    expect(page.get_by_role("status")).to_have_text("Your comment is added.")

    # The thread's number is a link: Enter on it goes to the pin, itself a link.
    ref = page.get_by_role("link", name="Pin 1, page 2")
    ref.focus()
    page.keyboard.press("Enter")
    pin = page.locator("#page-2 a.pin[data-pin='1']")
    expect(pin).to_be_focused()
    expect(pin).to_be_in_viewport()
    box = second.bounding_box()
    assert box is not None
    assert centre(pin) == pytest.approx(
        (box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.45), abs=NEAR
    )
    page.keyboard.press("Enter")
    expect(page.locator("li.thread-item[data-pin='1']")).to_have_class(re.compile(r"\bselected\b"))


def test_reply_resolve_and_carry_a_thread_forward(
    browser: Browser, desk: Desk, watcher: Watcher, contexts: list[BrowserContext]
) -> None:
    proof, share_url = desk.proof("Shop sign", artwork_png(), "sign.png")
    desk.comment(proof, "The logo looks blurry.", Pin(page=1, x=0.2, y=0.2))
    desk.comment(proof, "Typo in the phone number.", Pin(page=1, x=0.7, y=0.6, w=0.2, h=0.1))
    page = open_page(browser, desk, DESKTOP, watcher, contexts)
    page.goto(share_url)
    logo = page.locator("li.thread-item[data-pin='1']")
    typo = page.locator("li.thread-item[data-pin='2']")

    logo.get_by_text("Reply", exact=True).click()
    logo.get_by_label("Your name").fill("Dana at the studio")
    logo.get_by_label("Your reply").fill("We will use the vector file.")
    logo.get_by_role("button", name="Send reply").click()
    expect(page.get_by_role("status")).to_have_text("Your reply is added.")
    expect(logo.locator(".reply")).to_contain_text("Dana at the studio")
    expect(logo.locator(".reply")).to_contain_text("We will use the vector file.")

    typo.get_by_role("button", name="Mark resolved").click()
    expect(typo).to_have_class(re.compile(r"\bresolved\b"))
    expect(typo.locator(".badge-resolved")).to_have_text("Resolved by Share-link reviewer")
    expect(page.locator("a.pin[data-pin='2']")).to_have_class(re.compile(r"\bresolved\b"))
    expect(typo.get_by_role("button", name="Reopen")).to_be_visible()

    # Version 2: the open thread comes along, numbered and pinned; the resolved one stays.
    desk.add_version(proof, artwork_png(changed=(500, 300, 700, 420)), "sign-v2.png")
    page.goto(share_url)
    expect(page.locator(".heading .sub")).to_contain_text("version 2")
    threads = page.get_by_role("region", name="Comments").locator("li.thread-item")
    expect(threads).to_have_count(1)
    expect(threads).to_contain_text("The logo looks blurry.")
    expect(threads.locator(".badge-carried")).to_have_text("From version 1")
    pin = page.locator("a.pin.carried")
    expect(pin).to_have_text("1")
    expect(pin).to_have_attribute("aria-label", re.compile("from version 1"))
    assert_at(
        pin,
        page.get_by_role("img", name="Page 1 of 1, version 2"),
        offset_of(page, "Page 1 of 1, version 2", 0.2, 0.2),
    )


def offset_of(page: Page, image_name: str, fx: float, fy: float) -> tuple[float, float]:
    box = loaded(page, page.get_by_role("img", name=image_name))
    return box["width"] * fx, box["height"] * fy


def test_approval_with_terms_and_the_approval_record(
    browser: Browser, desk: Desk, watcher: Watcher, contexts: list[BrowserContext], tmp_path: Path
) -> None:
    studio = open_page(browser, desk, DESKTOP, watcher, contexts)
    log_in(studio, "dana@studio.test")
    studio.goto("/proofs/new")
    studio.get_by_label("Customer", exact=True).select_option(label="Mia Moreau (Moreau Bakery)")
    studio.get_by_label("Title").fill("Shop sign")
    artwork = tmp_path / "sign.png"
    artwork.write_bytes(artwork_png())
    studio.get_by_label("Artwork file").set_input_files(artwork)
    studio.get_by_label("Ask the customer to tick the approval terms").check()
    studio.get_by_role("button", name="Upload proof").click()
    expect(studio.get_by_role("status")).to_contain_text("Proof uploaded.")
    share_url = studio.get_by_label("Send this link to Mia Moreau").input_value()

    customer = open_page(browser, desk, DESKTOP, watcher, contexts)
    customer.goto(share_url)
    decide = customer.get_by_role("region", name="Your decision")
    decide.get_by_label("Your name").fill("Mia Moreau")
    terms = decide.get_by_label(re.compile("approve this version for production"))
    expect(terms).not_to_be_checked()
    decide.get_by_role("button", name="Approve version 1").click()
    expect(customer.get_by_role("alert")).to_have_text("Tick the approval terms to approve.")
    expect(customer.locator(".heading .badge")).to_have_text("Awaiting review")
    # The refused form comes back as a 400, which the browser logs; that one is expected.
    refused = [p for p in watcher.problems if "/decision" in p and "400" in p]
    assert len(refused) == 1, watcher.problems
    watcher.problems.remove(refused[0])
    decide = customer.get_by_role("region", name="Your decision")
    decide.get_by_label("Your name").fill("Mia Moreau")
    decide.get_by_label(re.compile("approve this version for production")).check()
    decide.get_by_role("button", name="Approve version 1").click()
    expect(customer.get_by_role("status")).to_have_text("Thank you: your approval is recorded.")
    expect(customer.locator(".heading .badge")).to_have_text("Approved")

    studio.reload()
    record = studio.locator(".decisions")
    expect(record).to_contain_text("Approved v1 by Mia Moreau")
    expect(record).to_contain_text("terms accepted")
    with studio.expect_download() as download:
        record.get_by_role("link", name="Approval record (PDF)").click()
    data = Path(download.value.path()).read_bytes()
    assert data.startswith(b"%PDF-")
    document = pdfium.PdfDocument(data)
    try:
        text = document[0].get_textpage().get_text_range()
    finally:
        document.close()
    sha256 = hashlib.sha256(artwork.read_bytes()).hexdigest()
    assert sha256 in re.sub(r"\s+", "", text), text
    assert "Mia Moreau" in text
