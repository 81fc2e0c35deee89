"""The designer hears from the customer: decisions at once, comments batched over a quiet
period, first views in the daily digest, each as the user prefers; a real SMTP server receives
what the worker sends."""

from __future__ import annotations

import sqlalchemy as sa

from proofdesk.notifications.models import NotificationStatus, StaffNotification
from proofdesk.worker import run_once
from tests.conftest import csrf_token, login
from tests.mailserver import text_and_html
from tests.review.test_share_link import form_token, share_path
from tests.review.test_threads import comment as staff_comment


def open_share_link(app, client, factory, *, designer=None, title="Shop sign"):
    """A proof of the designer's, and a visitor holding its share link."""
    designer = designer or factory.user(name="Dana Designer")
    proof = factory.proof(designer, title=title)
    login(client, designer)
    path = share_path(client, proof)
    visitor = app.test_client()
    visitor.get(path)
    return designer, proof, path, visitor


def decide(visitor, path, decision, comment="", name="Carla"):
    token = form_token(visitor.get(path).get_data(as_text=True))
    response = visitor.post(
        f"{path}/decision",
        data={"csrf_token": token, "decision": decision, "name": name, "comment": comment},
    )
    assert response.status_code == 302, response.get_data(as_text=True)


def comment(visitor, path, body, name="Carla"):
    token = form_token(visitor.get(path).get_data(as_text=True))
    response = visitor.post(
        f"{path}/comments",
        data={"comment-csrf_token": token, "comment-name": name, "comment-body": body},
    )
    assert response.status_code == 302, response.get_data(as_text=True)


def to(messages, address):
    return [m for m in messages if m["To"] == address]


def test_an_approval_reaches_the_designer_at_once(app, client, factory, server, clock):
    designer, proof, path, visitor = open_share_link(app, client, factory)
    decide(visitor, path, "approved", comment="Looks great, print it")
    run_once(app)
    [message] = to(server.inbox.wait_for(1), designer.email)
    assert message["Subject"] == "Carla approved: Shop sign (version 1)"
    text, html = text_and_html(message)
    assert "Looks great, print it" in text and "Looks great, print it" in html
    assert f"https://proofs.example.test/proofs/{proof.id}/v/1" in text
    # The decision's comment is told with the decision, not again as a comment later.
    clock.advance(hours=2)
    run_once(app)
    assert len(server.inbox.messages) == 1


def test_withdrawn_approval_tells_the_designer_why(app, client, factory, server, clock):
    designer, proof, path, visitor = open_share_link(app, client, factory)
    decide(visitor, path, "approved")
    token = form_token(visitor.get(path).get_data(as_text=True))
    response = visitor.post(
        f"{path}/decision/withdraw",
        data={
            "csrf_token": token,
            "withdraw-name": "Carla",
            "withdraw-reason": "Wrong phone number",
        },
    )
    assert response.status_code == 302
    run_once(app)
    messages = to(server.inbox.wait_for(2), designer.email)
    assert [m["Subject"] for m in messages] == [
        "Carla approved: Shop sign (version 1)",
        "Carla withdrew the approval: Shop sign",
    ]
    assert "Wrong phone number" in text_and_html(messages[1])[0]


def test_comments_wait_for_a_quiet_period_and_go_in_one_email(
    app, client, factory, server, clock, db_session
):
    designer, proof, path, visitor = open_share_link(app, client, factory)
    for n in range(1, 4):
        comment(visitor, path, f"Pin {n}: make it bigger")
        clock.advance(minutes=4)  # each comment starts the quiet period again
    run_once(app)
    assert server.inbox.messages == []  # 4 minutes since the last comment: not yet
    clock.advance(minutes=7)
    run_once(app)
    [message] = to(server.inbox.wait_for(1), designer.email)
    assert message["Subject"] == "Carla: 3 new comments on Shop sign"
    text, _ = text_and_html(message)
    assert [f"Pin {n}: make it bigger" in text for n in (1, 2, 3)] == [True] * 3
    assert f"/proofs/{proof.id}/v/1#thread-" in text
    sent = db_session.scalars(
        sa.select(StaffNotification).where(StaffNotification.kind == "comments")
    ).all()
    assert [(n.status, n.to_address) for n in sent] == [(NotificationStatus.SENT, designer.email)]
    # A later comment starts a new batch.
    comment(visitor, path, "One more thing")
    clock.advance(minutes=11)
    run_once(app)
    assert to(server.inbox.wait_for(2), designer.email)[1]["Subject"] == (
        "Carla: 1 new comment on Shop sign"
    )


