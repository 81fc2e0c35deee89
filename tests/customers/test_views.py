"""Customers: create, edit, search, and a customer's proofs."""

from __future__ import annotations

from tests.conftest import csrf_token, login


def test_designer_adds_edits_and_finds_customers(client, factory):
    login(client, factory.user())
    response = client.post(
        "/customers/new",
        data={
            "name": "Fred Florist",
            "email": "fred@flowers.test",
            "company": "Fred's Flowers",
            "csrf_token": csrf_token(client, "/customers/new"),
        },
    )
    assert response.status_code == 302
    show = response.headers["Location"]
    assert "Fred&#39;s Flowers" in client.get(show).get_data(as_text=True)
    response = client.post(
        show + "/edit",
        data={
            "name": "Fred Florist",
            "email": "fred@flowers.test",
            "company": "Bloom Ltd",
            "csrf_token": csrf_token(client, show + "/edit"),
        },
    )
    assert response.status_code == 302
    for query in ("bloom", "FRED", "flowers.test"):
        assert "Fred Florist" in client.get(f"/customers?q={query}").get_data(as_text=True)
    assert "No customer matches" in client.get("/customers?q=zzz%25_").get_data(as_text=True)


def test_duplicate_and_invalid_customer_emails_are_explained(client, factory):
    customer = factory.customer()
    login(client, factory.user())
    response = client.post(
        "/customers/new",
        data={
            "name": "Again",
            "email": customer.email.upper(),
            "csrf_token": csrf_token(client, "/customers/new"),
        },
    )
    assert "A customer with this email already exists." in response.get_data(as_text=True)
    response = client.post(
        "/customers/new",
        data={"name": "", "email": "x", "csrf_token": csrf_token(client, "/customers/new")},
    )
    assert "This field is required." in response.get_data(as_text=True)


def test_customer_page_lists_the_designers_own_proofs(client, factory):
    designer, other = factory.user(), factory.user()
    customer = factory.customer(name="Gina")
    factory.proof(designer, customer, title="Mine")
    factory.proof(other, customer, title="Theirs")
    login(client, designer)
    page = client.get(f"/customers/{customer.id}").get_data(as_text=True)
    assert "Mine" in page and "Theirs" not in page
    assert client.get("/customers/999999").status_code == 404
