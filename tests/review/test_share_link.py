"""Review by share link: view, comment, request changes, approve, revoke, retire."""

from __future__ import annotations

import re

import sqlalchemy as sa

from proofdesk.activity import Activity
from proofdesk.proofs.models import Proof
from proofdesk.review.models import Decision, ShareLink
from proofdesk.tokens import hash_token
from tests.conftest import login


def share_path(client, proof) -> str:
    page = client.get(f"/proofs/{proof.id}").get_data(as_text=True)
    match = re.search(
        r'id="share-url" type="text" readonly value="https://proofs\.example\.test'
        r'(/s/[A-Za-z0-9_-]+)"',
        page,
    )
    assert match, "no share link on the proof page"
    return match.group(1)


def form_token(page: str) -> str:
    return re.search(
        r'name="(?:comment-)?csrf_token" (?:type="hidden" )?value="([^"]+)"', page
    ).group(1)


def test_share_link_shows_the_proof_without_login(app, client, factory, db_session):
    designer = factory.user()
    proof = factory.proof(designer, title="Window vinyl")
    login(client, designer)
    path = share_path(client, proof)
    visitor = app.test_client()
    response = visitor.get(path)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Window vinyl" in page
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Robots-Tag"].startswith("noindex")
    with visitor.get(f"{path}/v/1/pages/1") as image:
        assert image.mimetype == "image/jpeg"
    # Only a hash of the token is stored.
    token = path.rsplit("/", 1)[1]
    assert len(token) >= 43
    assert db_session.scalar(sa.select(ShareLink.token_hash)) == hash_token(token)
    assert (
        db_session.scalar(
            sa.select(sa.func.count()).select_from(ShareLink).where(ShareLink.token_hash == token)
        )
        == 0
    )
    viewed = db_session.scalar(sa.select(Activity).where(Activity.kind == "share_link.viewed"))
    assert viewed.proof_id == proof.id and viewed.ip == "127.0.0.1"


def test_request_changes_needs_a_comment_and_a_name(app, client, factory, db_session):
    designer = factory.user()
    proof = factory.proof(designer)
    login(client, designer)
    path = share_path(client, proof)
    visitor = app.test_client()
    token = form_token(visitor.get(path).get_data(as_text=True))
    response = visitor.post(
        f"{path}/decision",
        data={"csrf_token": token, "decision": "changes_requested", "name": "Carla", "comment": ""},
    )
    assert response.status_code == 400
    assert "Say what should change" in response.get_data(as_text=True)
    response = visitor.post(
        f"{path}/decision",
        data={"csrf_token": token, "decision": "approved", "name": "  ", "comment": ""},
    )
    assert "Enter your name" in response.get_data(as_text=True)
    assert db_session.scalar(sa.select(sa.func.count()).select_from(Decision)) == 0
    response = visitor.post(
        f"{path}/decision",
        data={
            "csrf_token": token,
            "decision": "changes_requested",
            "name": "Carla",
            "comment": "Logo <b>bigger</b> please",
        },
    )
    assert response.status_code == 302
    page = visitor.get(path).get_data(as_text=True)
    assert "Logo &lt;b&gt;bigger&lt;/b&gt; please" in page and "Changes requested" in page
    db_session.expire_all()
    assert db_session.get(Proof, proof.id).status == "changes_requested"
    staff_page = client.get(f"/proofs/{proof.id}").get_data(as_text=True)
    assert "Carla" in staff_page and "requested changes" in staff_page


def test_decision_belongs_to_one_version_and_old_versions_cannot_be_approved(
    app, client, factory, db_session
):
    from io import BytesIO

    from tests.conftest import csrf_token, png_bytes
    from tests.proofs.test_views import post_multipart

    designer = factory.user()
    proof = factory.proof(designer)
    login(client, designer)
    path = share_path(client, proof)
    visitor = app.test_client()
    token = form_token(visitor.get(path).get_data(as_text=True))
    visitor.post(
        f"{path}/decision", data={"csrf_token": token, "decision": "approved", "name": "Dan"}
    )
    new = f"/proofs/{proof.id}/versions/new"
    post_multipart(
        client,
        new,
        {
            "csrf_token": csrf_token(client, new),
            "file": (BytesIO(png_bytes(color="#ff0000")), "v2.png"),
        },
    )
    page = visitor.get(path).get_data(as_text=True)
    assert "version 2" in page and "Awaiting review" in page
    old = visitor.get(f"{path}/v/1").get_data(as_text=True)
    assert "which has been replaced" in old and "Approve version 1" not in old
    visitor.post(
        f"{path}/decision", data={"csrf_token": token, "decision": "approved", "name": "Dan"}
    )
    decisions = db_session.scalars(sa.select(Decision).order_by(Decision.id)).all()
    assert [(d.decision, d.version.number) for d in decisions] == [("approved", 1), ("approved", 2)]


