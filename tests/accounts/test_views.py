"""Staff login, logout, sessions, password change, first-admin setup."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from proofdesk.accounts import services
from proofdesk.accounts.models import User, UserSession
from proofdesk.accounts.views import safe_next
from tests.conftest import PASSWORD, csrf_token, login


def test_login_page_tells_a_newcomer_how_to_get_an_admin(client):
    page = client.get("/login").get_data(as_text=True)
    assert "There is no admin yet" in page
    assert "proofdesk create-user --role admin" in page


def test_setup_link_creates_the_first_admin_once(client, db_session):
    token = services.issue_setup_token(db_session)
    db_session.commit()
    path = f"/setup/{token}"
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["Referrer-Policy"] == "no-referrer"
    data = {
        "name": "Ada Admin",
        "email": "ada@studio.test",
        "password": PASSWORD,
        "csrf_token": csrf_token(client, path),
    }
    response = client.post(path, data=data)
    assert response.status_code == 302 and response.headers["Location"] == "/admin/users"
    assert "Ada Admin" in client.get("/admin/users").get_data(as_text=True)
    admin = db_session.scalar(sa.select(User).where(User.email == "ada@studio.test"))
    assert admin.role == "admin"
    # The link is spent: a second visit is a plain 404, and no new token while an admin exists.
    assert client.get(path).status_code == 404
    assert services.issue_setup_token(db_session) is None


def test_setup_with_a_weak_password_keeps_the_link_usable(client, db_session):
    token = services.issue_setup_token(db_session)
    db_session.commit()
    path = f"/setup/{token}"
    response = client.post(
        path,
        data={
            "name": "A",
            "email": "a@studio.test",
            "password": "password",
            "csrf_token": csrf_token(client, path),
        },
    )
    assert response.status_code == 200
    assert "too common" in response.get_data(as_text=True)
    assert client.get(path).status_code == 200


def test_wrong_password_and_unknown_email_get_the_same_answer(client, factory):
    user = factory.user()
    token = csrf_token(client, "/login")
    wrong = client.post(
        "/login", data={"email": user.email, "password": "nope-nope-nope", "csrf_token": token}
    )
    unknown = client.post(
        "/login",
        data={"email": "nobody@studio.test", "password": "nope-nope-nope", "csrf_token": token},
    )
    assert wrong.status_code == unknown.status_code == 200
    assert "Email or password is not right." in wrong.get_data(as_text=True)
    assert "Email or password is not right." in unknown.get_data(as_text=True)


def test_login_is_throttled_after_ten_failures(client, factory):
    user = factory.user()
    token = csrf_token(client, "/login")
    for _ in range(10):
        client.post(
            "/login", data={"email": user.email, "password": "wrong-password", "csrf_token": token}
        )
    response = client.post(
        "/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 429
    assert "Too many attempts" in response.get_data(as_text=True)


def test_next_only_follows_paths_on_this_site(client, factory):
    user = factory.user()
    for target, expected in (
        ("/customers", "/customers"),
        ("https://evil.test/", "/proofs"),
        ("//evil.test/x", "/proofs"),
        ("/\\evil.test", "/proofs"),
    ):
        response = client.post(
            f"/login?next={target}",
            data={
                "email": user.email,
                "password": PASSWORD,
                "csrf_token": csrf_token(client, "/login"),
            },
        )
        assert response.headers["Location"] == expected
        client.post("/logout", data={"csrf_token": csrf_token(client, "/proofs")})


def test_cookie_captured_before_logout_no_longer_works(app, client, factory):
    user = factory.user()
    login(client, user)
    captured = client.get_cookie("session").value
    client.post("/logout", data={"csrf_token": csrf_token(client, "/proofs")})
    thief = app.test_client()
    thief.set_cookie("session", captured)
    assert thief.get("/proofs").status_code == 302


def test_password_change_ends_other_sessions_and_keeps_this_one(app, client, factory, db_session):
    user = factory.user()
    other = app.test_client()
    login(other, user)
    login(client, user)
    response = client.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": "a brand new passphrase",
            "csrf_token": csrf_token(client, "/account/password"),
        },
    )
    assert response.status_code == 302
    assert client.get("/proofs").status_code == 200
    assert other.get("/proofs").status_code == 302
    assert db_session.scalar(sa.select(sa.func.count()).select_from(UserSession)) == 1


def test_password_change_with_wrong_current_password_says_so(client, factory):
    user = factory.user()
    login(client, user)
    response = client.post(
        "/account/password",
        data={
            "current_password": "not it at all",
            "new_password": "a brand new passphrase",
            "csrf_token": csrf_token(client, "/account/password"),
        },
    )
    assert "Your current password is not right." in response.get_data(as_text=True)


def test_forms_without_csrf_token_are_refused(client, factory):
    user = factory.user()
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 400
    assert "This form has expired" in response.get_data(as_text=True)


HOSTILE_NEXT = [
    "/%0D%0AX-Injected:%201",
    "/%0Aevil",
    "/%09/evil.test",
    "/%0D/evil.test",
    "/x%7F",
    "/%C2%85x",
]


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_control_characters_in_next_lead_to_the_dashboard_not_a_500(client, factory, target):
    user = factory.user()
    response = client.post(
        f"/login?next={target}",
        data={
            "email": user.email,
            "password": PASSWORD,
            "csrf_token": csrf_token(client, "/login"),
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/proofs"
    assert "X-Injected" not in response.headers


@pytest.mark.parametrize(
    "target",
    [
        "/\r\nX-Injected: 1",
        "/\t/evil.test",
        "/\n/evil.test",
        "/a\x00b",
        "/\x7f",
        "/\u0085x",
        "/\u200ex",
    ],
)
def test_safe_next_refuses_control_characters(target):
    assert safe_next(target, "/home") == "/home"
    assert (
        safe_next("/proofs?status=approved&q=Shop sign", "/home")
        == "/proofs?status=approved&q=Shop sign"
    )


def test_login_starts_a_new_session(client, factory):
    """A CSRF token (or anything else) of the anonymous session does not survive login."""
    user = factory.user()
    anonymous = csrf_token(client, "/login")
    response = client.post(
        "/login", data={"email": user.email, "password": PASSWORD, "csrf_token": anonymous}
    )
    assert response.status_code == 302
    refused = client.post("/logout", data={"csrf_token": anonymous})
    assert refused.status_code == 400
    assert "This form has expired" in refused.get_data(as_text=True)
    assert client.get("/proofs").status_code == 200  # still logged in
    response = client.post("/logout", data={"csrf_token": csrf_token(client, "/proofs")})
    assert response.status_code == 302
    assert client.get("/proofs").status_code == 302


def test_first_admin_setup_starts_a_new_session(client, db_session):
    token = services.issue_setup_token(db_session)
    db_session.commit()
    path = f"/setup/{token}"
    anonymous = csrf_token(client, path)
    response = client.post(
        path,
        data={
            "name": "Ada Admin",
            "email": "ada@studio.test",
            "password": PASSWORD,
            "csrf_token": anonymous,
        },
    )
    assert response.status_code == 302
    refused = client.post("/logout", data={"csrf_token": anonymous})
    assert refused.status_code == 400
    assert "Ada Admin" in client.get("/admin/users").get_data(as_text=True)
    response = client.post("/logout", data={"csrf_token": csrf_token(client, "/admin/users")})
    assert response.status_code == 302
    assert client.get("/admin/users").status_code == 302
