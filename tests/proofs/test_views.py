"""Uploading proofs and versions through the forms, as a designer does."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image
from werkzeug.datastructures import FileStorage
from werkzeug.test import stream_encode_multipart

from proofdesk.proofs.models import Proof, ProofPage, ProofVersion
from proofdesk.worker import run_once
from tests.conftest import csrf_token, login, pdf_bytes, png_bytes


def upload(client, customer_id, data, filename="art.png", title="Shop sign", **extra):
    form = {
        "customer_id": str(customer_id),
        "title": title,
        "csrf_token": csrf_token(client, "/proofs/new"),
        "file": (io.BytesIO(data), filename),
        **extra,
    }
    return post_multipart(client, "/proofs/new", form)


def post_multipart(client, path, form):
    # Encoded in memory: werkzeug's own temporary file for big bodies is never closed
    # when the app refuses the body unread (413).
    form = {
        key: FileStorage(value[0], filename=value[1]) if isinstance(value, tuple) else value
        for key, value in form.items()
    }
    stream, length, boundary = stream_encode_multipart(form, use_tempfile=False)
    return client.post(
        path,
        input_stream=stream,
        content_length=length,
        content_type=f"multipart/form-data; boundary={boundary}",
    )


def stored_files(app) -> list[Path]:
    root = Path(app.config["UPLOAD_FOLDER"])
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def count(session, model) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(model))


def test_designer_uploads_a_multi_page_pdf(app, client, factory, db_session):
    designer, customer = factory.user(), factory.customer(name="Bea Baker")
    login(client, designer)
    response = upload(
        client,
        customer.id,
        pdf_bytes(4),
        "menu.pdf",
        title="Menu board",
        message="First draft",
        due_date="2026-12-01",
    )
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Menu board" in page and "Bea Baker" in page
    assert "Page 1 of 4" in page
    proof = db_session.scalar(sa.select(Proof))
    assert f'src="/proofs/{proof.id}/v/1/pages/4"' in page  # loaded lazily, as one scrolls
    assert "https://proofs.example.test/s/" in page  # the share link, built from BASE_URL
    version = proof.versions[0]
    assert (version.kind, version.page_count, version.pages_rendered) == ("pdf", 4, 1)
    # A reviewer who scrolls to page 3 before the worker gets there has it rendered at once.
    with client.get(f"/proofs/{proof.id}/v/1/pages/3") as image:
        assert image.status_code == 200 and image.mimetype == "image/jpeg"
    db_session.expire_all()
    assert db_session.get(ProofVersion, version.id).pages_rendered == 2
    # The worker renders the rest, without rendering page 3 twice.
    assert run_once(app) >= 1
    db_session.expire_all()
    assert db_session.get(ProofVersion, version.id).pages_rendered == 4
    assert sorted(db_session.scalars(sa.select(ProofPage.number))) == [1, 2, 3, 4]
    for number in range(1, 5):
        image = client.get(f"/proofs/{proof.id}/v/1/pages/{number}")
        assert image.status_code == 200 and image.mimetype == "image/jpeg"
        assert Image.open(io.BytesIO(image.data)).width > 0
    status = client.get(f"/proofs/{proof.id}/v/1/status").get_json()
    assert status == {
        "pages_rendered": 4,
        "page_count": 4,
        "status": "done",
        "rendered": [1, 2, 3, 4],
    }


def test_file_type_is_decided_by_content_not_by_name(app, client, factory, db_session):
    designer, customer = factory.user(), factory.customer()
    login(client, designer)
    response = upload(client, customer.id, b"<html><script>alert(1)</script></html>", "art.pdf")
    assert response.status_code == 400
    assert "not a file Proofdesk can show" in response.get_data(as_text=True)
    # A PNG named .pdf is a PNG.
    assert upload(client, customer.id, png_bytes(), "really-a-png.pdf").status_code == 302
    assert db_session.scalar(sa.select(ProofVersion.content_type)) == "image/png"


@pytest.mark.parametrize(
    "data,message",
    [
        (b"", "The file is empty"),
        (pdf_bytes(2)[:300], "The PDF is damaged"),
        (png_bytes()[:100], "The image is damaged or incomplete"),
    ],
)
def test_bad_files_get_a_message_and_store_nothing(app, client, factory, db_session, data, message):
    designer, customer = factory.user(), factory.customer()
    login(client, designer)
    response = upload(client, customer.id, data, "bad.pdf")
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert count(db_session, Proof) == 0 and count(db_session, ProofVersion) == 0
    assert stored_files(app) == []


def test_decompression_bomb_is_refused(make_app, factory, db_session):
    app = make_app(MAX_IMAGE_MEGAPIXELS="1")
    client = app.test_client()
    designer, customer = factory.user(), factory.customer()
    login(client, designer)
    response = upload(client, customer.id, png_bytes(1500, 1000), "huge.png")
    assert response.status_code == 400
    assert "too large to show: at most 1 megapixels" in response.get_data(as_text=True)
    assert count(db_session, Proof) == 0 and stored_files(app) == []


def test_oversized_upload_gets_413_and_a_readable_page(make_app, factory, db_session):
    app = make_app(MAX_UPLOAD_MB="1")
    client = app.test_client()
    designer, customer = factory.user(), factory.customer()
    login(client, designer)
    response = upload(client, customer.id, b"\x89PNG\r\n\x1a\n" + b"0" * (3 * 1024 * 1024))
    assert response.status_code == 413
    assert "larger than 1 MB" in response.get_data(as_text=True)
    assert count(db_session, Proof) == 0 and stored_files(app) == []


def test_form_errors_show_next_to_the_fields(client, factory):
    login(client, factory.user())
    response = client.post(
        "/proofs/new",
        data={"csrf_token": csrf_token(client, "/proofs/new"), "customer_id": "0", "title": ""},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Choose a customer." in page and "Choose the artwork file." in page
    assert "This field is required." in page  # the title


def test_new_version_supersedes_the_old_one_and_resets_status(app, client, factory, db_session):
    designer = factory.user()
    proof = factory.proof(designer)
    proof.status = "changes_requested"
    db_session.commit()
    login(client, designer)
    path = f"/proofs/{proof.id}/versions/new"
    response = post_multipart(
        client,
        path,
        {"csrf_token": csrf_token(client, path), "file": (io.BytesIO(pdf_bytes(2)), "v2.pdf")},
    )
    assert response.status_code == 302
    db_session.expire_all()
    proof = db_session.get(Proof, proof.id)
    assert (proof.current_version, proof.status) == (2, "awaiting_review")
    page = client.get(f"/proofs/{proof.id}/v/1").get_data(as_text=True)
    assert "version 1, which is superseded" in page
    with client.get(f"/proofs/{proof.id}/v/1/pages/1") as image:
        assert image.status_code == 200
    assert "Superseded" in client.get(f"/proofs/{proof.id}").get_data(as_text=True)


def test_original_download_has_exact_bytes_and_safe_headers(app, client, factory):
    designer = factory.user()
    data = png_bytes()
    proof = factory.proof(designer, data=data, filename='plan "final"\r\n é.png')
    login(client, designer)
    response = client.get(f"/proofs/{proof.id}/v/1/file")
    assert response.data == data
    assert response.mimetype == "image/png"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment; filename=")
    assert "\r" not in disposition and "\n" not in disposition
    assert "filename*=UTF-8''plan%20%22final%22%20%C3%A9.png" in disposition
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response.headers["Content-Security-Policy"]


def test_another_designers_proof_answers_404(client, factory):
    owner, other = factory.user(), factory.user()
    proof = factory.proof(owner)
    login(client, other)
    for path in (
        f"/proofs/{proof.id}",
        f"/proofs/{proof.id}/v/1/pages/1",
        f"/proofs/{proof.id}/v/1/file",
        f"/proofs/{proof.id}/versions/new",
        f"/proofs/{proof.id}/v/1",
        "/proofs/999999",
    ):
        assert client.get(path).status_code == 404, path


def test_admin_sees_every_proof(client, factory):
    proof = factory.proof(factory.user(), title="Someone else's banner")
    login(client, factory.user(role="admin"))
    assert client.get(f"/proofs/{proof.id}").status_code == 200
    assert "Someone else&#39;s banner" in client.get("/proofs").get_data(as_text=True)


def test_failed_render_is_shown_not_hidden(app, client, factory, db_session):
    designer = factory.user()
    proof = factory.proof(designer, data=pdf_bytes(3), filename="a.pdf")
    version = proof.versions[0]
    # Replace the stored original with garbage: the worker cannot render pages 2 and 3.
    Path(app.config["UPLOAD_FOLDER"], version.file_key).write_bytes(b"%PDF-1.4 broken")
    run_once(app)
    db_session.expire_all()
    assert db_session.get(ProofVersion, version.id).render_status == "failed"
    login(client, designer)
    assert "could not be shown" in client.get(f"/proofs/{proof.id}").get_data(as_text=True)
    assert count(db_session, ProofPage) == 1


def test_a_big_studio_can_still_upload_for_any_customer(client, factory, db_session):
    from proofdesk.customers.models import Customer
    from proofdesk.db import utcnow

    designer = factory.user()
    db_session.execute(
        sa.insert(Customer),
        [
            {"name": f"Bulk {n:04d}", "email": f"bulk{n}@client.test", "created_at": utcnow()}
            for n in range(1005)
        ],
    )
    db_session.commit()
    far = db_session.scalar(sa.select(Customer).where(Customer.name == "Bulk 0999"))
    login(client, designer)
    page = client.get("/proofs/new").get_data(as_text=True)
    assert "Bulk 0999" not in page and "Not in the list?" in page  # not every customer
    page = client.get(f"/proofs/new?customer={far.id}").get_data(as_text=True)
    assert f'<option selected value="{far.id}">Bulk 0999</option>' in page
    assert upload(client, far.id, png_bytes()).status_code == 302
    assert "Bulk 0999" in client.get("/proofs/new").get_data(as_text=True)  # now recent
