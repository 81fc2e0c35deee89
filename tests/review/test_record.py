"""The approval record: the exact file, who, when, from where, terms; withdraw; lock; PDF."""

from __future__ import annotations

import hashlib
import io

import pypdfium2 as pdfium
import sqlalchemy as sa

from proofdesk.proofs.models import Proof
from proofdesk.review.models import Decision
from tests.conftest import csrf_token, login, png_bytes
from tests.proofs.test_views import upload
from tests.review.test_share_link import form_token, share_path


def approve(visitor, path, **extra):
    token = form_token(visitor.get(path).get_data(as_text=True))
    return visitor.post(
        f"{path}/decision",
        data={"csrf_token": token, "decision": "approved", "name": "Ines", **extra},
        headers={"User-Agent": "TestBrowser/1.0"},
    )


def test_decision_keeps_the_files_hash_and_where_it_came_from(app, client, factory, db_session):
    designer = factory.user()
    data = png_bytes(color="#123456")
    proof = factory.proof(designer, data=data)
    login(client, designer)
    path = share_path(client, proof)
    assert approve(app.test_client(), path).status_code == 302
    decision = db_session.scalar(sa.select(Decision))
    assert decision.file_sha256 == hashlib.sha256(data).hexdigest()
    assert (decision.reviewer_name, decision.ip, decision.user_agent) == (
        "Ines",
        "127.0.0.1",
        "TestBrowser/1.0",
    )
    page = client.get(f"/proofs/{proof.id}").get_data(as_text=True)
    assert decision.file_sha256 in page and "Approval record (PDF)" in page


def test_terms_must_be_ticked_when_the_proof_asks(app, client, factory, db_session):
    designer = factory.user()
    login(client, designer)
    upload(client, factory.customer().id, png_bytes(), require_terms="y")
    proof = db_session.scalar(sa.select(Proof))
    assert proof.require_terms
    path = share_path(client, proof)
    visitor = app.test_client()
    page = visitor.get(path).get_data(as_text=True)
    assert app.config["APPROVAL_TERMS"] in page
    response = approve(visitor, path)
    assert response.status_code == 400
    assert "Tick the approval terms to approve." in response.get_data(as_text=True)
    assert approve(visitor, path, accept_terms="y").status_code == 302
    decision = db_session.scalar(sa.select(Decision))
    assert decision.terms == app.config["APPROVAL_TERMS"]


def test_approval_can_be_withdrawn_with_a_reason_until_locked(app, client, factory, db_session):
    designer = factory.user()
    proof = factory.proof(designer)
    login(client, designer)
    path = share_path(client, proof)
    visitor = app.test_client()
    approve(visitor, path)
    token = form_token(visitor.get(path).get_data(as_text=True))
    response = visitor.post(
        f"{path}/decision/withdraw", data={"csrf_token": token, "withdraw-reason": ""}
    )
    assert "Say why you withdraw the approval." in response.get_data(as_text=True)
    visitor.post(
        f"{path}/decision/withdraw",
        data={
            "csrf_token": token,
            "withdraw-reason": "Wrong date on the flyer",
            "withdraw-name": "Ines",
        },
    )
    db_session.expire_all()
    assert db_session.get(Proof, proof.id).status == "awaiting_review"
    decision = db_session.scalar(sa.select(Decision))
    assert decision.withdrawn_reason == "Wrong date on the flyer"
    staff = client.get(f"/proofs/{proof.id}").get_data(as_text=True)
    assert "withdrew the approval" in staff and "Wrong date on the flyer" in staff
    # Approve again, then the designer locks it for production: no more changes.
    approve(visitor, path)
    client.post(
        f"/proofs/{proof.id}/lock",
        data={"csrf_token": csrf_token(client, f"/proofs/{proof.id}"), "action": "lock"},
    )
    page = visitor.get(path).get_data(as_text=True)
    assert "Locked for production" in page and "Withdraw approval" not in page
    response = visitor.post(
        f"{path}/decision/withdraw", data={"csrf_token": token, "withdraw-reason": "Too late"}
    )
    assert "locked for production" in response.get_data(as_text=True)
    assert approve(visitor, path).status_code == 400
    new = client.get(f"/proofs/{proof.id}/versions/new", follow_redirects=True)
    assert "This proof is locked for production" in new.get_data(as_text=True)


def test_approval_record_pdf_names_the_hash_the_decision_and_open_comments(
    app, client, factory, db_session
):
    designer = factory.user()
    customer = factory.customer(name="Jules Café")
    data = png_bytes(color="#654321")
    proof = factory.proof(designer, customer, title="Café sign", data=data)
    login(client, designer)
    path = f"/proofs/{proof.id}"
    client.post(
        f"{path}/comments",
        data={
            "comment-body": "Kerning on the C",
            "comment-csrf_token": csrf_token(client, path),
            "page": "1",
            "x": "0.2",
            "y": "0.2",
        },
    )
    approve(app.test_client(), share_path(client, proof))
    decision = db_session.scalar(sa.select(Decision))
    response = client.get(f"{path}/decisions/{decision.id}/approval-record.pdf")
    assert response.mimetype == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]
    pdf = pdfium.PdfDocument(io.BytesIO(response.data))
    try:
        page = pdf[0]
        text = page.get_textpage().get_text_range()
        page.close()
    finally:
        pdf.close()
    text = " ".join(text.split())
    assert hashlib.sha256(data).hexdigest() in text.replace(" ", "")
    for expected in (
        "Approval record",
        "Café sign",
        "Approved",
        "Ines",
        "Kerning on the C",
        "Open comments (1)",
    ):
        assert expected in text, expected
    other = factory.user()
    client.post("/logout", data={"csrf_token": csrf_token(client, "/proofs")})
    login(client, other)
    assert client.get(f"{path}/decisions/{decision.id}/approval-record.pdf").status_code == 404
