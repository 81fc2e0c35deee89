"""Compare two versions: page pairs, and a server-side difference image per page, cached."""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageChops, ImageOps

from proofdesk.proofs.models import ProofPage, ProofVersion
from proofdesk.storage import Storage

# Differences below this (0–255 per channel) are JPEG noise, not changes.
THRESHOLD = 40
HIGHLIGHT = (230, 0, 60)


@dataclass(frozen=True)
class PagePair:
    number: int
    a: ProofPage | None
    b: ProofPage | None


@dataclass(frozen=True)
class Diff:
    png: bytes
    changed_pixels: int
    total_pixels: int
    box: tuple[int, int, int, int] | None  # left, top, right, bottom of the change

    @property
    def changed_share(self) -> float:
        return self.changed_pixels / self.total_pixels if self.total_pixels else 0.0


def page_pairs(a: ProofVersion, b: ProofVersion) -> list[PagePair]:
    pages_a = {p.number: p for p in a.pages}
    pages_b = {p.number: p for p in b.pages}
    count = max(a.page_count, b.page_count)
    return [PagePair(n, pages_a.get(n), pages_b.get(n)) for n in range(1, count + 1)]


def compute_diff(image_a: Image.Image, image_b: Image.Image) -> Diff:
    """Highlight the pixels of B that differ from A (A scaled to B's size), over a faded B."""
    b = image_b.convert("RGB")
    a = image_a.convert("RGB")
    if a.size != b.size:
        a = a.resize(b.size, Image.Resampling.LANCZOS)
    difference = ImageChops.difference(a, b).convert("L")
    mask = difference.point(lambda v: 255 if v > THRESHOLD else 0, mode="L")
    box = mask.getbbox()
    changed = mask.histogram()[255]
    faded = Image.blend(
        ImageOps.grayscale(b).convert("RGB"), Image.new("RGB", b.size, "white"), 0.6
    )
    faded.paste(Image.new("RGB", b.size, HIGHLIGHT), mask=mask)
    out = io.BytesIO()
    faded.save(out, "PNG", optimize=True)
    return Diff(
        png=out.getvalue(), changed_pixels=changed, total_pixels=b.width * b.height, box=box
    )


def diff_key(page_a: ProofPage, page_b: ProofPage) -> str:
    return f"diffs/{page_a.id}-{page_b.id}.png"


def cached_diff(storage: Storage, page_a: ProofPage, page_b: ProofPage) -> bytes:
    """The difference image for two rendered pages, computed once and kept in storage."""
    key = diff_key(page_a, page_b)
    if storage.exists(key):
        return storage.read(key)
    with (
        Image.open(io.BytesIO(storage.read(page_a.image_key))) as image_a,
        Image.open(io.BytesIO(storage.read(page_b.image_key))) as image_b,
    ):
        diff = compute_diff(image_a, image_b)
    storage.save(key, io.BytesIO(diff.png), "image/png")
    return diff.png
