"""A server that quotes the SMTP password back in its 535 reply, in any case or encoding: the
reply still reaches the person, the password in no form reaches a page, a row or the log."""

from __future__ import annotations

import base64
import html
import logging
from collections.abc import Callable
from urllib.parse import quote, quote_plus

import pytest
import sqlalchemy as sa
from aiosmtpd.smtp import AuthResult, LoginPassword

from proofdesk.accounts.models import User
from proofdesk.mail import SendError, SmtpMailer, build_message
from proofdesk.notifications.models import CustomerNotification, settings_of
from proofdesk.proofs.emails import notify_customer
from proofdesk.redact import HIDDEN
from proofdesk.worker import run_once
from tests.conftest import login
from tests.mailserver import USERNAME, SmtpServer
from tests.notifications.helpers import save_own_smtp, send_test, smtp_form
from tests.security.test_secrets import every_text_in_the_database

# Mixed case, characters that URL-encoding changes, and a "/" in its base64 (so that url-safe
# base64 differs from the standard one).
SECRET = "Pw?Designer/7F3c 9e+41~"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def plain(password: str) -> str:
    return f"\0{USERNAME}\0{password}"  # what AUTH PLAIN sends, before base64


ECHOES: dict[str, Callable[[str], str]] = {
    "as typed": lambda p: p,
    "lower-cased": str.lower,
    "upper-cased": str.upper,
    "AUTH PLAIN base64": lambda p: b64(plain(p)),
    "AUTH PLAIN base64 unpadded": lambda p: b64(plain(p)).rstrip("="),
    "AUTH PLAIN base64 with authzid": lambda p: b64(USERNAME + plain(p)),
    "AUTH LOGIN step (base64 of the password)": b64,
    "AUTH LOGIN step, url-safe base64": lambda p: base64.urlsafe_b64encode(p.encode()).decode(),
    "base64 of the password, unpadded": lambda p: b64(p).rstrip("="),
    "base64 of the password lower-cased": lambda p: b64(p.lower()),
    "base64 upper-cased": lambda p: b64(p).upper(),
    "base64 inside other base64": lambda p: "eHh4" + b64("x" + p + "!").rstrip("="),
    "base64 after other letters": lambda p: "QQ" + b64(p.upper()),
    "hex": lambda p: p.encode().hex(),
    "hex upper-cased": lambda p: p.encode().hex().upper(),
    "URL-encoded": lambda p: quote(p, safe=""),
    "URL-encoded with +": quote_plus,
    "URL-encoded, lower-case escapes": lambda p: quote(p.lower(), safe="").lower(),
}


def forms_of(password: str) -> list[str]:
    """Every form of the password the tests look for, compared case-insensitively."""
    texts = [password, plain(password), USERNAME + plain(password)]
    forms = [quote(password, safe=""), quote(password), quote_plus(password)]
    for text in texts:
        raw = text.encode()
        forms += [text, raw.hex()]
        for encoded in (base64.b64encode(raw), base64.urlsafe_b64encode(raw)):
            forms += [encoded.decode(), encoded.decode().rstrip("=")]
    forms += [echo(password) for echo in ECHOES.values()]
    return [form.casefold() for form in forms]


def assert_no_password(text: str, where: str) -> None:
    folded = html.unescape(text).casefold()
    for form in forms_of(SECRET):
        assert form not in folded, f"the password ({form}) in {where}"


