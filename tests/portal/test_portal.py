"""The portal: the customer's proofs across designers, waiting ones first; others' are 404."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from proofdesk.proofs.models import Proof
from proofdesk.review.models import Comment
from tests.conftest import csrf_token, login
from tests.customer_login.helpers import customer_with_login


@pytest.fixture
def app(make_app):
    return make_app(CUSTOMER_LOGIN_ENABLED="true")


def test_portal_lists_proofs_across_designers_awaiting_first(app, client, factory, db_session):
    a, b = factory.user(name="Ann"), factory.user(name="Bob")
    me, other = factory.customer(name="Me"), factory.customer(name="Other")
    done = factory.proof(a, me, title="Done poster")
    later = factory.proof(b, me, title="Later flyer")
    soon = factory.proof(a, me, title="Soon sign")
    factory.proof(a, other, title="Not mine")
    done.status = "approved"
    later.due_date, soon.due_date = dt.date(2027, 3, 1), dt.date(2027, 1, 1)
    db_session.commit()
    login(client, factory.user("admin"))  # two designers' customer: an admin invites
    portal = customer_with_login(app, client, me)
    page = portal.get("/portal").get_data(as_text=True)
    assert "Not mine" not in page
    assert page.index("Soon sign") < page.index("Later flyer") < page.index("Done poster")
    assert "01 Jan 2027" in page and "Bob" in page and "Ann" in page


def test_another_customers_proof_answers_404(app, client, factory):
    designer = factory.user()
    me, other = factory.customer(), factory.customer()
    theirs = factory.proof(designer, other)
    login(client, factory.user("admin"))
    portal = customer_with_login(app, client, me)
    for path in (
        f"/portal/proofs/{theirs.id}",
        f"/portal/proofs/{theirs.id}/v/1",
        f"/portal/proofs/{theirs.id}/v/1/pages/1",
        f"/portal/proofs/{theirs.id}/v/1/file",
        "/portal/proofs/99999",
    ):
        assert portal.get(path).status_code == 404, path
    token = csrf_token(portal, "/portal")
    assert (
        portal.post(
            f"/portal/proofs/{theirs.id}/decision",
            data={"decision": "approved", "csrf_token": token},
        ).status_code
        == 404
    )


def test_customer_comments_and_requests_changes_as_themselves(app, client, factory, db_session):
    designer = factory.user()
    me = factory.customer(name="Nora North")
    proof = factory.proof(designer, me)
    login(client, designer)
    portal = customer_with_login(app, client, me)
    path = f"/portal/proofs/{proof.id}"
    token = csrf_token(portal, path)
    response = portal.post(
        f"{path}/decision",
        data={"decision": "changes_requested", "comment": "", "csrf_token": token},
    )
    assert response.status_code == 400
    assert "Say what should change" in response.get_data(as_text=True)
    portal.post(
        f"{path}/comments", data={"comment-body": "Looks great so far", "comment-csrf_token": token}
    )
    portal.post(
        f"{path}/decision",
        data={"decision": "changes_requested", "comment": "Blue, not green", "csrf_token": token},
    )
    comments = db_session.scalars(sa.select(Comment).order_by(Comment.id)).all()
    assert [(c.author_name, c.author_customer_id) for c in comments] == [
        ("Nora North", me.id),
        ("Nora North", me.id),
    ]
    db_session.expire_all()
    assert db_session.get(Proof, proof.id).status == "changes_requested"
    assert "Blue, not green" in client.get(f"/proofs/{proof.id}").get_data(as_text=True)


def test_a_portal_visit_through_an_email_is_recorded_and_tells_the_designer(
    app, client, factory, db_session
):
    """The customer opens the proof in the portal from its email's own link: the email is
    marked opened, the view is recorded as the customer's, and it goes in the designer's
    digest (their first look at the version)."""
    import re

    from proofdesk.activity import Activity
    from proofdesk.notifications.models import CustomerNotification, StaffNotification
    from proofdesk.worker import run_once
    from tests.conftest import png_bytes
    from tests.mailserver import mailbox
    from tests.proofs.test_views import upload

    designer = factory.user(name="Dana")
    me = factory.customer(name="Carla")
    admin = app.test_client()
    login(admin, factory.user("admin"))
    portal = customer_with_login(app, admin, me)
    login(client, designer)
    response = upload(client, me.id, png_bytes(), title="Van wrap", notify="y")
    assert response.status_code == 302
    run_once(app)
    [ready] = [m for m in mailbox(app.config["MAIL_MAILBOX_DIR"]) if "Van wrap" in m["Subject"]]
    body = ready.get_body(preferencelist=("plain",)).get_content()
    path = re.search(r"https://proofs\.example\.test(/portal/proofs/\d+\?n=[\w-]+)", body)
    assert path, body
    assert portal.get(path.group(1)).status_code == 200
    db_session.expire_all()
    notification = db_session.scalar(
        sa.select(CustomerNotification).where(CustomerNotification.kind == "proof")
    )
    assert notification.opened_at is not None
    viewed = db_session.scalar(sa.select(Activity).where(Activity.kind == "proof.viewed"))
    assert (viewed.actor, viewed.customer_id, viewed.user_id) == ("Carla", me.id, None)
    digest = db_session.scalar(sa.select(StaffNotification))
    assert (digest.kind, digest.user_id, digest.status) == ("digest", designer.id, "queued")
