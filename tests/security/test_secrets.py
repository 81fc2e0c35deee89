"""SMTP passwords stay secret: in no page, no log line and no stored error message, even from a
server that quotes the credentials it was sent; rotating the key leaves every stored password
readable with only the new key."""

from __future__ import annotations

import base64
import html
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography.fernet import Fernet
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from proofdesk.models import Base
from proofdesk.notifications import secrets, smtp
from proofdesk.notifications.models import CustomerNotification, SmtpSettings
from proofdesk.proofs.emails import notify_customer
from proofdesk.worker import run_once
from tests.conftest import TEST_SMTP_KEY, app_config, login, png_bytes
from tests.mailserver import USERNAME, SmtpServer, start_server
from tests.notifications.helpers import save_own_smtp, send_test, smtp_form
from tests.proofs.test_views import upload

SECRET = "Pw-designer-7f3c9e41"  # a designer's SMTP password in these tests
DEFAULT_SECRET = "Pw-default-81d2aa07"  # the operator's SMTP_PASSWORD (the default mailer)


def forms_of(password: str) -> list[str]:
    """The password as typed, and as AUTH LOGIN and AUTH PLAIN send it; and the other forms
    QuotingAuthenticator quotes it in (other case, unpadded base64, hex)."""
    sent = base64.b64encode(f"\0{USERNAME}\0{password}".encode()).decode()
    return [
        password,
        base64.b64encode(password.encode()).decode(),
        sent,
        password.swapcase(),
        sent.rstrip("="),
        password.encode().hex(),
    ]


LEAKS = [form for password in (SECRET, DEFAULT_SECRET) for form in forms_of(password)]


def assert_no_secret(text: str, where: str) -> None:
    for leak in LEAKS:
        assert leak not in text, f"an SMTP password ({leak}) in {where}"


class QuotingAuthenticator:
    """Accepts `accepted` passwords for USERNAME; a refusal quotes what the client sent, as
    some servers do, so that a reply shown or stored as it came would leak it."""

    def __init__(self, accepted: set[str]) -> None:
        self.accepted = accepted

    def __call__(self, server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
        assert isinstance(auth_data, LoginPassword)
        login_, password = auth_data.login.decode(), auth_data.password.decode()
        if login_ == USERNAME and password in self.accepted:
            return AuthResult(success=True)
        sent = base64.b64encode(f"\0{login_}\0{password}".encode()).decode()
        return AuthResult(
            success=False,
            handled=False,
            message=(
                f"535 5.7.8 Authentication failed for {login_}, password {password} "
                f"(AUTH {mechanism} {sent}; {password.swapcase()} {sent.rstrip('=')} "
                f"{password.encode().hex()})"
            ),
        )


def quoting_server(folder: Path, accepted: set[str]) -> SmtpServer:
    server = start_server(folder, mode="starttls")
    server.controller.SMTP_kwargs["authenticator"] = QuotingAuthenticator(accepted)
    return server


@pytest.fixture
def server(tmp_path):
    srv = quoting_server(tmp_path, accepted=set())  # every password is wrong
    yield srv
    if srv.controller._thread is not None:
        srv.stop()


@pytest.fixture
def app(make_app, server):
    # The default mailer is the same server, with a wrong password of its own.
    return make_app(
        SMTP_ALLOW_PRIVATE_HOSTS="true",
        SMTP_CA_FILE=server.cafile,
        SMTP_HOST="localhost",
        SMTP_PORT=str(server.port),
        SMTP_SECURITY="starttls",
        SMTP_USERNAME=USERNAME,
        SMTP_PASSWORD=DEFAULT_SECRET,
        SMTP_FROM="studio@proofs.example.test",
        SMTP_TIMEOUT="5",
    )


def crawl(client: FlaskClient, starts: list[str], limit: int = 150) -> dict[str, str]:
    """Every page reachable by links from `starts` (GET only), as text."""
    pages: dict[str, str] = {}
    todo = list(starts)
    while todo and len(pages) < limit:
        path = todo.pop(0)
        if path in pages:
            continue
        response = client.get(path)
        assert response.status_code < 500, path
        is_text = response.mimetype.startswith("text/") or response.mimetype.endswith("json")
        pages[path] = response.get_data(as_text=True) if is_text else ""
        if response.mimetype == "text/html":
            for link in re.findall(r'href="(/[^"#]*)', pages[path]):
                link = html.unescape(link)
                if not link.startswith("/static/") and link not in pages:
                    todo.append(link)
    return pages


def every_text_in_the_database(session: Session) -> str:
    texts = []
    for table in Base.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, sa.String)]
        if columns:
            for row in session.execute(sa.select(*columns)):
                texts.extend(str(value) for value in row if value)
    session.rollback()
    return "\n".join(texts)


