"""The two flags in each combination, as the rollout guide uses them."""

from __future__ import annotations

import pytest

from tests.conftest import csrf_token, login
from tests.customer_login.helpers import customer_login, customer_with_login
from tests.review.test_share_link import share_path

CUSTOMER_PAGES = [
    "/portal",
    "/portal/login",
    "/portal/forgot",
    "/portal/invite/abc",
    "/portal/reset/abc",
    "/portal/account/password",
    "/portal/proofs/1",
]


@pytest.fixture
def world(make_app, factory):
    """A proof for a customer who has a login, and the proof's share-link path."""
    setup = make_app(CUSTOMER_LOGIN_ENABLED="true")
    staff = setup.test_client()
    designer = factory.user()
    owner, stranger = factory.customer(name="Owner"), factory.customer(name="Stranger")
    proof = factory.proof(designer, owner, title="Flag poster")
    login(staff, designer)
    customer_with_login(setup, staff, owner)
    office = setup.test_client()  # the designer has no proof for the stranger: an admin invites
    login(office, factory.user("admin"))
    customer_with_login(setup, office, stranger)
    return {
        "proof": proof,
        "path": share_path(staff, proof),
        "owner": owner,
        "stranger": stranger,
        "designer": designer,
    }


def flags(make_app, legacy: bool, login_enabled: bool):
    return make_app(
        LEGACY_PUBLIC_LINKS_ENABLED=str(legacy).lower(),
        CUSTOMER_LOGIN_ENABLED=str(login_enabled).lower(),
    )


def test_links_on_login_off_is_the_rollback(make_app, world):
    app = flags(make_app, True, False)
    visitor = app.test_client()
    assert "Flag poster" in visitor.get(world["path"]).get_data(as_text=True)
    for path in CUSTOMER_PAGES:
        assert visitor.get(path).status_code == 404, path
    assert visitor.post("/portal/login", data={}).status_code == 404
    staff = app.test_client()
    login(staff, world["designer"])
    page = staff.get(f"/customers/{world['owner'].id}").get_data(as_text=True)
    assert "Portal login" not in page and "Send invitation" not in page
    token = csrf_token(staff, "/customers")
    assert (
        staff.post(f"/customers/{world['owner'].id}/invite", data={"csrf_token": token}).status_code
        == 404
    )
    assert "Invite all" not in staff.get("/customers").get_data(as_text=True)


def test_links_on_login_on(make_app, world):
    app = flags(make_app, True, True)
    anonymous = app.test_client()
    assert "Flag poster" in anonymous.get(world["path"]).get_data(as_text=True)
    owner = app.test_client()
    customer_login(owner, world["owner"].email)
    response = owner.get(world["path"])
    assert response.status_code == 302
    assert response.headers["Location"] == f"/portal/proofs/{world['proof'].id}"
    assert "Flag poster" in owner.get(response.headers["Location"]).get_data(as_text=True)
    stranger = app.test_client()
    customer_login(stranger, world["stranger"].email)
    assert stranger.get(world["path"]).status_code == 200  # the link still works as a link


def test_links_off_login_on_sends_links_through_login(make_app, world):
    app = flags(make_app, False, True)
    visitor = app.test_client()
    response = visitor.get(world["path"])
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/portal/login?next=")
    assert "Flag poster" not in visitor.get(response.headers["Location"]).get_data(as_text=True)
    # After logging in, the owner lands on the proof.
    login_response = customer_login(visitor, world["owner"].email, next_path=world["path"])
    assert login_response.headers["Location"] == world["path"]
    final = visitor.get(world["path"])
    assert final.headers["Location"] == f"/portal/proofs/{world['proof'].id}"
    # Someone else's proof stays hidden, and unknown tokens go to login like real ones.
    stranger = app.test_client()
    customer_login(stranger, world["stranger"].email)
    assert stranger.get(world["path"]).status_code == 404
    assert stranger.get(world["path"] + "/v/1/pages/1").status_code == 404
    fresh = app.test_client()
    assert fresh.get("/s/" + "B" * 43).headers["Location"].startswith("/portal/login")


def test_links_off_login_off_retires_the_links(make_app, world):
    app = flags(make_app, False, False)
    response = app.test_client().get(world["path"])
    assert response.status_code == 410
    text = response.get_data(as_text=True)
    assert "This link has been retired" in text and "Flag poster" not in text
    for path in CUSTOMER_PAGES:
        assert app.test_client().get(path).status_code == 404


def test_admin_customers_shows_states_and_readiness(make_app, world, factory):
    app = flags(make_app, True, True)
    factory.customer(name="No Login Yet")
    app.test_client().get(world["path"])  # one share-link view
    admin = app.test_client()
    login(admin, factory.user(role="admin"))
    page = admin.get("/admin/customers").get_data(as_text=True)
    assert "<strong>1</strong> of 3 customers have no login yet" in page
    assert "<strong>1</strong> share-link views in the last 30 days" in page
    assert "Keep <code>LEGACY_PUBLIC_LINKS_ENABLED=true</code>" in page
    assert page.count("badge-login-active") == 2 and page.count("badge-login-none") == 1
    designer = app.test_client()
    login(designer, world["designer"])
    assert designer.get("/admin/customers").status_code == 404
