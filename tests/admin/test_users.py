"""Admin → Users: list, create, edit, deactivate; designers cannot get in."""

from __future__ import annotations

import sqlalchemy as sa

from proofdesk.accounts.models import User
from tests.conftest import PASSWORD, csrf_token, login


def test_admin_creates_a_designer_who_can_log_in(app, client, factory, db_session):
    login(client, factory.user(role="admin"))
    response = client.post(
        "/admin/users/new",
        data={
            "name": "Dora Designer",
            "email": "Dora@Studio.test",
            "role": "designer",
            "active": "y",
            "password": PASSWORD,
            "csrf_token": csrf_token(client, "/admin/users/new"),
        },
    )
    assert response.status_code == 302
    listing = client.get("/admin/users").get_data(as_text=True)
    assert "Dora Designer" in listing and "dora@studio.test" in listing
    dora = db_session.scalar(sa.select(User).where(User.email == "dora@studio.test"))
    login(app.test_client(), dora)


def test_user_form_shows_clear_errors(client, factory):
    admin = factory.user(role="admin")
    login(client, admin)
    response = client.post(
        "/admin/users/new",
        data={
            "name": "X",
            "email": admin.email,
            "role": "designer",
            "password": "short",
            "csrf_token": csrf_token(client, "/admin/users/new"),
        },
    )
    page = response.get_data(as_text=True)
    assert "Use at least 8 characters." in page or "already exists" in page
    response = client.post(
        "/admin/users/new",
        data={
            "name": "X",
            "email": "not-an-email",
            "role": "designer",
            "password": PASSWORD,
            "csrf_token": csrf_token(client, "/admin/users/new"),
        },
    )
    assert "Enter a valid email address." in response.get_data(as_text=True)


def test_deactivating_a_user_ends_their_sessions_at_once(app, client, factory):
    admin, designer = factory.user(role="admin"), factory.user()
    designer_client = app.test_client()
    login(designer_client, designer)
    assert designer_client.get("/proofs").status_code == 200
    login(client, admin)
    client.post(
        f"/admin/users/{designer.id}/deactivate",
        data={"csrf_token": csrf_token(client, "/admin/users")},
    )
    assert designer_client.get("/proofs").status_code == 302
    response = designer_client.post(
        "/login",
        data={
            "email": designer.email,
            "password": PASSWORD,
            "csrf_token": csrf_token(designer_client, "/login"),
        },
    )
    assert "Email or password is not right." in response.get_data(as_text=True)
    assert "Deactivated" in client.get("/admin/users").get_data(as_text=True)


def test_edit_user_changes_role_and_ends_sessions(app, client, factory, db_session):
    admin, designer = factory.user(role="admin"), factory.user()
    other = app.test_client()
    login(other, designer)
    login(client, admin)
    path = f"/admin/users/{designer.id}/edit"
    response = client.post(
        path,
        data={
            "name": "Promoted",
            "email": designer.email,
            "role": "admin",
            "active": "y",
            "csrf_token": csrf_token(client, path),
        },
    )
    assert response.status_code == 302
    db_session.expire_all()
    assert db_session.get(User, designer.id).role == "admin"
    assert other.get("/proofs").status_code == 302  # privilege change: log in again


def test_admin_cannot_lock_themselves_out(client, factory):
    admin = factory.user(role="admin")
    login(client, admin)
    path = f"/admin/users/{admin.id}/edit"
    response = client.post(
        path,
        data={
            "name": admin.name,
            "email": admin.email,
            "role": "designer",
            "active": "y",
            "csrf_token": csrf_token(client, path),
        },
    )
    assert "cannot remove your own admin role" in response.get_data(as_text=True)


def test_designers_do_not_see_admin_pages(client, factory):
    designer = factory.user()
    login(client, designer)
    for path in ("/admin/users", "/admin/users/new", f"/admin/users/{designer.id}/edit"):
        assert client.get(path).status_code == 404
    assert "Admin → Users" not in client.get("/proofs").get_data(as_text=True)
