"""Customer login, forgotten passwords and sessions: no enumeration, throttled, server-side."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from proofdesk.customer_login.models import CustomerPasswordReset, CustomerSession
from proofdesk.worker import run_once
from tests.conftest import csrf_token, login
from tests.customer_login.helpers import (
    CUSTOMER_PASSWORD,
    accept,
    customer_login,
    customer_with_login,
    mailed_link,
)
from tests.mailserver import mailbox


@pytest.fixture
def app(make_app):
    return make_app(CUSTOMER_LOGIN_ENABLED="true")


@pytest.fixture
def customer(factory):
    return factory.customer(name="Max Muster", email="max@muster.test")


@pytest.fixture
def staff(client, factory, customer):
    """The designer who works with the customer (and so may send its login mails)."""
    designer = factory.user()
    factory.proof(designer, customer)
    login(client, designer)
    return client


def test_login_and_logout(app, staff, customer):
    customer_with_login(app, staff, customer)
    visitor = app.test_client()
    response = customer_login(visitor, customer.email)
    assert response.status_code == 302 and response.headers["Location"] == "/portal"
    assert "Max Muster" in visitor.get("/portal").get_data(as_text=True)
    captured = visitor.get_cookie("session").value
    visitor.post("/portal/logout", data={"csrf_token": csrf_token(visitor, "/portal")})
    assert visitor.get("/portal").status_code == 302
    thief = app.test_client()
    thief.set_cookie("session", captured)
    response = thief.get("/portal")
    assert response.status_code == 302 and "/portal/login" in response.headers["Location"]


def test_wrong_password_and_unknown_email_look_the_same(app, staff, customer):
    customer_with_login(app, staff, customer)
    visitor = app.test_client()
    wrong = customer_login(visitor, customer.email, "not my password")
    unknown = customer_login(visitor, "nobody@nowhere.test", "not my password")
    assert wrong.status_code == unknown.status_code == 200
    strip = lambda page: page.replace(customer.email, "").replace("nobody@nowhere.test", "")  # noqa: E731
    assert strip(wrong.get_data(as_text=True)).count("Email or password is not right.") == 1
    assert (
        strip(wrong.get_data(as_text=True)).split('name="csrf_token"')[0]
        == strip(unknown.get_data(as_text=True)).split('name="csrf_token"')[0]
    )


def test_login_is_throttled_per_account(app, staff, customer):
    customer_with_login(app, staff, customer)
    for n in range(10):
        customer_login(app.test_client(), customer.email, f"wrong guess {n}")
    response = customer_login(app.test_client(), customer.email)
    assert response.status_code == 429
    assert "Too many attempts" in response.get_data(as_text=True)


def without_csrf_token(page: str) -> str:
    """The page with its CSRF tokens blanked: a token carries the second it was made in, so two
    pages rendered a second apart differ there and nowhere else."""
    return re.sub(r'(name="[\w-]*csrf_token"[^>]*value=")[^"]*', r"\1", page)


def test_forgot_password_says_the_same_for_known_and_unknown(app, staff, customer, db_session):
    customer_with_login(app, staff, customer)
    visitor = app.test_client()
    answers = []
    for email in (customer.email, "unknown@nowhere.test"):
        response = visitor.post(
            "/portal/forgot",
            data={"email": email, "csrf_token": csrf_token(visitor, "/portal/forgot")},
        )
        answers.append(
            (
                response.status_code,
                response.headers["Location"],
                without_csrf_token(
                    visitor.get(response.headers["Location"]).get_data(as_text=True)
                ),
            )
        )
    assert answers[0][:2] == answers[1][:2] == (302, "/portal/login")
    assert "If an account exists for that email address" in answers[0][2]
    assert answers[0][2] == answers[1][2]
    run_once(app)  # the worker answers the requests: a link only for the known address
    assert db_session.scalar(sa.select(sa.func.count()).select_from(CustomerPasswordReset)) == 1
    assert [
        m["To"] for m in mailbox(app.config["MAIL_MAILBOX_DIR"]) if "password" in m["Subject"]
    ] == [customer.email]


def test_forgot_password_does_the_same_work_for_known_and_unknown_addresses(
    app, staff, customer, db_session
):
    """Timing must not tell which addresses have a login: the form runs the very same SQL
    statements for a customer with a login, one without, and an unknown address (the worker
    does the lookup later)."""
    customer_with_login(app, staff, customer)
    engine = app.extensions["db_engine"]
    statements: list[str] = []

    def log(_conn, _cursor, statement, _params, _context, _executemany):
        statements.append(statement)

    visitor = app.test_client()
    token = csrf_token(visitor, "/portal/forgot")
    seen = []
    sa.event.listen(engine, "before_cursor_execute", log)
    try:
        for email in (customer.email, "without-login@client.test", "unknown@nowhere.test"):
            statements.clear()
            response = visitor.post("/portal/forgot", data={"email": email, "csrf_token": token})
            assert response.status_code == 302
            seen.append(list(statements))
    finally:
        sa.event.remove(engine, "before_cursor_execute", log)
    assert seen[0] == seen[1] == seen[2]
    assert not any("customers" in statement for statement in seen[0])


def test_reset_link_changes_the_password_once_and_ends_other_sessions(
    app, staff, customer, db_session
):
    other_device = customer_with_login(app, staff, customer)
    visitor = app.test_client()
    visitor.post(
        "/portal/forgot",
        data={"email": customer.email, "csrf_token": csrf_token(visitor, "/portal/forgot")},
    )
    link = mailed_link(app, "reset", customer.email)
    reset = db_session.scalar(sa.select(CustomerPasswordReset))
    assert dt.timedelta(minutes=59) < reset.expires_at - reset.created_at <= dt.timedelta(hours=1)
    assert accept(visitor, link, "a fresh new passphrase").status_code == 302
    assert other_device.get("/portal").status_code == 302  # logged out elsewhere
    assert visitor.get("/portal").status_code == 200
    assert visitor.get(link).status_code == 404
    assert (
        customer_login(app.test_client(), customer.email, CUSTOMER_PASSWORD).status_code == 200
    )  # old password no longer works
    assert (
        customer_login(app.test_client(), customer.email, "a fresh new passphrase").status_code
        == 302
    )


def test_reset_link_expires_after_an_hour(app, staff, customer, db_session):
    customer_with_login(app, staff, customer)
    visitor = app.test_client()
    visitor.post(
        "/portal/forgot",
        data={"email": customer.email, "csrf_token": csrf_token(visitor, "/portal/forgot")},
    )
    link = mailed_link(app, "reset", customer.email)
    reset = db_session.scalar(sa.select(CustomerPasswordReset))
    reset.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    db_session.commit()
    assert visitor.get(link).status_code == 404


def test_forgot_password_is_throttled(app, customer):
    visitor = app.test_client()
    token = csrf_token(visitor, "/portal/forgot")
    codes = [
        visitor.post(
            "/portal/forgot", data={"email": f"x{n}@y.test", "csrf_token": token}
        ).status_code
        for n in range(6)
    ]
    assert codes[:5] == [302] * 5 and codes[5] == 429


def test_password_change_keeps_this_session_and_ends_others(app, staff, customer, db_session):
    other = customer_with_login(app, staff, customer)
    this = app.test_client()
    customer_login(this, customer.email)
    path = "/portal/account/password"
    response = this.post(
        path,
        data={
            "current_password": CUSTOMER_PASSWORD,
            "new_password": "another long passphrase",
            "csrf_token": csrf_token(this, path),
        },
    )
    assert response.status_code == 302
    assert this.get("/portal").status_code == 200
    assert other.get("/portal").status_code == 302
    assert db_session.scalar(sa.select(sa.func.count()).select_from(CustomerSession)) == 1


def test_disabling_a_customer_login_ends_their_sessions(app, staff, customer):
    portal = customer_with_login(app, staff, customer)
    page = f"/customers/{customer.id}"
    staff.post(f"{page}/login/disable", data={"csrf_token": csrf_token(staff, page)})
    assert portal.get("/portal").status_code == 302
    assert customer_login(app.test_client(), customer.email).status_code == 200
    assert "Disabled" in staff.get(page).get_data(as_text=True)
    staff.post(f"{page}/login/enable", data={"csrf_token": csrf_token(staff, page)})
    assert customer_login(app.test_client(), customer.email).status_code == 302


def test_staff_can_send_a_reset_to_a_customer(app, staff, customer):
    customer_with_login(app, staff, customer)
    page = f"/customers/{customer.id}"
    staff.post(f"{page}/reset", data={"csrf_token": csrf_token(staff, page)})
    run_once(app)
    assert mailbox(app.config["MAIL_MAILBOX_DIR"])[-1]["Subject"].endswith("choose a new password")


def test_next_after_customer_login_stays_on_this_site(app, staff, customer):
    customer_with_login(app, staff, customer)
    for target, expected in (
        ("/portal", "/portal"),
        ("https://evil.test", "/portal"),
        ("//evil.test", "/portal"),
    ):
        visitor = app.test_client()
        assert (
            customer_login(visitor, customer.email, next_path=target).headers["Location"]
            == expected
        )
