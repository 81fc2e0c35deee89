"""Which SMTP hosts a designer's mailer reaches: the name is resolved once, every address is
checked, and the mailer connects to exactly those addresses (no DNS rebinding between the
check and the connection), still verifying the TLS certificate against the name.

Two things cannot run here and are simulated: a DNS server that changes its answer between
two lookups (socket.getaddrinfo for the test names), and a public SMTP host (a connection to
PUBLIC is refused, and noted)."""

from __future__ import annotations

import errno
import socket

import pytest
import sqlalchemy as sa

from proofdesk.accounts.models import User
from proofdesk.mail import SendError, SmtpMailer, build_message
from proofdesk.notifications.hosts import check_host
from proofdesk.notifications.models import CustomerNotification, settings_of
from proofdesk.proofs.emails import notify_customer
from proofdesk.worker import run_once
from tests.conftest import login
from tests.mailserver import PASSWORD, USERNAME, SmtpServer, start_server
from tests.notifications.helpers import save_own_smtp, send_test, smtp_form

PUBLIC, LOOPBACK = "93.184.215.14", "127.0.0.1"
REBINDING = "mail.rebind.test"  # answers PUBLIC, then LOOPBACK, then PUBLIC, …
MISNAMED = "mail.studio-nord.test"  # answers LOOPBACK; the test certificate is not for it


class Resolver:
    """getaddrinfo with fixed answers for some names, taken in turn; other names and
    addresses go to the real resolver."""

    def __init__(self, real, answers: dict[str, list[list[str]]]) -> None:  # type: ignore[no-untyped-def]
        self.real, self.answers, self.asked = real, answers, []

    def __call__(self, host, port, *args, **kwargs):  # type: ignore[no-untyped-def]
        if host not in self.answers:
            return self.real(host, port, *args, **kwargs)
        turns = self.answers[host]
        addresses = turns[sum(1 for name in self.asked if name == host) % len(turns)]
        self.asked.append(host)
        return [
            (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (a, int(port)))
            for a in addresses
        ]


class PublicHost:
    """Stands in for the public SMTP host: refuses connections to PUBLIC and notes them."""

    def __init__(self, real) -> None:  # type: ignore[no-untyped-def]
        self.real, self.attempts = real, []

    def __call__(self, address, *args, **kwargs):  # type: ignore[no-untyped-def]
        if address[0] == PUBLIC:
            self.attempts.append(address)
            raise ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")
        return self.real(address, *args, **kwargs)


@pytest.fixture
def dns(monkeypatch):
    resolver = Resolver(
        socket.getaddrinfo, {REBINDING: [[PUBLIC], [LOOPBACK]], MISNAMED: [[LOOPBACK]]}
    )
    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    return resolver


@pytest.fixture
def public_host(monkeypatch):
    host = PublicHost(socket.create_connection)
    monkeypatch.setattr(socket, "create_connection", host)
    return host


def greetings(server: SmtpServer) -> list[str]:
    """The EHLO names the server is greeted with from now on: any SMTP client reaching it."""
    greeted: list[str] = []

    async def handle_ehlo(server_, session, envelope, hostname, responses):  # type: ignore[no-untyped-def]
        greeted.append(hostname)
        return responses

    server.inbox.handle_EHLO = handle_ehlo  # type: ignore[attr-defined]
    return greeted


def message():  # type: ignore[no-untyped-def]
    return build_message(
        to="customer@client.test",
        subject="Hello",
        text="Body",
        html=None,
        from_address="studio@studio.test",
        from_name="Studio",
        reply_to=None,
        message_id="<host@proofs.example.test>",
    )


def test_a_name_with_any_private_address_is_refused(dns):
    dns.answers["mixed.rebind.test"] = [[PUBLIC, LOOPBACK]]
    with pytest.raises(SendError) as caught:
        check_host("mixed.rebind.test", 587, allow_private=False)
    assert caught.value.category == "connect" and caught.value.permanent
    assert "resolves to 127.0.0.1, a private or local address" in caught.value.reply
    assert check_host("mixed.rebind.test", 587, allow_private=True) == (PUBLIC, LOOPBACK)


