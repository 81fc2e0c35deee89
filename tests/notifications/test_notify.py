"""Notify customer now: the outbox row, the worker, retries, failures and the log."""

from __future__ import annotations

import datetime as dt
import io
import re

import sqlalchemy as sa

from proofdesk.accounts.models import User
from proofdesk.notifications.models import CustomerNotification, smtp_state
from proofdesk.proofs.models import Proof
from proofdesk.worker import run_once
from tests.conftest import csrf_token, login, pdf_bytes, png_bytes
from tests.mailserver import mailbox, text_and_html
from tests.notifications.helpers import save_own_smtp, smtp_form
from tests.proofs.test_views import post_multipart, upload


def notes(db_session) -> list[CustomerNotification]:
    db_session.expire_all()
    return list(
        db_session.scalars(sa.select(CustomerNotification).order_by(CustomerNotification.id))
    )


def test_notify_through_the_designers_smtp_with_a_working_link(
    app, client, factory, server, db_session
):
    designer = factory.user(name="Nora Nord")
    customer = factory.customer(name="Olga Oak", email="olga@oak.test")
    login(client, designer)
    save_own_smtp(client, smtp_form(server))
    response = upload(client, customer.id, pdf_bytes(2), "flyer.pdf", title="Oak flyer", notify="y")
    assert response.status_code == 302
    (note,) = notes(db_session)
    assert (note.kind, note.status, note.to_address, note.version_number) == (
        "proof",
        "queued",
        "olga@oak.test",
        1,
    )
    assert note.subject == "Proof ready for review: Oak flyer (version 1)"
    run_once(app)
    message = server.inbox.wait_for(1)[0]
    assert message["From"].addresses[0].addr_spec == "hello@studio-nord.test"
    assert message["Message-ID"] == note.message_id
    text, html = text_and_html(message)
    assert "Hello Olga Oak" in text and "Nora Nord has a proof ready" in text
    link = re.search(r"https://proofs\.example\.test(/s/[\w-]+)", text).group(1)
    assert link in html
    assert "Oak flyer" in app.test_client().get(link).get_data(as_text=True)
    (note,) = notes(db_session)
    assert (note.status, note.mailer, note.attempts) == ("sent", "designer", 1)
    assert note.smtp_reply.startswith("250") and note.sent_at is not None
    page = client.get(f"/proofs/{note.proof_id}").get_data(as_text=True)
    assert "Sent" in page and "olga@oak.test" in page and "via designer" in page


def test_unchecked_sends_nothing(app, client, factory, db_session):
    login(client, factory.user())
    upload(client, factory.customer().id, png_bytes())
    run_once(app)
    assert notes(db_session) == []
    assert mailbox(app.config["MAIL_MAILBOX_DIR"]) == []


def test_a_failed_upload_leaves_no_notification(app, client, factory, db_session):
    login(client, factory.user())
    response = upload(client, factory.customer().id, b"not an image", "x.png", notify="y")
    assert response.status_code == 400
    assert (
        notes(db_session) == []
        and db_session.scalar(sa.select(sa.func.count()).select_from(Proof)) == 0
    )


def test_without_own_smtp_the_default_mailer_is_used_and_the_message_is_the_designers(
    app, client, factory, db_session
):
    designer = factory.user(name="Pia")
    customer = factory.customer(email="q@client.test")
    login(client, designer)
    upload(client, customer.id, png_bytes(), message="Here is the new sign.\nCall me!", notify="y")
    run_once(app)
    (message,) = mailbox(app.config["MAIL_MAILBOX_DIR"])
    text, html = text_and_html(message)
    assert text.startswith("Here is the new sign.\nCall me!")
    assert "https://proofs.example.test/s/" in text
    assert message["Reply-To"] == designer.email  # replies reach the designer
    assert notes(db_session)[0].mailer == "mailbox"


def test_new_version_form_notifies_too(app, client, factory, db_session):
    designer = factory.user()
    proof = factory.proof(designer)
    login(client, designer)
    path = f"/proofs/{proof.id}/versions/new"
    post_multipart(
        client,
        path,
        {
            "csrf_token": csrf_token(client, path),
            "notify": "y",
            "file": (io.BytesIO(png_bytes(color="red")), "v2.png"),
        },
    )
    (note,) = notes(db_session)
    assert note.version_number == 2 and "(version 2)" in note.subject


def test_templates_come_from_the_environment(make_app, factory, db_session):
    app = make_app(
        CUSTOMER_NOTIFY_DEFAULT_SUBJECT="{designer_name}: {proof_title} v{version}",
        CUSTOMER_NOTIFY_DEFAULT_BODY="Hi {customer_name}\\nSee {link}\\n{unknown}",
    )
    client = app.test_client()
    designer = factory.user(name="Rita")
    login(client, designer)
    upload(client, factory.customer(name="Sam").id, png_bytes(), title="Menu", notify="y")
    run_once(app)
    (message,) = mailbox(app.config["MAIL_MAILBOX_DIR"])
    assert message["Subject"] == "Rita: Menu v1"
    text, _ = text_and_html(message)
    assert text.startswith("Hi Sam\nSee https://proofs.example.test/s/")
    assert "{unknown}" in text


