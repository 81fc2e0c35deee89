"""Reminders built on the due date: before, on and after it, to share-link customers and portal
customers alike, stopping the moment a decision lands or the proof is locked; "Send reminder
now" with its cooldown; the Overdue filter. A real SMTP server receives what the worker sends,
at the times the test's clock says."""

from __future__ import annotations

import datetime as dt
import threading

import sqlalchemy as sa

from proofdesk.notifications.models import CustomerNotification
from proofdesk.proofs.models import Proof
from proofdesk.worker import run_once
from tests.conftest import csrf_token, login, png_bytes
from tests.designer_notifications.test_emails import decide
from tests.proofs.test_views import upload
from tests.review.test_share_link import share_path

DUE = "2026-12-10"  # a Thursday; the clock starts on Monday 7 December, 11:00 in Berlin


def upload_due(client, customer, **extra):
    response = upload(client, customer.id, png_bytes(), title="Van wrap", due_date=DUE, **extra)
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(response.headers["Location"].rsplit("/", 1)[1])


def reminders(db_session):
    db_session.expire_all()
    n = CustomerNotification
    return db_session.scalars(
        sa.select(n).where(n.kind == "reminder").order_by(n.next_attempt_at)
    ).all()


def test_reminders_go_before_on_and_after_the_due_date(
    app, client, factory, server, clock, db_session
):
    designer = factory.user(name="Dana Designer")
    customer = factory.customer(name="Carla", email="carla@client.test")
    login(client, designer)
    upload_due(client, customer)
    # 09:00 in Berlin is 08:00 UTC in December: two days before, on the day, two days after.
    assert [(n.next_attempt_at, n.status) for n in reminders(db_session)] == [
        (dt.datetime(2026, 12, 8, 8, 0, tzinfo=dt.UTC), "queued"),
        (dt.datetime(2026, 12, 10, 8, 0, tzinfo=dt.UTC), "queued"),
        (dt.datetime(2026, 12, 12, 8, 0, tzinfo=dt.UTC), "queued"),
    ]
    run_once(app)
    assert server.inbox.messages == []
    subjects = []
    for moment in (dt.datetime(2026, 12, 8, 8, 0), dt.datetime(2026, 12, 10, 8, 0)):
        clock.now = moment.replace(tzinfo=dt.UTC)
        run_once(app)
        message = server.inbox.wait_for(len(subjects) + 1)[-1]
        subjects.append(message["Subject"])
        assert message["To"] == "carla@client.test"
        assert message["Reply-To"] == designer.email  # an answer reaches the designer
    clock.now = dt.datetime(2026, 12, 12, 8, 0, tzinfo=dt.UTC)
    run_once(app)
    subjects.append(server.inbox.wait_for(3)[-1]["Subject"])
    assert subjects == [
        "Reminder: Van wrap is due in 2 days",
        "Reminder: Van wrap is due today",
        "Overdue: Van wrap was due 10 Dec 2026",
    ]
    body = server.inbox.messages[0].get_body(preferencelist=("plain",)).get_content()
    assert "https://proofs.example.test/s/" in body  # the share link
    run_once(app)
    assert len(server.inbox.messages) == 3  # each once


def test_a_decision_stops_the_reminders_at_once(app, client, factory, server, clock, db_session):
    designer = factory.user()
    login(client, designer)
    proof_id = upload_due(client, factory.customer())
    path = share_path(client, db_session.get(Proof, proof_id))
    clock.now = dt.datetime(2026, 12, 8, 8, 0, tzinfo=dt.UTC)
    run_once(app)
    server.inbox.wait_for(1)
    decide(app.test_client(), path, "approved")
    assert [n.status for n in reminders(db_session)] == ["sent"]  # the others are taken back
    clock.now = dt.datetime(2026, 12, 20, 8, 0, tzinfo=dt.UTC)
    run_once(app)
    reminded = [m for m in server.inbox.messages if m["Subject"].startswith("Reminder")]
    assert len(reminded) == 1


def test_locking_stops_them_and_unlocking_plans_the_ones_ahead(
    app, client, factory, clock, db_session
):
    login(client, factory.user())
    proof_id = upload_due(client, factory.customer())
    page = f"/proofs/{proof_id}"
    lock = {"csrf_token": csrf_token(client, page), "action": "lock"}
    assert client.post(f"{page}/lock", data=lock).status_code == 302
    assert reminders(db_session) == []
    clock.advance(hours=1)
    unlock = {"csrf_token": csrf_token(client, page), "action": "unlock"}
    assert client.post(f"{page}/lock", data=unlock).status_code == 302
    assert [n.next_attempt_at.day for n in reminders(db_session)] == [8, 10, 12]