def test_a_name_that_rebinds_to_loopback_never_reaches_the_local_server(
    make_app, server, factory, db_session, dns, public_host
):
    app = make_app(SMTP_CA_FILE=server.cafile)  # private hosts not allowed
    greeted = greetings(server)
    designer = factory.user(name="Nora Nord")
    client = app.test_client()
    login(client, designer)
    assert save_own_smtp(client, smtp_form(server, **{"smtp-host": REBINDING})).status_code == 302

    # The check sees PUBLIC; the mailer connects there and nowhere else, although the name
    # answers 127.0.0.1 when asked again.
    page = send_test(client, "/account/email/test").get_data(as_text=True)
    assert greeted == [] and server.inbox.messages == []
    assert public_host.attempts == [(PUBLIC, server.port)]
    assert (
        f"Cannot connect. The server said: cannot connect to {REBINDING} port "
        f"{server.port} ({PUBLIC}: Connection refused)"
    ) in page
    assert dns.asked == [REBINDING]
    db_session.expire_all()
    assert PUBLIC in settings_of(db_session.get(User, designer.id)).last_error
    db_session.rollback()

    # The worker's own lookup gets 127.0.0.1, and is refused.
    proof = factory.proof(designer, factory.customer())
    notify_customer(
        db_session, proof=proof, version_number=1, custom_message=None, config=app.config
    )
    db_session.commit()
    run_once(app)
    note = db_session.scalars(sa.select(CustomerNotification)).one()
    assert note.last_error == (
        f"Cannot connect: {REBINDING} resolves to 127.0.0.1, a private "
        "or local address; the operator has not allowed those "
        "(SMTP_ALLOW_PRIVATE_HOSTS)"
    )
    assert dns.asked == [REBINDING, REBINDING]
    assert greeted == [] and server.inbox.messages == []


@pytest.mark.parametrize("mode", ["starttls", "ssl"])
def test_the_certificate_is_checked_against_the_host_name_not_the_address(tmp_path, dns, mode):
    """Both names lead to 127.0.0.1, an address the certificate also names: only the name
    the certificate is for (localhost) may be sent to."""
    server = start_server(tmp_path, mode=mode)
    try:

        def mailer(host: str) -> SmtpMailer:
            return SmtpMailer(
                host=host,
                port=server.port,
                security=mode,
                username=USERNAME,
                password=PASSWORD,
                timeout=5,
                cafile=server.cafile,
                addresses=check_host(host, server.port, allow_private=True),
            )

        with pytest.raises(SendError) as caught:
            mailer(MISNAMED).send(message())
        assert caught.value.category == "tls" and caught.value.permanent
        assert f"not valid for '{MISNAMED}'" in caught.value.reply
        assert server.inbox.messages == []
        assert mailer("localhost").send(message()).startswith("250")
        assert server.inbox.wait_for(1)[0]["Message-ID"] == "<host@proofs.example.test>"
    finally:
        server.stop()


def test_send_test_email_to_a_private_host_still_verifies_the_certificate(
    app, server, factory, dns
):
    designer = factory.user()
    client = app.test_client()
    login(client, designer)
    save_own_smtp(client, smtp_form(server, **{"smtp-host": MISNAMED}))
    page = send_test(client, "/account/email/test").get_data(as_text=True)
    assert "TLS problem. The server said: certificate not trusted: Hostname mismatch" in page
    assert server.inbox.messages == []
    save_own_smtp(client, smtp_form(server))  # localhost, the name on the certificate
    page = send_test(client, "/account/email/test").get_data(as_text=True)
    assert "Test email sent to me@studio-nord.test through your SMTP server" in page
    assert len(server.inbox.wait_for(1)) == 1
