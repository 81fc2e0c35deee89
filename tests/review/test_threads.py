"""Pinned comments, replies, resolving, and threads carried forward to new versions."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa

from proofdesk.errors import ServiceError
from proofdesk.review.models import Comment
from proofdesk.review.threads import parse_pin
from tests.conftest import csrf_token, login, pdf_bytes, png_bytes
from tests.proofs.test_views import post_multipart


def comment(client, proof_id, body, version=None, **pin):
    path = f"/proofs/{proof_id}"
    data = {
        "comment-body": body,
        "comment-csrf_token": csrf_token(client, path),
        **{k: str(v) for k, v in pin.items()},
    }
    if version:
        data["version"] = str(version)
    return client.post(f"{path}/comments", data=data)


@pytest.mark.parametrize(
    "fields,message",
    [
        ({"page": "3", "x": "0.5", "y": "0.5"}, "a page this version does not have"),
        ({"page": "1", "x": "1.5", "y": "0.5"}, "must be on the artwork"),
        ({"page": "1", "x": "abc", "y": "0.5"}, "could not be read"),
        ({"page": "1", "x": "0.9", "y": "0.1", "w": "0.5", "h": "0.2"}, "must lie on the artwork"),
        ({"page": "1", "x": "0.1", "y": "0.1", "w": "0.5"}, "needs a width and a height"),
    ],
)
def test_bad_pins_are_refused_with_a_reason(fields, message):
    with pytest.raises(ServiceError, match=message):
        parse_pin(
            fields.get("page"),
            fields.get("x"),
            fields.get("y"),
            fields.get("w"),
            fields.get("h"),
            page_count=2,
        )


def test_no_pin_fields_means_no_pin():
    assert parse_pin("", "", "", page_count=1) is None


def test_pins_are_numbered_on_the_page_and_in_the_thread(client, factory, db_session):
    designer = factory.user()
    proof = factory.proof(designer, data=pdf_bytes(2), filename="two.pdf")
    login(client, designer)
    assert comment(client, proof.id, "Logo too small", page=1, x=0.25, y=0.75).status_code == 302
    comment(client, proof.id, "General remark")
    comment(client, proof.id, "Wrong phone number", page=2, x=0.1, y=0.2, w=0.5, h=0.1)
    page = client.get(f"/proofs/{proof.id}").get_data(as_text=True)
    assert 'data-pin="1"' in page and 'data-x="0.25" data-y="0.75"' in page
    assert 'data-pin="2"' in page and 'data-w="0.5" data-h="0.1"' in page
    assert 'aria-label="Pin 2, page 2"' in page
    rows = db_session.scalars(sa.select(Comment).order_by(Comment.id)).all()
    assert [(c.page_number, c.pin_x) for c in rows] == [(1, 0.25), (None, None), (2, 0.1)]


def test_replies_form_a_thread_and_resolving_can_be_undone(app, client, factory, db_session):
    designer = factory.user(name="Dee")
    proof = factory.proof(designer)
    login(client, designer)
    comment(client, proof.id, "Is this the final logo?", page=1, x=0.5, y=0.5)
    root = db_session.scalar(sa.select(Comment))
    path = f"/proofs/{proof.id}"
    client.post(
        f"{path}/comments",
        data={
            "comment-body": "Yes, final.",
            "reply_to": root.id,
            "comment-csrf_token": csrf_token(client, path),
        },
    )
    reply = db_session.scalar(sa.select(Comment).where(Comment.parent_id == root.id))
    assert reply.body == "Yes, final." and reply.version_id == root.version_id
    client.post(
        f"{path}/threads/{root.id}",
        data={"action": "resolve", "csrf_token": csrf_token(client, path)},
    )
    page = client.get(path).get_data(as_text=True)
    assert "Resolved by Dee" in page and "Reopen" in page
    client.post(
        f"{path}/threads/{root.id}",
        data={"action": "reopen", "csrf_token": csrf_token(client, path)},
    )
    assert "Resolved by" not in client.get(path).get_data(as_text=True)
    # Someone else's thread id is not found through this proof.
    other = factory.proof(designer)
    response = client.post(
        f"/proofs/{other.id}/threads/{root.id}",
        data={"action": "resolve", "csrf_token": csrf_token(client, path)},
    )
    assert response.status_code == 404


def test_unresolved_threads_are_carried_to_the_new_version(client, factory, db_session):
    designer = factory.user()
    proof = factory.proof(designer)
    login(client, designer)
    comment(client, proof.id, "Open point", page=1, x=0.3, y=0.3)
    comment(client, proof.id, "Done point", page=1, x=0.6, y=0.6)
    done = db_session.scalar(sa.select(Comment).where(Comment.body == "Done point"))
    path = f"/proofs/{proof.id}"
    client.post(
        f"{path}/threads/{done.id}",
        data={"action": "resolve", "csrf_token": csrf_token(client, path)},
    )
    new = f"{path}/versions/new"
    post_multipart(
        client,
        new,
        {
            "csrf_token": csrf_token(client, new),
            "file": (io.BytesIO(png_bytes(color="#00ff00")), "v2.png"),
        },
    )
    v2 = client.get(path).get_data(as_text=True)
    assert "Open point" in v2 and "From version 1" in v2
    assert "Done point" not in v2
    v1 = client.get(f"{path}/v/1").get_data(as_text=True)
    assert "Open point" in v1 and "Done point" in v1 and "From version 1" not in v1
    # A comment written while looking at version 1 belongs to version 1.
    comment(client, proof.id, "About the old one", version=1)
    old = db_session.scalar(sa.select(Comment).where(Comment.body == "About the old one"))
    assert old.version.number == 1


def test_share_link_reviewers_pin_reply_and_resolve(app, client, factory, db_session):
    from tests.review.test_share_link import form_token, share_path

    designer = factory.user()
    proof = factory.proof(designer)
    login(client, designer)
    path = share_path(client, proof)
    visitor = app.test_client()
    token = form_token(visitor.get(path).get_data(as_text=True))
    visitor.post(
        f"{path}/comments",
        data={
            "comment-csrf_token": token,
            "comment-name": "Vera",
            "comment-body": "Move this",
            "page": "1",
            "x": "0.4",
            "y": "0.6",
        },
    )
    root = db_session.scalar(sa.select(Comment))
    assert (root.author_name, root.page_number) == ("Vera", 1)
    visitor.post(
        f"{path}/threads/{root.id}", data={"csrf_token": token, "action": "resolve", "name": "Vera"}
    )
    db_session.expire_all()
    assert db_session.get(Comment, root.id).resolved_by == "Vera"