def remind(client, proof_id):
    page = f"/proofs/{proof_id}"
    response = client.post(f"{page}/remind", data={"csrf_token": csrf_token(client, page)})
    assert response.status_code == 302
    return client.get(response.headers["Location"]).get_data(as_text=True)


def test_send_reminder_now_has_a_cooldown(app, client, factory, server, clock, db_session):
    login(client, factory.user())
    proof_id = upload_due(client, factory.customer(email="ines@client.test"))
    page = remind(client, proof_id)
    assert "A reminder is on its way to ines@client.test." in page
    run_once(app)
    assert server.inbox.wait_for(1)[0]["Subject"] == "Reminder: Van wrap is due in 3 days"
    clock.advance(minutes=5)
    page = remind(client, proof_id)
    assert "A reminder went out 5 minutes ago; you can send the next one in 11 minutes." in page
    clock.advance(minutes=11)
    assert "A reminder is on its way" in remind(client, proof_id)
    run_once(app)
    assert len(server.inbox.wait_for(2)) == 2
    activity = client.get(f"/proofs/{proof_id}").get_data(as_text=True)
    assert activity.count("sent the customer a reminder") == 2


def test_no_reminder_once_the_customer_decided(app, client, factory, db_session):
    designer = factory.user()
    login(client, designer)
    proof_id = upload_due(client, factory.customer())

    decide(app.test_client(), share_path(client, db_session.get(Proof, proof_id)), "approved")
    page = remind(client, proof_id)
    assert "The customer has decided on this version" in page
    assert reminders(db_session) == []


def change(client, proof_id, **data):
    page = f"/proofs/{proof_id}"
    response = client.post(
        f"{page}/reminders", data={"csrf_token": csrf_token(client, page), **data}
    )
    assert response.status_code == 302
    return client.get(response.headers["Location"]).get_data(as_text=True)


def test_each_proof_may_have_its_own_reminders(app, client, factory, clock, db_session):
    login(client, factory.user())
    customer = factory.customer()
    none = upload_due(client, customer, reminder_days="")
    assert reminders(db_session) == []
    own = upload_due(client, customer, reminder_days="-1")
    assert [n.next_attempt_at.day for n in reminders(db_session)] == [9]
    page = change(client, own, due_date="2026-12-20", reminder_days="-3, 0")
    assert "Due date and reminders saved." in page
    assert [n.next_attempt_at.day for n in reminders(db_session)] == [17, 20]
    assert "changed the due date or reminders" in page and "due 20 Dec 2026" in page
    for typed, message in [
        ("soon", "&#39;soon&#39; is not a number of days"),
        ("-40", "-40 is too far from the due date"),
        ("1 2 3 4 5 6", "At most 5 reminders per proof."),
    ]:
        assert message in change(client, own, due_date="2026-12-20", reminder_days=typed)
    assert [n.next_attempt_at.day for n in reminders(db_session)] == [17, 20]  # unchanged
    assert none  # never planned any


def test_several_workers_send_each_reminder_once(make_app, server, client, factory, clock):
    from tests.mailserver import smtp_settings

    apps = [make_app(**smtp_settings(server), STUDIO_TIMEZONE="Europe/Berlin") for _ in range(3)]
    login(client, factory.user())
    for _ in range(4):
        upload_due(client, factory.customer())
    clock.now = dt.datetime(2026, 12, 13, 8, 0, tzinfo=dt.UTC)  # all 12 reminders are due
    workers = [threading.Thread(target=run_once, args=(app,)) for app in apps]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    messages = server.inbox.wait_for(12)
    assert len({m["Message-ID"] for m in messages}) == len(messages) == 12


def test_my_proofs_filters_the_overdue(app, client, factory, clock):
    designer = factory.user()
    login(client, designer)
    customer = factory.customer()
    upload_due(client, customer)
    upload(client, customer.id, png_bytes(), title="Menu board", due_date="2026-12-30")
    clock.now = dt.datetime(2026, 12, 11, 8, 0, tzinfo=dt.UTC)
    login(client, designer)  # the session ran out meanwhile
    page = client.get("/proofs?overdue=1").get_data(as_text=True)
    assert "Van wrap" in page and "Menu board" not in page
    assert '<span class="mark mark-overdue">Overdue</span>' in page
    assert "Menu board" in client.get("/proofs").get_data(as_text=True)
