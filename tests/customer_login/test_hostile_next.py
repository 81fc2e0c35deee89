"""Customer login with a hostile `next=`: a plain redirect to the portal, never a 500."""

from __future__ import annotations

import pytest

from tests.accounts.test_views import HOSTILE_NEXT
from tests.conftest import login
from tests.customer_login.helpers import customer_login, customer_with_login


@pytest.fixture
def app(make_app):
    return make_app(CUSTOMER_LOGIN_ENABLED="true")


def test_control_characters_in_next_lead_to_the_portal_not_a_500(app, client, factory):
    customer = factory.customer(email="max@muster.test")
    login(client, factory.user("admin"))
    customer_with_login(app, client, customer)
    for target in HOSTILE_NEXT:
        response = customer_login(app.test_client(), customer.email, next_path=target)
        assert response.status_code == 302, target
        assert response.headers["Location"] == "/portal", target
        assert "X-Injected" not in response.headers
    # A customer already logged in who follows such a link lands in the portal too.
    visitor = app.test_client()
    customer_login(visitor, customer.email)
    response = visitor.get(f"/portal/login?next={HOSTILE_NEXT[0]}")
    assert response.status_code == 302 and response.headers["Location"] == "/portal"