class EchoingAuthenticator:
    """Refuses every login with a 535 that quotes the password it received, in one form."""

    def __init__(self, echo: Callable[[str], str]) -> None:
        self.echo = echo

    def __call__(self, server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
        assert isinstance(auth_data, LoginPassword)
        quoted = self.echo(auth_data.password.decode())
        return AuthResult(
            success=False,
            handled=False,
            message=f"535 5.7.8 Authentication failed for {quoted} ({mechanism})",
        )


def echoing(server: SmtpServer, echo: Callable[[str], str]) -> SmtpServer:
    server.controller.SMTP_kwargs["authenticator"] = EchoingAuthenticator(echo)
    return server


def test_the_test_password_has_the_forms_worth_testing():
    assert SECRET.lower() != SECRET != SECRET.upper() and quote(SECRET, safe="") != SECRET
    assert "/" in b64(SECRET) and b64(SECRET) != ECHOES["AUTH LOGIN step, url-safe base64"](SECRET)
    assert b64(SECRET).endswith("=")  # so that "unpadded" differs


@pytest.mark.parametrize("form", list(ECHOES))
def test_the_mailer_hides_every_form_of_a_quoted_password(server, form):
    echoing(server, ECHOES[form])
    mailer = SmtpMailer(
        host="localhost",
        port=server.port,
        security="starttls",
        username=USERNAME,
        password=SECRET,
        timeout=5,
        cafile=server.cafile,
    )
    with pytest.raises(SendError) as caught:
        mailer.send(
            build_message(
                to="c@client.test",
                subject="Hi",
                text="Hi",
                html=None,
                from_address="s@studio.test",
                from_name=None,
                reply_to=None,
                message_id="<echo@proofs.example.test>",
            )
        )
    error = caught.value
    assert (error.category, error.permanent) == ("auth", True)
    assert error.reply == f"535 5.7.8 Authentication failed for {HIDDEN} (LOGIN)"
    assert error.__cause__ is None  # the smtplib exception quotes it too
    assert_no_password(str(error), "the error")


def test_a_reply_without_the_password_is_kept_as_the_server_sent_it(server):
    server.controller.SMTP_kwargs["authenticator"] = lambda *args: AuthResult(
        success=False,
        handled=False,
        message="535 5.7.8 Username and Password not accepted. Learn more at "
        "https://support.example.test/mail/?p=BadCredentials a640c23a62f3a-8a1 - gsmtp",
    )
    mailer = SmtpMailer(
        host="localhost",
        port=server.port,
        security="starttls",
        username=USERNAME,
        password=SECRET,
        timeout=5,
        cafile=server.cafile,
    )
    with pytest.raises(SendError) as caught:
        mailer.send(
            build_message(
                to="c@client.test",
                subject="Hi",
                text="Hi",
                html=None,
                from_address="s@studio.test",
                from_name=None,
                reply_to=None,
                message_id="<echo@proofs.example.test>",
            )
        )
    assert caught.value.reply == (
        "535 5.7.8 Username and Password not accepted. Learn more at "
        "https://support.example.test/mail/?p=BadCredentials a640c23a62f3a-8a1 - gsmtp"
    )


@pytest.mark.parametrize("form", list(ECHOES))
def test_a_quoted_password_reaches_no_page_row_or_log(
    app, server, factory, db_session, caplog, form
):
    caplog.set_level(logging.DEBUG)
    echoing(server, ECHOES[form])
    designer = factory.user(name="Nora Nord")
    client = app.test_client()
    login(client, designer)
    assert save_own_smtp(client, smtp_form(server, password=SECRET)).status_code == 302

    page = send_test(client, "/account/email/test").get_data(as_text=True)
    assert (
        f"Authentication failed. The server said: 535 5.7.8 Authentication failed for "
        f"{HIDDEN} (LOGIN)" in html.unescape(page)
    )
    assert_no_password(page, "the page after Send Test Email")
    db_session.expire_all()
    stored = settings_of(db_session.get(User, designer.id)).last_error
    assert stored == f"Authentication failed: 535 5.7.8 Authentication failed for {HIDDEN} (LOGIN)"
    db_session.rollback()

    proof = factory.proof(designer, factory.customer())
    notify_customer(
        db_session, proof=proof, version_number=1, custom_message=None, config=app.config
    )
    db_session.commit()
    run_once(app)
    note = db_session.scalars(sa.select(CustomerNotification)).one()
    assert (note.status, note.smtp_reply) == (
        "failed",
        f"535 5.7.8 Authentication failed for {HIDDEN} (LOGIN)",
    )
    db_session.rollback()
    assert_no_password(client.get("/account/email").get_data(as_text=True), "the settings page")
    assert_no_password(client.get(f"/proofs/{proof.id}").get_data(as_text=True), "the proof page")
    assert_no_password(every_text_in_the_database(db_session), "the database")
    assert "notification" in caplog.text
    assert_no_password(caplog.text, "the log")
