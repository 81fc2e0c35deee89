"""A customer's login mails: an email change kills every older link and session; staff may
send only so many invitations and resets an hour."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from proofdesk.customer_login import mail_limits
from proofdesk.notifications.models import CustomerNotification
from tests.conftest import csrf_token, login
from tests.customer_login.helpers import accept, customer_login, customer_with_login, mailed_link


@pytest.fixture
def app(make_app):
    return make_app(CUSTOMER_LOGIN_ENABLED="true")


@pytest.fixture
def designer(factory):
    return factory.user(name="Dee Signer")


@pytest.fixture
def staff(app, designer):
    client = app.test_client()
    login(client, designer)
    return client


def owned_customer(factory, designer, **kwargs):
    customer = factory.customer(**kwargs)
    factory.proof(designer, customer)
    return customer


def change_email(client, customer, email):
    page = f"/customers/{customer.id}"
    return client.post(
        f"{page}/edit",
        data={
            "name": customer.name,
            "email": email,
            "company": "",
            "csrf_token": csrf_token(client, page),
        },
    )


def set_password(client, link, password="a password from the old mail"):
    """POST a password to a link whose page may be dead (no form to take a token from)."""
    token = csrf_token(client, "/portal/login")
    return client.post(link, data={"password": password, "csrf_token": token})


def send(client, customer, action):
    page = f"/customers/{customer.id}"
    return client.post(f"{page}/{action}", data={"csrf_token": csrf_token(client, page)})


def test_an_email_change_kills_older_reset_links_and_ends_sessions(app, staff, factory, designer):
    customer = owned_customer(factory, designer, email="old@client.test")
    portal = customer_with_login(app, staff, customer)
    assert send(staff, customer, "reset").status_code == 302
    old_link = mailed_link(app, "reset", "old@client.test")

    assert change_email(staff, customer, "new@client.test").status_code == 302
    assert portal.get("/portal").status_code == 302  # the session has ended
    visitor = app.test_client()
    assert visitor.get(old_link).status_code == 404
    assert set_password(visitor, old_link).status_code == 404
    # The password is the customer's own: they log in again with the new address.
    assert customer_login(app.test_client(), "new@client.test").status_code == 302
    assert customer_login(app.test_client(), "old@client.test").status_code == 200


def test_an_email_change_kills_an_open_invitation(app, staff, factory, designer, db_session):
    customer = owned_customer(factory, designer, email="first@client.test")
    assert send(staff, customer, "invite").status_code == 302
    old_link = mailed_link(app, "invite", "first@client.test")
    assert change_email(staff, customer, "second@client.test").status_code == 302
    visitor = app.test_client()
    assert set_password(visitor, old_link).status_code == 404
    assert visitor.get("/portal").status_code == 302
    # A new invitation goes to the new address and works.
    assert send(staff, customer, "invite").status_code == 302
    assert accept(visitor, mailed_link(app, "invite", "second@client.test")).status_code == 302


def test_an_invitation_queued_before_the_change_is_not_sent(
    app, staff, factory, designer, db_session
):
    customer = owned_customer(factory, designer, email="before@client.test")
    assert send(staff, customer, "invite").status_code == 302  # queued, worker not run yet
    assert change_email(staff, customer, "after@client.test").status_code == 302
    from proofdesk.worker import run_once

    run_once(app)
    note = db_session.scalar(sa.select(CustomerNotification))
    assert (note.to_address, note.status) == ("before@client.test", "failed")
    assert "replaced" in note.last_error or "expired" in note.last_error


def test_staff_resets_are_throttled_per_customer(app, staff, factory, designer, db_session):
    customer = owned_customer(factory, designer)
    customer_with_login(app, staff, customer)  # one invitation: the first login mail
    answers = [send(staff, customer, "reset") for _ in range(5)]
    codes = [a.status_code for a in answers]
    allowed = mail_limits.LOGIN_MAILS_PER_CUSTOMER - 1
    assert codes == [302] * allowed + [429] * (5 - allowed)
    refused = answers[-1].get_data(as_text=True)
    assert f"already been sent {mail_limits.LOGIN_MAILS_PER_CUSTOMER} login emails" in refused
    resets = db_session.scalar(
        sa.select(sa.func.count())
        .select_from(CustomerNotification)
        .where(CustomerNotification.kind == "password_reset")
    )
    assert resets == allowed
    # An admin is held to the same limit for this customer.
    admin = app.test_client()
    login(admin, factory.user("admin"))
    assert send(admin, customer, "reset").status_code == 429


def test_staff_login_mails_are_throttled_per_designer(app, staff, factory, designer, db_session):
    limit = mail_limits.LOGIN_MAILS_PER_DESIGNER
    customers = [owned_customer(factory, designer) for _ in range(limit + 1)]
    codes = [send(staff, customer, "invite").status_code for customer in customers]
    assert codes == [302] * mail_limits.LOGIN_MAILS_PER_DESIGNER + [429]
    refused = send(staff, customers[-1], "invite").get_data(as_text=True)
    assert "the most a designer may send" in refused
    assert (
        db_session.scalar(sa.select(sa.func.count()).select_from(CustomerNotification))
        == mail_limits.LOGIN_MAILS_PER_DESIGNER
    )
    # Bulk invitations stop at the same limit and say so.
    more = owned_customer(factory, designer)
    response = staff.post(
        "/customers/invite-all",
        data={"csrf_token": csrf_token(staff, "/customers")},
        follow_redirects=True,
    )
    assert "not invited yet" in response.get_data(as_text=True)
    assert more.id not in set(db_session.scalars(sa.select(CustomerNotification.customer_id)))