def test_smtp_passwords_are_in_no_page_log_line_or_stored_error(
    app, server, factory, db_session, caplog, monkeypatch
):
    caplog.set_level(logging.DEBUG)
    designer = factory.user(name="Nora Nord")
    customer = factory.customer()
    client = app.test_client()
    login(client, designer)
    pages: dict[str, str] = {}

    def keep(name: str, response) -> str:  # type: ignore[no-untyped-def]
        pages[name] = response.get_data(as_text=True)
        return pages[name]

    assert save_own_smtp(client, smtp_form(server, password=SECRET)).status_code == 302
    stored = db_session.scalar(
        sa.select(SmtpSettings.password_encrypted).where(SmtpSettings.user_id == designer.id)
    )
    db_session.rollback()
    # The form shown again with an error, a form that expired, a server error, a 404.
    refused = save_own_smtp(client, smtp_form(server, password=SECRET, **{"smtp-port": "x"}))
    assert refused.status_code == 400 and "port" in keep("settings refused", refused).lower()
    expired = client.post("/account/email", data=smtp_form(server, password=SECRET))
    assert expired.status_code == 400 and "expired" in keep("form expired", expired)
    with monkeypatch.context() as patch:
        patch.setattr(smtp, "save_settings", lambda *a, **k: 1 / 0)
        broken = save_own_smtp(client, smtp_form(server, password=SECRET))
    assert broken.status_code == 500 and "Something went wrong" in keep("500", broken)
    assert client.get("/no/such/page").status_code == 404

    # Send Test Email and a notification, refused by a server that quotes the password.
    tested = send_test(client, "/account/email/test")
    assert "Authentication failed" in keep("test email", tested)
    assert "[password hidden]" in pages["test email"]
    assert upload(client, customer.id, png_bytes(), title="Oak sign", notify="y").status_code == 302
    # The default mailer (a designer without own SMTP), refused the same way.
    other = app.test_client()
    login(other, factory.user(name="Otto Other"))
    assert upload(other, customer.id, png_bytes(), title="Elm sign", notify="y").status_code == 302
    run_once(app)
    notes = {n.subject: n for n in db_session.scalars(sa.select(CustomerNotification))}
    db_session.rollback()
    assert {n.status for n in notes.values()} == {"failed"}
    for note in notes.values():
        assert note.last_error.startswith("Authentication failed: 535"), note.last_error
        assert "[password hidden]" in note.last_error

    # The server down: a notification waits, Send Test Email cannot connect.
    server.stop()
    assert upload(client, customer.id, png_bytes(), title="Ash sign", notify="y").status_code == 302
    run_once(app)
    assert "Cannot connect" in keep(
        "test email, server down", send_test(client, "/account/email/test")
    )

    admin = app.test_client()
    login(admin, factory.user(role="admin"))
    pages.update(crawl(client, ["/proofs", "/account/email", "/customers"]))
    pages.update(
        {
            f"admin {path}": text
            for path, text in crawl(
                admin,
                [
                    "/admin/users",
                    f"/admin/users/{designer.id}/edit",
                    "/admin/notifications",
                    "/admin/customers",
                    "/proofs",
                ],
            ).items()
        }
    )
    assert len(pages) > 20 and f"admin /admin/users/{designer.id}/edit" in pages
    assert any("Ash sign" in text and "Cannot connect" in text for text in pages.values())
    for name, text in pages.items():
        assert_no_secret(text, f"the page {name}")
        assert stored not in text, f"the encrypted password on {name}"

    log = "\n".join(f"{r.getMessage()}\n{r.exc_text or ''}" for r in caplog.records)
    assert "notification" in log  # the sends were logged
    assert_no_secret(log + caplog.text, "the log")
    assert_no_secret(every_text_in_the_database(db_session), "the database")


