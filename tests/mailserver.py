"""A real SMTP server for tests (aiosmtpd) with STARTTLS or implicit TLS, AUTH, and scripted
replies; and a reader for the development mailbox folder."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import ipaddress
import logging
import socket
import ssl
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

logging.getLogger("mail.log").setLevel(logging.ERROR)

USERNAME, PASSWORD = "studio", "smtp-secret-pass"


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for localhost and 127.0.0.1."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@dataclass
class Inbox:
    """What the server received; `script` makes it answer DATA with other replies."""

    messages: list[EmailMessage] = field(default_factory=list)
    script: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd API
        with self.lock:
            if self.script:
                return self.script.pop(0)
            message = email.message_from_bytes(
                envelope.original_content, policy=email.policy.default
            )
            self.messages.append(message)  # type: ignore[arg-type]
        return "250 2.0.0 Ok: queued"

    def wait_for(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.05)
        raise AssertionError(f"expected {count} messages, got {len(self.messages)}")


def _authenticator(server, session, envelope, mechanism, auth_data) -> AuthResult:
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == USERNAME.encode()
        and auth_data.password == PASSWORD.encode()
    )
    return AuthResult(success=ok, handled=False)


@dataclass
class SmtpServer:
    host: str
    port: int
    inbox: Inbox
    cafile: str
    controller: Controller

    def stop(self) -> None:
        self.controller.stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(folder: Path, *, mode: str = "starttls") -> SmtpServer:
    """mode: starttls (AUTH required after STARTTLS), ssl (implicit TLS) or plain."""
    cert, key = make_certificate(folder)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    inbox = Inbox()
    port = free_port()
    kwargs: dict[str, object] = {
        "hostname": "127.0.0.1",
        "port": port,
        "authenticator": _authenticator,
    }
    if mode == "starttls":
        kwargs.update(
            tls_context=context, require_starttls=True, auth_required=True, auth_require_tls=True
        )
    elif mode == "ssl":
        kwargs.update(
            ssl_context=context,
            server_hostname="localhost",
            auth_required=True,
            auth_require_tls=False,
        )
    else:
        kwargs.update(auth_required=False, auth_require_tls=False)
    import warnings

    with warnings.catch_warnings():
        # aiosmtpd warns that auth_require_tls=False is insecure: the implicit-TLS port is TLS.
        warnings.simplefilter("ignore")
        controller = Controller(inbox, **kwargs)  # type: ignore[arg-type]
        controller.start()
    return SmtpServer(
        host="127.0.0.1", port=port, inbox=inbox, cafile=str(cert), controller=controller
    )


def smtp_settings(server: SmtpServer, *, mode: str = "starttls") -> dict[str, str]:
    """App settings for using this server as the default mailer."""
    return {
        "SMTP_HOST": server.host,
        "SMTP_PORT": str(server.port),
        "SMTP_SECURITY": mode,
        "SMTP_USERNAME": USERNAME if mode != "none" else "",
        "SMTP_PASSWORD": PASSWORD if mode != "none" else "",
        "SMTP_CA_FILE": server.cafile,
        "SMTP_FROM": "studio@proofs.example.test",
        "SMTP_TIMEOUT": "5",
    }


def mailbox(folder: str | Path) -> list[EmailMessage]:
    """Messages the development mailer wrote, oldest first."""
    path = Path(folder)
    if not path.exists():
        return []
    return [
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
        for p in sorted(path.glob("*.eml"))
    ]


def text_and_html(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None, "expected plain-text and HTML parts"
    return text.get_content(), html.get_content()
