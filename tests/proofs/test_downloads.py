"""Downloads of an original file are named with the extension of its real type."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from tests.conftest import login, pdf_bytes, png_bytes
from tests.customer_login.helpers import customer_with_login
from tests.review.test_share_link import share_path


def image_bytes(format: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (60, 40), "#cc3366").save(out, format)
    return out.getvalue()


@pytest.fixture
def app(make_app):
    return make_app(CUSTOMER_LOGIN_ENABLED="true")


@pytest.mark.parametrize(
    ("uploaded", "data", "content_type", "saved"),
    [
        ("invoice.html", png_bytes(), "image/png", "invoice.png"),
        ("artwork", png_bytes(), "image/png", "artwork.png"),
        ("photo.JPEG", image_bytes("JPEG"), "image/jpeg", "photo.JPEG"),
        ("banner.svg", image_bytes("WEBP"), "image/webp", "banner.webp"),
        ("scan.exe", image_bytes("TIFF"), "image/tiff", "scan.tif"),
        ("menu.png", pdf_bytes(1), "application/pdf", "menu.pdf"),
    ],
)
def test_every_download_has_the_extension_of_the_real_type(
    app, client, factory, uploaded, data, content_type, saved
):
    designer, customer = factory.user(), factory.customer(email="max@muster.test")
    proof = factory.proof(designer, customer, data=data, filename=uploaded)
    login(client, designer)
    visitor = app.test_client()
    share = share_path(client, proof)
    admin = app.test_client()
    login(admin, factory.user("admin"))
    portal = customer_with_login(app, admin, customer)
    downloads = {
        "staff": client.get(f"/proofs/{proof.id}/v/1/file"),
        "share link": visitor.get(f"{share}/v/1/file"),
        "portal": portal.get(f"/portal/proofs/{proof.id}/v/1/file"),
    }
    for who, response in downloads.items():
        assert response.status_code == 200, who
        assert response.data == data and response.mimetype == content_type, who
        disposition = response.headers["Content-Disposition"]
        assert disposition == (f"attachment; filename=\"{saved}\"; filename*=UTF-8''{saved}"), who
    # Pages keep showing the name the designer uploaded.
    assert uploaded in client.get(f"/proofs/{proof.id}").get_data(as_text=True)
