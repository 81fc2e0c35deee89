"""Invites: one customer or all without a login, the emailed link, single use, expiry."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import sqlalchemy as sa

from proofdesk.customer_login import invites
from proofdesk.customer_login.links import INVITE
from proofdesk.customer_login.models import CustomerCredential, CustomerInvite
from proofdesk.notifications.models import CustomerNotification
from proofdesk.review.models import Decision
from proofdesk.tokens import TokenSettings, hash_token, token_of
from proofdesk.worker import run_once
from tests.conftest import csrf_token, login
from tests.customer_login.helpers import CUSTOMER_PASSWORD, accept, mailed_link, staff_invites
from tests.mailserver import mailbox, smtp_settings, start_server, text_and_html


@pytest.fixture
def app(make_app):
    return make_app(CUSTOMER_LOGIN_ENABLED="true")


def test_invite_set_password_log_in_and_approve(app, client, factory, db_session):
    designer = factory.user(name="Desi")
    customer = factory.customer(name="Kim Kiosk", email="kim@kiosk.test")
    factory.proof(designer, customer, title="Kiosk banner")
    login(client, designer)
    staff_invites(client, customer)
    assert "Invited" in client.get(f"/customers/{customer.id}").get_data(as_text=True)
    note = db_session.scalar(sa.select(CustomerNotification))
    assert (note.kind, note.status, note.to_address) == ("invite", "queued", "kim@kiosk.test")
    link = mailed_link(app, "invite", "kim@kiosk.test")
    db_session.expire_all()
    note = db_session.scalar(sa.select(CustomerNotification))
    assert (note.status, note.mailer, note.attempts) == ("sent", "mailbox", 1)
    # The token itself is nowhere in the database, only its hash.
    token = link.rsplit("/", 1)[1]
    assert db_session.scalar(sa.select(CustomerInvite.token_hash)) == hash_token(token)

    kim = app.test_client()
    page = kim.get(link)
    assert page.status_code == 200 and page.headers["Referrer-Policy"] == "no-referrer"
    weak = accept(kim, link, "password")
    assert "too common" in weak.get_data(as_text=True)
    response = accept(kim, link)
    assert response.status_code == 302 and response.headers["Location"] == "/portal"
    portal = kim.get("/portal").get_data(as_text=True)
    assert "Kiosk banner" in portal and "Awaiting your review" in portal
    proof_page = kim.get("/portal/proofs/1").get_data(as_text=True)
    assert 'name="name"' not in proof_page  # no typed name: the account decides
    response = kim.post(
        "/portal/proofs/1/decision",
        data={"decision": "approved", "csrf_token": csrf_token(kim, "/portal/proofs/1")},
    )
    assert response.status_code == 302
    decision = db_session.scalar(sa.select(Decision))
    assert (decision.customer_id, decision.reviewer_name) == (customer.id, "Kim Kiosk")
    # The link was single use.
    assert kim.get(link).status_code == 404
    assert "Active" in client.get(f"/customers/{customer.id}").get_data(as_text=True)


def test_invite_mail_has_text_and_html_and_escapes_names(app, client, factory):
    customer = factory.customer(name="<script>x</script> Lee", email="lee@ink.test")
    login(client, factory.user("admin"))  # customers made by nobody: an admin invites
    staff_invites(client, customer)
    run_once(app)
    text, html = text_and_html(mailbox(app.config["MAIL_MAILBOX_DIR"])[-1])
    assert "<script>x</script> Lee" in text
    assert "<script>" not in html and "&lt;script&gt;x&lt;/script&gt; Lee" in html


def test_a_new_invite_kills_the_older_link(app, client, factory, db_session):
    customer = factory.customer()
    login(client, factory.user("admin"))  # customers made by nobody: an admin invites
    staff_invites(client, customer)
    first = mailed_link(app, "invite", customer.email)
    staff_invites(client, customer)
    second = mailed_link(app, "invite", customer.email)
    assert first != second
    visitor = app.test_client()
    assert visitor.get(first).status_code == 404
    assert accept(visitor, second).status_code == 302


def test_invite_link_expires(app, client, factory, db_session):
    customer = factory.customer()
    login(client, factory.user("admin"))  # customers made by nobody: an admin invites
    staff_invites(client, customer)
    link = mailed_link(app, "invite", customer.email)
    invite = db_session.scalar(sa.select(CustomerInvite))
    assert dt.timedelta(hours=71) < invite.expires_at - invite.created_at <= dt.timedelta(hours=72)
    invite.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    db_session.commit()
    visitor = app.test_client()
    response = visitor.get(link)
    assert response.status_code == 404
    assert "This link no longer works" in response.get_data(as_text=True)
    token = csrf_token(visitor, "/portal/login")
    response = visitor.post(link, data={"password": CUSTOMER_PASSWORD, "csrf_token": token})
    assert response.status_code == 404
    assert db_session.scalar(sa.select(sa.func.count()).select_from(CustomerCredential)) == 0


def test_invite_all_without_a_login_shows_progress_and_counts(app, client, factory, db_session):
    customers = [factory.customer() for _ in range(4)]
    login(client, factory.user("admin"))  # customers made by nobody: an admin invites
    staff_invites(client, customers[0])
    accept(app.test_client(), mailed_link(app, "invite", customers[0].email))
    response = client.post(
        "/customers/invite-all", data={"csrf_token": csrf_token(client, "/customers")}
    )
    progress = response.headers["Location"]
    page = client.get(progress).get_data(as_text=True)
    assert "3</span> invitations queued" in page
    assert client.get(progress + "/progress").get_json()["queued"] == 3
    run_once(app)
    counts = client.get(progress + "/progress").get_json()
    assert counts == {"total": 3, "sent": 3, "failed": 0, "queued": 0, "sending": 0}
    sent_to = {m["To"] for m in mailbox(app.config["MAIL_MAILBOX_DIR"])}
    assert sent_to == {c.email for c in customers}
    # Pressing it again mails nobody twice.
    again = client.post(
        "/customers/invite-all", data={"csrf_token": csrf_token(client, "/customers")}
    )
    page = client.get(again.headers["Location"]).get_data(as_text=True)
    assert "Every customer already has a login or an open invitation" in page


def test_fifty_parallel_redemptions_give_exactly_one_success(app, factory, db_session):
    customer = factory.customer()
    settings = TokenSettings.from_config(app.config)
    invite = invites.invite(
        db_session, customer=customer, by=factory.user(), settings=settings, ip=None
    )
    db_session.commit()
    token = token_of(settings, INVITE, invite.nonce)
    results: list[str] = []
    barrier = threading.Barrier(50)

    def redeem() -> None:
        session = app.extensions["db_sessionmaker"]()
        try:
            barrier.wait()
            invites.accept_invite(session, token=token, password=CUSTOMER_PASSWORD, ip=None)
            session.commit()
            results.append("ok")
        except Exception as exc:  # noqa: BLE001 - every other outcome is a refusal
            session.rollback()
            results.append(type(exc).__name__)
        finally:
            session.close()

    threads = [threading.Thread(target=redeem) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count("ok") == 1, results
    assert db_session.scalar(sa.select(sa.func.count()).select_from(CustomerCredential)) == 1


def test_invites_go_out_through_the_default_smtp_mailer(make_app, factory, tmp_path):
    server = start_server(tmp_path, mode="starttls")
    try:
        app = make_app(CUSTOMER_LOGIN_ENABLED="true", **smtp_settings(server))
        client = app.test_client()
        customer = factory.customer(email="smtp@client.test")
        login(client, factory.user("admin"))  # customers made by nobody: an admin invites
        staff_invites(client, customer)
        run_once(app)
        message = server.inbox.wait_for(1)[0]
        assert message["To"] == "smtp@client.test"
        assert message["From"].addresses[0].addr_spec == "studio@proofs.example.test"
        text, _ = text_and_html(message)
        assert "https://proofs.example.test/portal/invite/" in text
    finally:
        server.stop()