def test_customers_who_can_log_in_get_the_portal_link(make_app, factory, db_session):
    from tests.customer_login.helpers import customer_with_login

    app = make_app(CUSTOMER_LOGIN_ENABLED="true")
    client = app.test_client()
    designer = factory.user()
    customer = factory.customer(email="portal@client.test", created_by=designer)
    login(client, designer)
    customer_with_login(app, client, customer)
    upload(client, customer.id, png_bytes(), notify="y")
    run_once(app)
    text, _ = text_and_html(mailbox(app.config["MAIL_MAILBOX_DIR"])[-1])
    assert re.search(r"https://proofs\.example\.test/portal/proofs/\d+", text)


def test_temporary_failure_is_retried_with_backoff_and_the_same_message_id(
    app, client, factory, server, db_session
):
    designer = factory.user()
    login(client, designer)
    save_own_smtp(client, smtp_form(server))
    upload(client, factory.customer().id, png_bytes(), notify="y")
    server.inbox.script.append("451 4.7.1 Greylisted, try again")
    run_once(app)
    (note,) = notes(db_session)
    assert (note.status, note.attempts) == ("queued", 1)
    assert note.last_error == "Temporary failure: 451 4.7.1 Greylisted, try again"
    assert note.next_attempt_at > dt.datetime.now(dt.UTC) + dt.timedelta(seconds=20)
    assert run_once(app) == 0  # not due yet
    note.next_attempt_at = dt.datetime.now(dt.UTC)
    db_session.commit()
    run_once(app)
    (note,) = notes(db_session)
    assert (note.status, note.attempts) == ("sent", 2)
    assert server.inbox.wait_for(1)[0]["Message-ID"] == note.message_id


def test_permanent_failure_fails_at_once_and_can_be_retried_by_an_admin(
    app, client, factory, server, db_session
):
    designer = factory.user()
    login(client, designer)
    save_own_smtp(client, smtp_form(server))
    upload(client, factory.customer().id, png_bytes(), notify="y")
    server.inbox.script.append("554 5.7.1 Rejected as spam")
    run_once(app)
    (note,) = notes(db_session)
    assert (note.status, note.attempts) == ("failed", 1)
    assert "Message refused: 554 5.7.1 Rejected as spam" == note.last_error
    # A message-specific refusal does not mark the designer's settings as failing.
    assert smtp_state(db_session.get(User, designer.id)) != "failing"
    admin = app.test_client()
    login(admin, factory.user(role="admin"))
    log = admin.get("/admin/notifications?status=failed").get_data(as_text=True)
    assert "Rejected as spam" in log and "Retry" in log
    admin.post(
        f"/admin/notifications/{note.id}/retry",
        data={"csrf_token": csrf_token(admin, "/admin/notifications")},
    )
    run_once(app)
    (note,) = notes(db_session)
    assert note.status == "sent"
    assert server.inbox.wait_for(1)[0]["Message-ID"] == note.message_id


def test_authentication_failure_fails_and_marks_the_designers_smtp(
    app, client, factory, server, db_session
):
    designer = factory.user()
    login(client, designer)
    save_own_smtp(client, smtp_form(server, password="expired password"))
    upload(client, factory.customer().id, png_bytes(), notify="y")
    run_once(app)
    (note,) = notes(db_session)
    assert note.status == "failed" and note.last_error.startswith("Authentication failed: 535")
    assert smtp_state(db_session.get(User, designer.id)) == "failing"
    assert "Your customer emails are failing" in client.get("/proofs").get_data(as_text=True)


def test_unreachable_server_stays_queued_with_a_next_attempt(make_app, factory, db_session):
    from tests.mailserver import free_port

    app = make_app(
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(free_port()),
        SMTP_SECURITY="none",
        SMTP_FROM="studio@proofs.example.test",
    )
    client = app.test_client()
    login(client, factory.user())
    upload(client, factory.customer().id, png_bytes(), notify="y")
    run_once(app)
    (note,) = notes(db_session)
    assert (note.status, note.mailer) == ("queued", "default")
    assert note.last_error.startswith("Cannot connect")
    assert note.next_attempt_at > dt.datetime.now(dt.UTC)


def test_admin_notifications_filters(app, client, factory, db_session):
    a, b = factory.user(name="Ann"), factory.user(name="Ben")
    c1, c2 = factory.customer(name="Cleo"), factory.customer(name="Dora")
    for designer, customer in ((a, c1), (b, c2)):
        login(client, designer)
        upload(client, customer.id, png_bytes(), title=f"{designer.name} art", notify="y")
        client.post("/logout", data={"csrf_token": csrf_token(client, "/proofs")})
    run_once(app)
    login(client, factory.user(role="admin"))
    assert "Ann art" in client.get(f"/admin/notifications?designer={a.id}").get_data(as_text=True)
    page = client.get(f"/admin/notifications?customer={c2.id}").get_data(as_text=True)
    assert "Ben art" in page and "Ann art" not in page and "Customer: Dora" in page
    assert "No notifications match" in client.get("/admin/notifications?status=failed").get_data(
        as_text=True
    )
    tomorrow = (dt.date.today() + dt.timedelta(days=2)).isoformat()
    assert "No notifications match" in client.get(
        f"/admin/notifications?since={tomorrow}"
    ).get_data(as_text=True)
    assert client.get("/admin/notifications?since=garbage&designer=x").status_code == 200
    designer_client = app.test_client()
    login(designer_client, a)
    assert designer_client.get("/admin/notifications").status_code == 404
