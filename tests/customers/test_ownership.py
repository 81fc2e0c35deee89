"""Who may manage a customer: no designer reaches another designer's proof through a
customer's portal login (changing its email, sending its login mails, disabling it)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from proofdesk.customer_login.models import CustomerInvite, CustomerPasswordReset
from proofdesk.customers.models import Customer
from proofdesk.notifications.models import CustomerNotification
from tests.conftest import csrf_token, login
from tests.customer_login.helpers import customer_with_login


@pytest.fixture
def app(make_app):
    return make_app(CUSTOMER_LOGIN_ENABLED="true")


def edit(client, customer, **changes):
    page = f"/customers/{customer.id}/edit"
    data = {"name": customer.name, "email": customer.email, "company": customer.company or ""}
    return client.post(
        page,
        data={**data, **changes, "csrf_token": csrf_token(client, f"/customers/{customer.id}")},
    )


def post(client, path, customer):
    return client.post(path, data={"csrf_token": csrf_token(client, f"/customers/{customer.id}")})


def test_designer_cannot_take_over_another_designers_customer(app, factory, db_session):
    """The attack: designer A points customer Y (only B's proofs) at A's own address, sends a
    reset, logs in to the portal as Y and reads B's proof. Every step is refused."""
    designer_a, designer_b = factory.user(name="Ann"), factory.user(name="Bob")
    customer = factory.customer(name="Yvonne", email="yvonne@client.test")
    factory.proof(designer_b, customer, title="Bob's secret artwork")
    admin = factory.user("admin")
    staff = app.test_client()
    login(staff, admin)
    customer_with_login(app, staff, customer)

    attacker = app.test_client()
    login(attacker, designer_a)
    page = attacker.get(f"/customers/{customer.id}")
    assert page.status_code == 200  # customers are shared: A may find Y and upload for them
    text = page.get_data(as_text=True)
    assert "Bob&#39;s secret artwork" not in text
    assert f"/customers/{customer.id}/edit" not in text and "Send password reset" not in text
    assert "an admin changes their email" in text
    assert attacker.get(f"/customers/{customer.id}/edit").status_code == 404
    assert edit(attacker, customer, email="ann@studio.test").status_code == 404
    for action in ("reset", "invite", "login/disable", "login/enable"):
        assert post(attacker, f"/customers/{customer.id}/{action}", customer).status_code == 404
    db_session.expire_all()
    assert db_session.get(Customer, customer.id).email == "yvonne@client.test"
    assert db_session.scalar(sa.select(sa.func.count()).select_from(CustomerPasswordReset)) == 0
    assert (
        db_session.scalar(
            sa.select(sa.func.count())
            .select_from(CustomerNotification)
            .where(CustomerNotification.to_address != customer.email)
        )
        == 0
    )


def test_a_customer_shared_by_two_designers_is_managed_by_admins_only(app, factory, db_session):
    designer_a, designer_b, admin = factory.user(), factory.user(), factory.user("admin")
    customer = factory.customer()
    factory.proof(designer_a, customer)
    factory.proof(designer_b, customer)
    for designer in (designer_a, designer_b):
        client = app.test_client()
        login(client, designer)
        assert edit(client, customer, email="moved@client.test").status_code == 404
        assert post(client, f"/customers/{customer.id}/invite", customer).status_code == 404
    client = app.test_client()
    login(client, admin)
    assert edit(client, customer, email="moved@client.test").status_code == 302
    assert post(client, f"/customers/{customer.id}/invite", customer).status_code == 302
    db_session.expire_all()
    assert db_session.get(Customer, customer.id).email == "moved@client.test"


def test_the_designer_who_works_alone_with_a_customer_manages_it_and_it_is_recorded(
    app, factory, db_session
):
    designer, other = factory.user(name="Dana"), factory.user()
    own = factory.customer(name="Own Customer", email="own@client.test")
    factory.proof(designer, own)
    client = app.test_client()
    login(client, designer)
    created = client.post(
        "/customers/new",
        data={
            "name": "New Customer",
            "email": "new@client.test",
            "csrf_token": csrf_token(client, "/customers/new"),
        },
    )
    new_id = int(created.headers["Location"].rsplit("/", 1)[1])
    new = db_session.get(Customer, new_id)
    assert edit(client, own, email="own-new@client.test").status_code == 302
    assert edit(client, new, company="New Co").status_code == 302
    assert post(client, f"/customers/{new_id}/invite", new).status_code == 302
    history = client.get(f"/customers/{own.id}").get_data(as_text=True)
    assert "Account history" in history
    assert (
        "Dana</strong> changed the customer&#39;s email (own@client.test → "
        "own-new@client.test)" in history
    )
    # Once another designer has a proof for the customer, only an admin may change it.
    factory.proof(other, own)
    assert edit(client, own, email="own-again@client.test").status_code == 404


def test_invite_all_invites_only_the_customers_a_designer_manages(app, factory, db_session):
    designer, other = factory.user(), factory.user()
    mine, theirs, unused = factory.customer(), factory.customer(), factory.customer()
    factory.proof(designer, mine)
    factory.proof(other, theirs)
    client = app.test_client()
    login(client, designer)
    response = client.post(
        "/customers/invite-all", data={"csrf_token": csrf_token(client, "/customers")}
    )
    assert response.status_code == 302
    invited = set(db_session.scalars(sa.select(CustomerInvite.customer_id)))
    assert invited == {mine.id}
    assert unused.id not in invited  # made by nobody, used by nobody: an admin's to invite