def test_the_designers_own_comments_tell_nobody(app, client, factory, server, clock, db_session):
    designer = factory.user()
    proof = factory.proof(designer)
    login(client, designer)
    assert staff_comment(client, proof.id, "Note to self").status_code == 302
    assert db_session.scalar(sa.select(sa.func.count()).select_from(StaffNotification)) == 0


def test_first_views_go_in_the_digest_at_the_users_hour(app, client, factory, server, clock):
    designer, proof, path, visitor = open_share_link(app, client, factory)
    visitor.get(path)  # a second look is not a first view
    run_once(app)
    assert server.inbox.messages == []
    # The digest goes at 08:00 in Berlin (07:00 UTC) the next morning.
    clock.advance(hours=20, minutes=59)
    run_once(app)
    assert server.inbox.messages == []
    clock.advance(minutes=1)
    run_once(app)
    [message] = to(server.inbox.wait_for(1), designer.email)
    assert message["Subject"] == "Your daily digest: 1 event on 1 proof"
    text, _ = text_and_html(message)
    assert "Share-link visitor opened the share link" in text and "Shop sign" in text


def preferences(client, **choices):
    data = {
        "decisions": "instant",
        "comments": "instant",
        "first_views": "digest",
        "digest_hour": "8",
        **choices,
        "csrf_token": csrf_token(client, "/account/notifications"),
    }
    return client.post("/account/notifications", data=data)


def test_preferences_choose_how_each_kind_arrives(app, client, factory, server, clock):
    designer = factory.user(name="Dana Designer")
    login(client, designer)
    page = client.get("/account/notifications").get_data(as_text=True)
    assert "Europe/Berlin" in page and "Instantly" in page
    response = preferences(client, decisions="digest", comments="off", digest_hour="17")
    assert response.status_code == 302
    proof = factory.proof(designer)
    path = share_path(client, proof)
    visitor = app.test_client()
    decide(visitor, path, "changes_requested", comment="Red, not blue")
    comment(visitor, path, "And the logo")
    clock.advance(hours=1)
    run_once(app)
    assert server.inbox.messages == []  # decisions wait for the digest; comments never come
    clock.advance(hours=5)  # 17:00 in Berlin
    run_once(app)
    [message] = server.inbox.wait_for(1)
    assert message["Subject"] == "Your daily digest: 2 events on 1 proof"
    text, _ = text_and_html(message)
    assert "Carla requested changes" in text and "Red, not blue" in text
    assert "And the logo" not in text


def test_preferences_refuse_what_is_not_a_choice(app, client, factory):
    login(client, factory.user())
    response = preferences(client, comments="hourly", digest_hour="25")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Choose the digest&#39;s hour, from 0 to 23." in page or "Choose the digest" in page


def test_admins_who_opt_in_hear_of_every_proof(app, client, factory, server, clock):
    admin = factory.user(role="admin", name="Ada Admin")
    login(client, admin)
    assert preferences(client, all_proofs="y").status_code == 302
    other = app.test_client()
    designer, proof, path, visitor = open_share_link(app, other, factory)
    decide(visitor, path, "approved")
    run_once(app)
    messages = server.inbox.wait_for(2)
    assert sorted(m["To"] for m in messages) == sorted([designer.email, admin.email])


def test_my_proofs_marks_what_is_new_until_the_designer_opens_the_proof(
    app, client, factory, server, clock
):
    designer, proof, path, visitor = open_share_link(app, client, factory, title="Van wrap")
    other = factory.proof(designer, title="Menu board")
    comment(visitor, path, "Darker blue")
    comment(visitor, path, "Bigger phone number")
    decide(visitor, path, "changes_requested", comment="See my comments")
    page = client.get("/proofs").get_data(as_text=True)
    assert '<span class="mark mark-new unread-total"' in page and "4 new</span>" in page
    row = page.split("Van wrap")[1].split("</tr>")[0]
    assert "1 new decision · 3 new comments" in row
    assert "new" not in page.split("Menu board")[1].split("</tr>")[0]
    assert client.get(f"/proofs/{proof.id}").status_code == 200  # opening it clears the marks
    page = client.get("/proofs").get_data(as_text=True)
    assert "mark-new" not in page
    assert other.id  # the other proof was never marked