def run_cli(db_url: str, tmp_path: Path, *args: str, keys: str) -> subprocess.CompletedProcess:
    env = {
        **{k: v for k, v in os.environ.items() if k in {"PATH", "PYTHONPATH"}},
        **app_config(db_url, tmp_path),
        "SMTP_ENCRYPTION_KEYS": keys,
    }
    return subprocess.run(
        [str(Path(sys.executable).with_name("proofdesk")), *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_key_rotation_leaves_every_designers_password_readable_with_only_the_new_key(
    make_app, db_url, tmp_path, factory, db_session
):
    passwords = {"Ann": "Pw-ann-0a1b2c", "Ben": "Pw-ben-3d4e5f", "Cai": "Pw-cai-6a7b8c"}
    server = quoting_server(tmp_path, accepted=set(passwords.values()))
    try:
        old_app = make_app(SMTP_ALLOW_PRIVATE_HOSTS="true", SMTP_CA_FILE=server.cafile)
        admin = factory.user(role="admin")
        designers = {name: factory.user(name=name) for name in [*passwords, "Dee", "Eve"]}
        for name, designer in designers.items():
            if name == "Eve":
                continue  # the default mailer: no SMTP settings at all
            smtp.save_settings(
                db_session,
                user=designer,
                config=old_app.config,
                changed_by=admin,
                ip=None,
                data=smtp.SmtpInput(
                    host="localhost",
                    port=server.port,
                    security="starttls",
                    username=USERNAME if name in passwords else "",
                    password=passwords.get(name, ""),
                    from_address=f"{name.lower()}@studio.test",
                ),
            )
        db_session.commit()

        new_key = Fernet.generate_key().decode()
        result = run_cli(db_url, tmp_path, "rotate-smtp-key", keys=f"{new_key},{TEST_SMTP_KEY}")
        assert result.returncode == 0, result.stderr
        assert "Re-encrypted 3 SMTP passwords" in result.stdout
        for password in passwords.values():
            assert password not in result.stdout + result.stderr

        db_session.expire_all()
        for name, designer in designers.items():
            stored = db_session.scalar(
                sa.select(SmtpSettings.password_encrypted).where(
                    SmtpSettings.user_id == designer.id
                )
            )
            if name not in passwords:
                assert stored is None, name
                continue
            assert secrets.decrypt([new_key], stored) == passwords[name]
            with pytest.raises(secrets.UnreadablePassword):
                secrets.decrypt([TEST_SMTP_KEY], stored)
        db_session.rollback()

        # A worker that knows only the new key sends through each designer's own server.
        new_app = make_app(
            SMTP_ALLOW_PRIVATE_HOSTS="true",
            SMTP_CA_FILE=server.cafile,
            SMTP_ENCRYPTION_KEYS=new_key,
        )
        customer = factory.customer()
        for name in passwords:
            proof = factory.proof(designers[name], customer, title=f"{name}'s sign")
            notify_customer(
                db_session,
                proof=proof,
                version_number=1,
                custom_message=None,
                config=new_app.config,
            )
        db_session.commit()
        run_once(new_app)
        notes = list(db_session.scalars(sa.select(CustomerNotification)))
        assert [(n.status, n.mailer) for n in notes] == [("sent", "designer")] * 3, [
            n.last_error for n in notes
        ]
        received = server.inbox.wait_for(3)
        assert sorted(str(m["From"]) for m in received) == [
            f"{name} <{name.lower()}@studio.test>" for name in passwords
        ]
    finally:
        server.stop()
