"""Comparing two versions in a real browser: side by side, overlay opacity, the difference
image (loaded only when asked for), and zoom and pan that keep the versions in step."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.conftest import LiveServer, Watcher
from tests.browser.test_pins import Desk, artwork_png, loaded, open_desk, open_page
from tests.browser.test_review_flow import DESKTOP, PHONE
from tests.browser.test_viewer_and_upload import swipe_up

pytestmark = pytest.mark.browser

SIZE = (800, 500)
CHANGED = (520, 300, 680, 420)  # left, top, right, bottom: the block version 2 adds

# Counts the red pixels (the diff's highlight) of an image inside each box (natural pixels).
RED_PIXELS_JS = """([img, boxes]) => {
  const canvas = document.createElement('canvas');
  canvas.width = img.naturalWidth;
  canvas.height = img.naturalHeight;
  const ctx = canvas.getContext('2d');
  ctx.drawImage(img, 0, 0);
  return boxes.map(([left, top, right, bottom]) => {
    const data = ctx.getImageData(left, top, right - left, bottom - top).data;
    let red = 0;
    for (let i = 0; i < data.length; i += 4) {
      if (data[i] > 180 && data[i + 1] < 60 && data[i + 2] < 110) red++;
    }
    return {red, total: data.length / 4};
  });
}"""


@pytest.fixture
def desk(studio: LiveServer) -> Iterator[Desk]:
    yield from open_desk(studio)


def two_versions(desk: Desk) -> str:
    """A poster and a second version with one block added; its share link."""
    proof, share_url = desk.proof("Shop sign", artwork_png(*SIZE), "sign.png")
    desk.add_version(proof, artwork_png(*SIZE, changed=CHANGED), "sign-v2.png")
    return share_url


def transforms(page: Page, selector: str) -> list[str]:
    return page.eval_on_selector_all(selector, "els => els.map(el => el.style.transform)")


def test_overlay_and_difference(
    browser: Browser, desk: Desk, watcher: Watcher, contexts: list[BrowserContext]
) -> None:
    share_url = two_versions(desk)
    page = open_page(browser, desk, DESKTOP, watcher, contexts)
    asked_for_diffs: list[str] = []
    page.on("request", lambda r: asked_for_diffs.append(r.url) if "/compare/" in r.url else None)
    page.goto(share_url)
    page.get_by_role("region", name="Versions").get_by_role("link", name="Compare versions").click()
    expect(page.get_by_role("heading", name="Compare versions")).to_be_visible()

    compare = page.locator(".compare")
    side = page.locator(".compare-side")
    overlay = page.locator(".compare-overlay")
    difference = page.locator(".compare-diff")
    mode = page.get_by_role("toolbar", name="Compare mode")
    expect(compare).to_have_attribute("data-mode", "side")
    expect(mode.get_by_role("button", name="Side by side")).to_have_attribute(
        "aria-pressed", "true"
    )
    for name in ("Version 1, page 1", "Version 2, page 1"):
        loaded(page, side.get_by_role("img", name=name))
    expect(overlay).to_be_hidden()
    expect(difference).to_be_hidden()
    expect(mode.get_by_label("Opacity of version 2")).to_be_hidden()

    # Overlay: version 2 over version 1, as see-through as the slider says.
    mode.get_by_role("button", name="Overlay").click()
    expect(compare).to_have_attribute("data-mode", "overlay")
    expect(mode.get_by_role("button", name="Overlay")).to_have_attribute("aria-pressed", "true")
    expect(mode.get_by_role("button", name="Side by side")).to_have_attribute(
        "aria-pressed", "false"
    )
    expect(side).to_be_hidden()
    expect(overlay).to_be_visible()
    top = overlay.locator("img.over")
    under = loaded(page, overlay.get_by_role("img", name="Version 1, page 1"))
    assert loaded(page, top) == under, "the top picture lies exactly over the other"
    expect(top).to_have_css("opacity", "0.5")
    mode.get_by_label("Opacity of version 2").fill("20")
    expect(top).to_have_css("opacity", "0.2")
    mode.get_by_label("Opacity of version 2").fill("85")
    expect(top).to_have_css("opacity", "0.85")
    page.evaluate("window.scrollTo(0, 0)")
    DESKTOP.look(page, "compare-overlay", full_page=False)
    assert asked_for_diffs == [], "the difference image is made only when someone looks at it"
    assert difference.locator("img").get_attribute("src") is None

    # Difference: red where version 2 changed, nothing far from it.
    mode.get_by_role("button", name="Difference").click()
    expect(compare).to_have_attribute("data-mode", "diff")
    expect(overlay).to_be_hidden()
    diff = difference.get_by_role("img", name="Changes between version 1 and 2 on page 1, in red")
    loaded(page, diff)
    assert [url.split("/compare/")[1] for url in asked_for_diffs] == ["1/2/pages/1"]
    assert diff.evaluate("img => [img.naturalWidth, img.naturalHeight]") == list(SIZE)
    left, top_, right, bottom = CHANGED
    inside = (left + 10, top_ + 10, right - 10, bottom - 10)
    far = [(0, 0, 480, 260), (0, 460, 800, 500), (0, 0, 800, 40)]
    counts = page.evaluate(RED_PIXELS_JS, [diff.element_handle(), [inside, *far]])
    assert counts[0]["red"] > 0.95 * counts[0]["total"], counts
    assert all(c["red"] == 0 for c in counts[1:]), counts
    page.evaluate("window.scrollTo(0, 0)")
    DESKTOP.look(page, "compare-diff", full_page=False)

    # Zoomed in, a drag on one side pans both sides alike.
    mode.get_by_role("button", name="Side by side").click()
    expect(side).to_be_visible()
    mode.get_by_role("button", name="Zoom in").click()
    expect(mode.locator(".zoom-level")).to_have_text("150%")
    older = side.get_by_role("img", name="Version 1, page 1")
    newer = side.get_by_role("img", name="Version 2, page 1")
    before = (older.bounding_box(), newer.bounding_box())
    assert before[0] is not None and before[1] is not None
    assert before[0]["width"] == pytest.approx(before[1]["width"])
    frame = side.locator(".page-frame").first.bounding_box()
    assert frame is not None
    start = (frame["x"] + frame["width"] / 2, frame["y"] + frame["height"] / 2)
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(start[0] - 60, start[1] - 40, steps=6)
    page.mouse.up()
    after = (older.bounding_box(), newer.bounding_box())
    assert after[0] is not None and after[1] is not None
    for was, now in zip(before, after, strict=True):
        assert (now["x"] - was["x"], now["y"] - was["y"]) == pytest.approx((-60, -40), abs=1)
    shown = transforms(page, ".compare-side .page-canvas")
    assert len(set(shown)) == 1 and "scale(1.5)" in shown[0], shown
    mode.get_by_role("button", name="Fit").click()
    expect(mode.locator(".zoom-level")).to_have_text("100%")
    assert set(transforms(page, ".compare .page-canvas")) == {"translate(0px, 0px) scale(1)"}


def test_compare_on_a_phone(
    browser: Browser, desk: Desk, watcher: Watcher, contexts: list[BrowserContext]
) -> None:
    share_url = two_versions(desk)
    page = open_page(browser, desk, PHONE, watcher, contexts)
    page.goto(share_url + "/compare?a=1&b=2")
    side = page.locator(".compare-side")
    older = loaded(page, side.get_by_role("img", name="Version 1, page 1"))
    newer = loaded(page, side.get_by_role("img", name="Version 2, page 1"))
    assert older["y"] == pytest.approx(newer["y"]) and older["x"] + older["width"] < newer["x"]
    PHONE.look(page, "compare")

    # Zoomed, a finger drag on version 2 pans version 1 alongside it.
    page.get_by_role("button", name="Zoom in").click()
    expect(page.locator(".zoom-level")).to_have_text("150%")
    before = side.get_by_role("img", name="Version 1, page 1").bounding_box()
    box = side.get_by_role("img", name="Version 2, page 1").bounding_box()
    assert before is not None and box is not None
    swipe_up(page, box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, distance=40)
    page.wait_for_function(
        "y => document.querySelector('.compare-side img').getBoundingClientRect().y < y - 10",
        arg=before["y"],
        timeout=5_000,
    )
    shown = transforms(page, ".compare-side .page-canvas")
    assert len(set(shown)) == 1, shown
    assert page.evaluate("window.scrollY") == 0, "a zoomed page pans, it does not scroll"