def test_staff_emails_are_on_the_proof_page_and_in_the_log_filtered_by_kind(
    app, client, factory, server, clock
):
    admin = factory.user(role="admin")
    designer, proof, path, visitor = open_share_link(app, client, factory)
    decide(visitor, path, "approved")
    run_once(app)
    server.inbox.wait_for(1)
    page = client.get(f"/proofs/{proof.id}").get_data(as_text=True)
    staff = page.split("<h3>To staff</h3>")[1].split("</ul>")[0]
    assert "Sent" in staff and f"to {designer.email}" in staff
    assert "Customer decision (to staff)" in staff
    assert "digest" not in staff  # a digest is about many proofs: it is in the log
    client = app.test_client()
    login(client, admin)
    everything = client.get("/admin/notifications?kind=staff").get_data(as_text=True)
    assert everything.count(f'<div class="sub">{designer.email}</div>') == 2
    assert "Daily digest (to staff)" in everything and "Queued" in everything
    decisions = client.get("/admin/notifications?kind=decision").get_data(as_text=True)
    assert decisions.count(f'<div class="sub">{designer.email}</div>') == 1
    assert "Carla approved: Shop sign (version 1)" in decisions
    customers = client.get("/admin/notifications").get_data(as_text=True)
    assert designer.email not in customers  # the default: emails to customers, as before


def test_a_worker_killed_mid_digest_leaves_it_to_another_and_it_goes_once(
    app, client, factory, server, clock, db_session
):
    """A worker claims the digest and dies before sending: nobody sends it while its lease
    runs; then another worker does, once."""
    from proofdesk.notifications import services as outbox

    designer, proof, path, visitor = open_share_link(app, client, factory)
    clock.advance(hours=21)  # 08:00 in Berlin: the digest is due
    dead_worker = app.extensions["db_sessionmaker"]()
    try:
        assert len(outbox.claim_due(dead_worker, outbox=StaffNotification)) == 1
    finally:
        dead_worker.close()  # killed: it never sends nor gives the row back
    run_once(app)
    assert server.inbox.messages == []  # still held by the dead worker's lease
    clock.advance(seconds=app.config["WORKER_LEASE_SECONDS"] + 1)
    run_once(app)
    run_once(app)
    [message] = server.inbox.wait_for(1)
    assert message["Subject"] == "Your daily digest: 1 event on 1 proof"
    digest = db_session.scalar(sa.select(StaffNotification))
    assert (digest.status, digest.attempts) == ("sent", 2)


def test_without_a_default_mailer_staff_emails_go_through_the_designers_own_server(
    make_app, client, factory, server, db_session
):
    """In production without SMTP_HOST, the designer's own SMTP settings carry the emails
    about their proofs (else they would wait as "Not configured")."""
    from tests.conftest import TEST_SMTP_KEY
    from tests.notifications.helpers import save_own_smtp, smtp_form

    app = make_app(
        PROOFDESK_ENV="production",  # the tests' SECRET_KEY, so the factory's links work
        SMTP_ENCRYPTION_KEYS=TEST_SMTP_KEY,
        SMTP_ALLOW_PRIVATE_HOSTS="true",
        SMTP_CA_FILE=server.cafile,
    )
    assert not app.config["SMTP_HOST"]
    client = app.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"  # production's cookies are Secure
    designer, proof, path, visitor = open_share_link(app, client, factory)
    assert save_own_smtp(client, smtp_form(server)).status_code == 302
    decide(visitor, path, "approved")
    run_once(app)
    [message] = server.inbox.wait_for(1)
    assert message["To"] == designer.email
    assert message["From"] == "Studio Nord <hello@studio-nord.test>"
    sent = db_session.scalar(
        sa.select(StaffNotification).where(StaffNotification.kind == "decision")
    )
    assert (sent.status, sent.mailer) == ("sent", "designer")
