"""SMTP settings per designer and Send Test Email: encrypted, checked, shown where people look."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from proofdesk.accounts.models import User
from proofdesk.notifications import secrets
from proofdesk.notifications.models import SmtpSettings, settings_of
from tests.conftest import TEST_SMTP_KEY, csrf_token, login
from tests.mailserver import PASSWORD
from tests.notifications.helpers import save_own_smtp, send_test, smtp_form


@pytest.fixture
def designer(factory):
    return factory.user(name="Nora Nord", email="nora@studio-nord.test")


def test_password_is_encrypted_and_never_shown(app, client, designer, server, db_session):
    login(client, designer)
    assert save_own_smtp(client, smtp_form(server)).status_code == 302
    stored = db_session.scalar(
        sa.select(SmtpSettings.password_encrypted).where(SmtpSettings.user_id == designer.id)
    )
    assert PASSWORD not in stored
    assert secrets.decrypt([TEST_SMTP_KEY], stored) == PASSWORD
    page = client.get("/account/email").get_data(as_text=True)
    assert PASSWORD not in page and "A password is saved." in page
    assert 'value="localhost"' in page and "Not tested yet" in page


def test_changing_host_port_or_username_asks_for_the_password_again(app, client, designer, server):
    login(client, designer)
    save_own_smtp(client, smtp_form(server))
    for change in (
        {"smtp-host": "127.0.0.1"},
        {"smtp-port": "2525"},
        {"smtp-username": "someone-else"},
    ):
        response = save_own_smtp(client, smtp_form(server, password="", **change))
        assert response.status_code == 400
        assert "Enter the password again" in response.get_data(as_text=True)
    # Other fields can change without it.
    response = save_own_smtp(
        client, smtp_form(server, password="", **{"smtp-from_name": "Studio Nord GmbH"})
    )
    assert response.status_code == 302


@pytest.mark.parametrize("where", ["own settings", "Admin → Users → Edit"])
def test_changing_the_security_asks_for_the_password_again(
    make_app, server, factory, db_session, where
):
    """Else whoever holds the session could switch STARTTLS off and have the next send put the
    saved password on the wire in clear."""
    import re

    from tests.notifications.helpers import csrf_token_prefixed

    app = make_app(
        SMTP_ALLOW_PRIVATE_HOSTS="true", SMTP_ALLOW_INSECURE="true", SMTP_CA_FILE=server.cafile
    )
    designer = factory.user(name="Nora Nord")
    client = app.test_client()
    if where == "own settings":
        login(client, designer)
        page, post = "/account/email", "/account/email"
    else:
        login(client, factory.user(role="admin"))
        page, post = f"/admin/users/{designer.id}/edit", f"/admin/users/{designer.id}/email"

    def save(**changes: str):  # type: ignore[no-untyped-def]
        return client.post(
            post,
            data={
                **smtp_form(server, **changes),
                "smtp-csrf_token": csrf_token_prefixed(client, page, "smtp"),
            },
        )

    def security() -> str:
        db_session.expire_all()
        value = settings_of(db_session.get(User, designer.id)).security
        db_session.rollback()
        return value

    assert save().status_code == 302 and security() == "starttls"
    for lower in ("none", "ssl"):
        response = save(**{"smtp-security": lower, "smtp-password": ""})
        assert response.status_code == 400
        field = re.search(
            r'<div class="field has-error">\s*<label for="smtp-password">.*?</div>',
            response.get_data(as_text=True),
            re.S,
        )
        assert field, "no error next to the password field"
        assert "Enter the password again: the security setting changed." in field.group()
        assert security() == "starttls"
    # The next send still goes through STARTTLS (the server insists on it before AUTH).
    test = post + "/test"
    token = csrf_token_prefixed(client, page, "test")
    sent = client.post(test, data={"test-to": "ops@studio.test", "test-csrf_token": token})
    assert "Test email sent to ops@studio.test" in sent.get_data(as_text=True)
    assert server.inbox.wait_for(1)[0]["To"] == "ops@studio.test"
    # With the password typed again, the change is saved.
    assert save(**{"smtp-security": "none"}).status_code == 302 and security() == "none"


def test_unencrypted_smtp_only_when_the_operator_allows_it(make_app, server, designer):
    app = make_app(SMTP_ALLOW_PRIVATE_HOSTS="true")
    client = app.test_client()
    login(client, designer)
    response = save_own_smtp(client, smtp_form(server, mode="none"))
    assert response.status_code == 400
    allowing = make_app(SMTP_ALLOW_PRIVATE_HOSTS="true", SMTP_ALLOW_INSECURE="true")
    client = allowing.test_client()
    login(client, designer)
    assert save_own_smtp(client, smtp_form(server, mode="none")).status_code == 302


def test_line_breaks_in_settings_are_refused(app, client, designer, server):
    login(client, designer)
    response = save_own_smtp(
        client, smtp_form(server, **{"smtp-from_name": "Studio\r\nBcc: victim@evil.test"})
    )
    assert response.status_code == 400
    assert "Line breaks are not allowed here." in response.get_data(as_text=True)


def test_send_test_email_succeeds_and_is_recorded(app, client, designer, server, db_session):
    login(client, designer)
    save_own_smtp(client, smtp_form(server))
    response = send_test(client, "/account/email/test", to="check@studio-nord.test")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Test email sent to check@studio-nord.test through your SMTP server" in page
    received = server.inbox.wait_for(1)[0]
    assert received["To"] == "check@studio-nord.test"
    assert received["From"].addresses[0].addr_spec == "hello@studio-nord.test"
    assert received["From"].addresses[0].display_name == "Studio Nord"
    db_session.expire_all()
    settings = settings_of(db_session.get(User, designer.id))
    assert (settings.last_status, settings.last_error) == ("ok", None)


def test_failing_test_shows_the_category_everywhere_and_clears_after_success(
    app, client, designer, server, factory, db_session
):
    login(client, designer)
    save_own_smtp(client, smtp_form(server, password="wrong password"))
    page = send_test(client, "/account/email/test").get_data(as_text=True)
    assert "Authentication failed. The server said: 535" in page
    dashboard = client.get("/proofs").get_data(as_text=True)
    assert "Your customer emails are failing" in dashboard and "Authentication failed" in dashboard
    admin = app.test_client()
    login(admin, factory.user(role="admin"))
    users = admin.get("/admin/users").get_data(as_text=True)
    assert "Failing since" in users and "Authentication failed: 535" in users
    # Fix the password and re-test from My Proofs: the warning clears.
    save_own_smtp(client, smtp_form(server))
    token = csrf_token(client, "/proofs")
    response = client.post(
        "/account/email/test", data={"test-to": "nora@studio-nord.test", "test-csrf_token": token}
    )
    assert "Test email sent" in response.get_data(as_text=True)
    assert "Your customer emails are failing" not in client.get("/proofs").get_data(as_text=True)
    assert "Working" in admin.get("/admin/users").get_data(as_text=True)


def test_admin_edits_a_designers_smtp_and_tests_it(
    app, client, designer, server, factory, db_session
):
    login(client, factory.user(role="admin"))
    edit = f"/admin/users/{designer.id}/edit"
    page = client.get(edit).get_data(as_text=True)
    assert "Send Test Email" in page and "Default mailer" in page
    from tests.notifications.helpers import csrf_token_prefixed

    data = {**smtp_form(server), "smtp-csrf_token": csrf_token_prefixed(client, edit, "smtp")}
    assert client.post(f"/admin/users/{designer.id}/email", data=data).status_code == 302
    token = csrf_token_prefixed(client, edit, "test")
    response = client.post(
        f"/admin/users/{designer.id}/email/test",
        data={"test-to": "ops@studio.test", "test-csrf_token": token},
    )
    assert "Test email sent to ops@studio.test" in response.get_data(as_text=True)
    assert server.inbox.wait_for(1)[0]["To"] == "ops@studio.test"
    assert "Working" in client.get("/admin/users").get_data(as_text=True)


@pytest.mark.parametrize(
    "category,expected", [("closed", "Cannot connect"), ("private", "private or local address")]
)
def test_failure_categories_reach_the_person(make_app, designer, server, category, expected):
    from tests.mailserver import free_port

    app = make_app(SMTP_ALLOW_PRIVATE_HOSTS="true" if category == "closed" else "false")
    client = app.test_client()
    login(client, designer)
    port = str(free_port()) if category == "closed" else str(server.port)
    save_own_smtp(client, smtp_form(server, **{"smtp-port": port}))
    page = send_test(client, "/account/email/test").get_data(as_text=True)
    assert expected in page


def test_send_test_email_is_rate_limited(app, client, designer, server):
    login(client, designer)
    save_own_smtp(client, smtp_form(server))
    codes = [send_test(client, "/account/email/test").status_code for _ in range(6)]
    assert codes[:5] == [200] * 5 and codes[5] == 429


def test_removing_host_and_port_falls_back_to_the_default_mailer(
    app, client, designer, server, db_session
):
    login(client, designer)
    save_own_smtp(client, smtp_form(server))
    response = save_own_smtp(client, smtp_form(server, **{"smtp-host": "", "smtp-port": ""}))
    assert response.status_code == 302
    db_session.expire_all()
    # No row is the default mailer: no host, no password.
    host, password = db_session.execute(
        sa.select(SmtpSettings.host, SmtpSettings.password_encrypted).where(
            SmtpSettings.user_id == designer.id
        )
    ).one_or_none() or (None, None)
    assert host is None and password is None
    page = send_test(client, "/account/email/test").get_data(as_text=True)
    assert "through the default mailer" in page


def test_rotate_smtp_key_leaves_every_row_readable_with_only_the_new_key(
    db_url, tmp_path, app, client, designer, server, db_session
):
    import os
    import subprocess
    import sys
    from pathlib import Path

    from cryptography.fernet import Fernet

    from tests.conftest import app_config

    login(client, designer)
    save_own_smtp(client, smtp_form(server))
    new_key = Fernet.generate_key().decode()
    env = {
        **os.environ,
        **app_config(db_url, tmp_path),
        "SMTP_ENCRYPTION_KEYS": f"{new_key},{TEST_SMTP_KEY}",
    }
    result = subprocess.run(
        [str(Path(sys.executable).with_name("proofdesk")), "rotate-smtp-key"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "Re-encrypted 1 SMTP password" in result.stdout
    stored = db_session.scalar(
        sa.select(SmtpSettings.password_encrypted).where(SmtpSettings.user_id == designer.id)
    )
    assert secrets.decrypt([new_key], stored) == PASSWORD
    with pytest.raises(secrets.UnreadablePassword):
        secrets.decrypt([TEST_SMTP_KEY], stored)
    assert PASSWORD not in result.stdout + result.stderr
