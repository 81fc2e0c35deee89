"""The SMTP mailer against a real server: TLS, AUTH, scripted replies, dead and silent ports."""

from __future__ import annotations

import socket
import threading

import pytest

from proofdesk.mail import SendError, SmtpMailer, build_message
from tests.mailserver import PASSWORD, USERNAME, free_port, start_server


def message(to: str = "customer@client.test", subject: str = "Hello"):
    return build_message(
        to=to,
        subject=subject,
        text="Body",
        html="<p>Body</p>",
        from_address="studio@studio.test",
        from_name="Studio",
        reply_to="desk@studio.test",
        message_id="<abc@proofs.example.test>",
    )


@pytest.fixture(params=["starttls", "ssl"])
def server(request, tmp_path):
    srv = start_server(tmp_path, mode=request.param)
    srv.mode = request.param
    yield srv
    srv.stop()


def mailer(server, **overrides) -> SmtpMailer:
    settings = {
        "host": "localhost",
        "port": server.port,
        "security": server.mode,
        "username": USERNAME,
        "password": PASSWORD,
        "timeout": 5.0,
        "cafile": server.cafile,
    }
    settings.update(overrides)
    return SmtpMailer(**settings)


def test_sends_with_tls_and_auth_and_keeps_the_reply(server):
    reply = mailer(server).send(message())
    assert reply.startswith("250")
    received = server.inbox.wait_for(1)[0]
    assert received["Message-ID"] == "<abc@proofs.example.test>"
    assert received["Reply-To"] == "desk@studio.test"
    assert received.get_body(preferencelist=("html",)).get_content().strip() == "<p>Body</p>"


def test_wrong_password_is_an_authentication_failure(server):
    with pytest.raises(SendError) as caught:
        mailer(server, password="wrong").send(message())
    assert caught.value.category == "auth" and caught.value.permanent
    assert caught.value.reply.startswith("535")


def test_untrusted_certificate_is_a_tls_problem(server):
    with pytest.raises(SendError) as caught:
        mailer(server, cafile=None).send(message())
    assert caught.value.category == "tls" and caught.value.permanent


@pytest.mark.parametrize(
    "reply,category,permanent",
    [
        ("451 4.3.0 Try again later", "temporary", False),
        ("554 5.7.1 Message refused as spam", "rejected", True),
    ],
)
def test_scripted_replies_to_data(server, reply, category, permanent):
    server.inbox.script.append(reply)
    with pytest.raises(SendError) as caught:
        mailer(server).send(message())
    assert (caught.value.category, caught.value.permanent) == (category, permanent)
    assert caught.value.reply == reply


def test_closed_port_cannot_connect():
    port = free_port()
    with pytest.raises(SendError) as caught:
        SmtpMailer(
            host="127.0.0.1",
            port=port,
            security="starttls",
            username=None,
            password=None,
            timeout=2,
        ).send(message())
    assert caught.value.category == "connect" and not caught.value.permanent
    assert caught.value.reply == (
        f"cannot connect to 127.0.0.1 port {port} (127.0.0.1: Connection refused)"
    )


def test_the_checked_addresses_are_tried_in_turn_and_no_other(server):
    """The server listens on 127.0.0.1 only; 127.0.0.2 (loopback too) refuses."""
    assert mailer(server, addresses=("127.0.0.2", "127.0.0.1")).send(message()).startswith("250")
    assert len(server.inbox.wait_for(1)) == 1
    with pytest.raises(SendError) as caught:
        mailer(server, addresses=("127.0.0.2",)).send(message())
    assert caught.value.reply == (
        f"cannot connect to localhost port {server.port} (127.0.0.2: Connection refused)"
    )


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_server_that_accepts_and_never_answers_times_out(security):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        with pytest.raises(SendError) as caught:
            SmtpMailer(
                host="127.0.0.1",
                port=listener.getsockname()[1],
                security=security,
                username=None,
                password=None,
                timeout=1,
            ).send(message())
        assert caught.value.category == "timeout" and not caught.value.permanent
        assert "1 s" in caught.value.reply or "timed out" in caught.value.reply
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        listener.close()


@pytest.mark.parametrize("field", ["to", "subject"])
def test_line_breaks_in_headers_are_refused(field):
    from proofdesk.mail import HeaderInjection

    values = {"to": "a@b.test", "subject": "Hi"}
    values[field] += "\r\nBcc: victim@evil.test"
    with pytest.raises(HeaderInjection):
        message(**values)