def test_revoked_and_unknown_links_answer_alike(app, client, factory):
    designer = factory.user()
    proof = factory.proof(designer)
    login(client, designer)
    path = share_path(client, proof)
    token = form_token(client.get(f"/proofs/{proof.id}").get_data(as_text=True))
    client.post(f"/proofs/{proof.id}/share-link", data={"csrf_token": token, "action": "revoke"})
    visitor = app.test_client()
    revoked = visitor.get(path)
    unknown = visitor.get("/s/" + "A" * 43)
    assert revoked.status_code == unknown.status_code == 404
    assert revoked.get_data(as_text=True) == unknown.get_data(as_text=True)
    assert visitor.get(f"{path}/v/1/pages/1").status_code == 404
    # Re-issuing makes a new link; the old one stays dead.
    client.post(f"/proofs/{proof.id}/share-link", data={"csrf_token": token, "action": "issue"})
    new_path = share_path(client, proof)
    assert new_path != path
    assert visitor.get(new_path).status_code == 200
    assert visitor.get(path).status_code == 404
    page = client.get(f"/proofs/{proof.id}").get_data(as_text=True)
    assert "revoked the share link" in page and "issued a new share link" in page


def test_retired_share_links_show_nothing_of_the_proof(make_app, factory):
    app = make_app()
    client = app.test_client()
    designer = factory.user()
    proof = factory.proof(designer, title="Secret launch poster")
    login(client, designer)
    path = share_path(client, proof)
    retired_app = make_app(LEGACY_PUBLIC_LINKS_ENABLED="false")
    visitor = retired_app.test_client()
    for suffix in ("", "/v/1", "/v/1/pages/1", "/v/1/file", "/v/1/status"):
        response = visitor.get(path + suffix)
        text = response.get_data(as_text=True)
        assert response.status_code == 410, suffix
        assert "This link has been retired" in text and "Secret launch poster" not in text
    assert visitor.post(path + "/decision", data={"decision": "approved"}).status_code in (400, 410)


def test_comment_from_the_share_page_and_from_staff(app, client, factory, db_session):
    designer = factory.user(name="Desi Designer")
    proof = factory.proof(designer)
    login(client, designer)
    path = share_path(client, proof)
    visitor = app.test_client()
    token = form_token(visitor.get(path).get_data(as_text=True))
    response = visitor.post(
        f"{path}/comments", data={"csrf_token": token, "comment-name": "Eve", "comment-body": ""}
    )
    assert response.status_code == 400 and "Write a comment first." in response.get_data(
        as_text=True
    )
    visitor.post(
        f"{path}/comments",
        data={"csrf_token": token, "comment-name": "Eve", "comment-body": "Is the red right?"},
    )
    staff_token = form_token(client.get(f"/proofs/{proof.id}").get_data(as_text=True))
    client.post(
        f"/proofs/{proof.id}/comments",
        data={"csrf_token": staff_token, "comment-body": "Yes, Pantone 186."},
    )
    page = visitor.get(path).get_data(as_text=True)
    assert page.index("Is the red right?") < page.index("Yes, Pantone 186.")
    assert "Desi Designer" in page


def test_after_a_secret_key_change_the_page_asks_for_a_new_link(make_app, factory):
    app = make_app()
    client = app.test_client()
    designer = factory.user()
    proof = factory.proof(designer)
    login(client, designer)
    old_path = share_path(client, proof)
    rotated = make_app(SECRET_KEY="another-secret-key-" + "y" * 40)
    staff = rotated.test_client()
    login(staff, designer)
    page = staff.get(f"/proofs/{proof.id}").get_data(as_text=True)
    assert "can no longer be shown here" in page and 'id="share-url"' not in page
    assert rotated.test_client().get(old_path).status_code == 200  # the old link still works
    from tests.conftest import csrf_token

    staff.post(
        f"/proofs/{proof.id}/share-link",
        data={"csrf_token": csrf_token(staff, f"/proofs/{proof.id}"), "action": "issue"},
    )
    assert rotated.test_client().get(share_path(staff, proof)).status_code == 200
