"""Comparing versions: the pixel difference finds a known change where it is."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw

from proofdesk.review.compare import compute_diff
from tests.conftest import csrf_token, login, pdf_bytes, png_bytes
from tests.proofs.test_views import post_multipart


def artwork(changed: bool) -> Image.Image:
    image = Image.new("RGB", (400, 300), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((20, 20, 120, 80), fill="navy")
    if changed:
        draw.rectangle((250, 180, 330, 240), fill="orange")
    return image


def test_a_known_change_is_found_where_it_is():
    diff = compute_diff(artwork(False), artwork(True))
    assert diff.box is not None
    left, top, right, bottom = diff.box
    assert (248 <= left <= 252, 178 <= top <= 182, 329 <= right <= 333, 239 <= bottom <= 243) == (
        True,
        True,
        True,
        True,
    )
    assert 0.03 < diff.changed_share < 0.05  # 81×61 of 400×300
    image = Image.open(io.BytesIO(diff.png)).convert("RGB")
    assert image.getpixel((290, 210)) == (230, 0, 60)  # highlighted
    assert image.getpixel((70, 50)) != (230, 0, 60)  # unchanged navy box, faded


def test_identical_pages_give_an_empty_diff():
    diff = compute_diff(artwork(True), artwork(True))
    assert diff.changed_pixels == 0 and diff.box is None


def test_different_sizes_are_scaled_not_refused():
    small = artwork(False).resize((200, 150))
    diff = compute_diff(small, artwork(False))
    assert diff.changed_share < 0.01


def test_compare_page_and_cached_diff_image(app, client, factory):
    designer = factory.user()
    first = io.BytesIO()
    artwork(False).save(first, "PNG")
    proof = factory.proof(designer, data=first.getvalue(), filename="v1.png")
    login(client, designer)
    second = io.BytesIO()
    artwork(True).save(second, "PNG")
    new = f"/proofs/{proof.id}/versions/new"
    post_multipart(
        client,
        new,
        {"csrf_token": csrf_token(client, new), "file": (io.BytesIO(second.getvalue()), "v2.png")},
    )
    page = client.get(f"/proofs/{proof.id}/compare?a=1&b=2").get_data(as_text=True)
    assert "Compare versions" in page and "Side by side" in page and "Overlay" in page
    diff_url = f"/proofs/{proof.id}/compare/1/2/pages/1"
    assert f'data-src="{diff_url}"' in page
    response = client.get(diff_url)
    assert response.mimetype == "image/png"
    image = Image.open(io.BytesIO(response.data)).convert("RGB")
    scale = image.width / 400
    assert image.getpixel((int(290 * scale), int(210 * scale))) == (230, 0, 60)
    again = client.get(diff_url)
    assert again.data == response.data  # served from the cache
    stored = [
        p
        for p in (
            app.config["UPLOAD_FOLDER"]
            and __import__("pathlib").Path(app.config["UPLOAD_FOLDER"]).rglob("diffs/*.png")
        )
    ]
    assert len(stored) == 1


def test_different_page_counts_are_explained(client, factory):
    designer = factory.user()
    proof = factory.proof(designer, data=pdf_bytes(2), filename="two.pdf")
    login(client, designer)
    new = f"/proofs/{proof.id}/versions/new"
    post_multipart(
        client,
        new,
        {"csrf_token": csrf_token(client, new), "file": (io.BytesIO(pdf_bytes(3)), "three.pdf")},
    )
    page = client.get(f"/proofs/{proof.id}/compare").get_data(as_text=True)
    assert "Version 1 has 2 pages and version 2 has 3" in page
    assert "Only version 2 has page 3." in page
    assert client.get(f"/proofs/{proof.id}/compare/1/2/pages/3").status_code == 404
    assert client.get(f"/proofs/{proof.id}/compare?a=9&b=x").status_code == 200


def test_share_link_reviewers_can_compare(app, client, factory):
    from tests.review.test_share_link import share_path

    designer = factory.user()
    proof = factory.proof(designer, data=png_bytes())
    login(client, designer)
    new = f"/proofs/{proof.id}/versions/new"
    post_multipart(
        client,
        new,
        {
            "csrf_token": csrf_token(client, new),
            "file": (io.BytesIO(png_bytes(color="#ff0000")), "v2.png"),
        },
    )
    path = share_path(client, proof)
    visitor = app.test_client()
    assert "Compare versions" in visitor.get(f"{path}/compare?a=1&b=2").get_data(as_text=True)
    assert visitor.get(f"{path}/compare/1/2/pages/1").mimetype == "image/png"
