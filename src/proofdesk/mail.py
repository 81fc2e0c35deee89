"""The one way mail leaves Proofdesk: build a message, render a template, send by a mailer."""

from __future__ import annotations

import datetime as dt
import os
import secrets
import smtplib
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime, make_msgid
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from flask import render_template

from proofdesk.redact import without_password


class SmtpSecurity(StrEnum):
    """How a connection to an SMTP server is protected (the operator's and a designer's)."""

    STARTTLS = "starttls"  # plain connection upgraded with STARTTLS, usually port 587
    SSL = "ssl"  # TLS from the first byte, usually port 465
    NONE = "none"  # unencrypted: only where the operator allows it


class MailerName(StrEnum):
    """Which mailer sent a message, as the notification log and a test email say: the
    operator's server (or, with none, the unconfigured one), a designer's own server, the
    development mailbox folder. Kept in customer_notifications.mailer without a constraint:
    rows written before these names may say "smtp"."""

    DEFAULT = "default"
    DESIGNER = "designer"
    MAILBOX = "mailbox"
    SMTP = "smtp"


class SendError(Exception):
    """A send that failed, with a category a person understands and the server's reply."""

    LABELS = {
        "connect": "Cannot connect",
        "tls": "TLS problem",
        "auth": "Authentication failed",
        "sender": "Sender refused",
        "recipient": "Recipient refused",
        "timeout": "Timed out",
        "rejected": "Message refused",
        "temporary": "Temporary failure",
        "config": "Not configured",
    }

    def __init__(self, category: str, reply: str, *, permanent: bool) -> None:
        super().__init__(f"{self.LABELS[category]}: {reply}")
        self.category = category
        self.reply = reply[:900]
        self.permanent = permanent

    @property
    def label(self) -> str:
        return self.LABELS[self.category]


class HeaderInjection(ValueError):
    pass


def _clean_header(value: str) -> str:
    if "\r" in value or "\n" in value:
        raise HeaderInjection("a mail header may not contain line breaks")
    return value


def message_id_for(base_url: str) -> str:
    return make_msgid(domain=urlsplit(base_url).hostname or "proofdesk.local")


def build_message(
    *,
    to: str,
    subject: str,
    text: str,
    html: str | None,
    from_address: str,
    from_name: str | None,
    reply_to: str | None,
    message_id: str,
) -> EmailMessage:
    message = EmailMessage()
    sender_user, _, sender_domain = _clean_header(from_address).partition("@")
    message["From"] = Address(
        display_name=_clean_header(from_name or ""), username=sender_user, domain=sender_domain
    )
    message["To"] = _clean_header(to)
    message["Subject"] = _clean_header(subject)
    message["Message-ID"] = _clean_header(message_id)
    message["Date"] = format_datetime(dt.datetime.now(dt.UTC))
    if reply_to:
        message["Reply-To"] = _clean_header(reply_to)
    message.set_content(text)
    if html:
        message.add_alternative(html, subtype="html")
    return message


def render_email(name: str, **context: object) -> tuple[str, str, str]:
    """Subject, plain text and HTML from templates/email/<name>/ (autoescaped HTML)."""
    subject = render_template(f"email/{name}/subject.txt", **context).strip()
    text = render_template(f"email/{name}/body.txt", **context)
    html = render_template(f"email/{name}/body.html", **context)
    return " ".join(subject.split()), text, html


class Mailer(Protocol):
    name: str

    def send(self, message: EmailMessage) -> str: ...


def resolve(host: str, port: int) -> tuple[str, ...]:
    """The addresses of `host`, looked up once: what is checked is what is connected to (a
    second lookup could answer differently: DNS rebinding)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as exc:
        raise SendError("connect", f"cannot resolve {host}", permanent=False) from exc
    addresses = tuple(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise SendError("connect", f"cannot resolve {host}", permanent=False)
    return addresses


def _connect(host: str, addresses: tuple[str, ...], port: int, timeout: float) -> socket.socket:
    """A connection to the first of `addresses` that accepts one; the name is not looked up."""
    failures: list[str] = []
    timeouts = 0
    for address in addresses:
        try:
            return socket.create_connection((address, port), timeout)
        except TimeoutError:
            timeouts += 1
            failures.append(f"{address}: no answer within {timeout:g} s")
        except OSError as exc:
            failures.append(f"{address}: {exc.strerror or exc}")
    raise SendError(
        "timeout" if timeouts == len(addresses) else "connect",
        f"cannot connect to {host} port {port} ({'; '.join(failures)})",
        permanent=False,
    )


class _PinnedSMTP(smtplib.SMTP):
    """smtplib connecting to addresses checked beforehand; STARTTLS still verifies the
    certificate against the host name, which smtplib keeps in `_host`."""

    def __init__(self, host: str, port: int, *, addresses: tuple[str, ...], timeout: float) -> None:
        self.addresses = addresses
        super().__init__(host, port, timeout=timeout)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        return _connect(host, self.addresses, port, timeout)


class _PinnedSMTPSSL(smtplib.SMTP_SSL):
    """The same for implicit TLS: the certificate is verified against the host name."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        addresses: tuple[str, ...],
        timeout: float,
        context: ssl.SSLContext,
    ) -> None:
        self.addresses = addresses
        self.server_hostname = host  # set before the parent connects, in its __init__
        super().__init__(host, port, timeout=timeout, context=context)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        connection = _connect(host, self.addresses, port, timeout)
        return self.context.wrap_socket(connection, server_hostname=self.server_hostname)


@dataclass
class SmtpMailer:
    host: str
    port: int
    security: SmtpSecurity
    username: str | None
    password: str | None
    timeout: float
    name: str = MailerName.SMTP
    cafile: str | None = None
    # The checked addresses of `host` (notifications.hosts.check_host); empty: resolved at send.
    addresses: tuple[str, ...] = ()

    def _context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.cafile)

    def send(self, message: EmailMessage) -> str:
        """Send, and return the server's reply. Every server text, in the reply or in the
        SendError raised, has the password hidden: some servers quote what they were sent."""
        try:
            reply = self._send(message)
        except SendError as error:
            if self._clean(error.reply) == error.reply:
                raise
            raise SendError(
                error.category, self._clean(error.reply), permanent=error.permanent
            ) from None
        except (OSError, smtplib.SMTPException) as exc:
            category, text, permanent = self._classify(exc)
            clean = self._clean(text)  # before SendError cuts it short, maybe inside a form
            # Not chained when cleaned: the original exception quotes the password too.
            raise SendError(category, clean, permanent=permanent) from (
                exc if clean == text else None
            )
        return self._clean(reply)

    def _clean(self, text: str) -> str:
        return without_password(text, self.username, self.password)

    def _classify(self, exc: OSError | smtplib.SMTPException) -> tuple[str, str, bool]:
        """Category, the server's text and whether retrying is pointless."""
        if isinstance(exc, smtplib.SMTPAuthenticationError):
            return "auth", _reply(exc), True
        if isinstance(exc, smtplib.SMTPSenderRefused):
            return "sender", _reply(exc), exc.smtp_code >= 500
        if isinstance(exc, smtplib.SMTPRecipientsRefused):
            codes = [code for code, _ in exc.recipients.values()]
            return (
                "recipient",
                "; ".join(f"{c} {m.decode(errors='replace')}" for c, m in exc.recipients.values()),
                min(codes) >= 500,
            )
        if isinstance(exc, smtplib.SMTPResponseException):  # DATA refused, among others
            return (
                "rejected" if exc.smtp_code >= 500 else "temporary",
                _reply(exc),
                exc.smtp_code >= 500,
            )
        if isinstance(exc, smtplib.SMTPNotSupportedError):
            return "tls" if "STARTTLS" in str(exc) else "auth", str(exc), True
        if isinstance(exc, ssl.SSLCertVerificationError):  # say why: expired, other name…
            return "tls", f"certificate not trusted: {exc.verify_message}", True
        if isinstance(exc, ssl.SSLError):
            return "tls", exc.reason or str(exc), True
        if isinstance(exc, TimeoutError):
            return "timeout", f"no answer within {self.timeout:g} s", False
        if isinstance(exc, smtplib.SMTPServerDisconnected):
            category = "timeout" if "timed out" in str(exc) else "connect"
            return category, str(exc) or "the server closed the connection", False
        return "connect", str(exc) or exc.__class__.__name__, False

    def _send(self, message: EmailMessage) -> str:
        addresses = self.addresses or resolve(self.host, self.port)
        if self.security == SmtpSecurity.SSL:
            client: smtplib.SMTP = _PinnedSMTPSSL(
                self.host,
                self.port,
                addresses=addresses,
                timeout=self.timeout,
                context=self._context(),
            )
        else:
            client = _PinnedSMTP(self.host, self.port, addresses=addresses, timeout=self.timeout)
        with client:
            client.ehlo()
            if self.security == SmtpSecurity.STARTTLS:
                if not client.has_extn("starttls"):
                    raise SendError("tls", "the server does not offer STARTTLS", permanent=True)
                client.starttls(context=self._context())
                client.ehlo()
            if self.username:
                client.login(self.username, self.password or "")
            return _transfer(client, message)


def _transfer(client: smtplib.SMTP, message: EmailMessage) -> str:
    """MAIL, RCPT, DATA one by one, so that the server's final reply can be kept."""
    sender = message["From"].addresses[0].addr_spec
    code, reply = client.mail(sender)
    if code != 250:
        raise smtplib.SMTPSenderRefused(code, reply, sender)
    for recipient in (a.addr_spec for a in message["To"].addresses):
        code, reply = client.rcpt(recipient)
        if code not in (250, 251):
            raise smtplib.SMTPRecipientsRefused({recipient: (code, reply)})
    code, reply = client.data(message.as_bytes(policy=SMTP_POLICY))
    if code != 250:
        raise smtplib.SMTPDataError(code, reply)
    return f"{code} {reply.decode(errors='replace')}"


def _reply(exc: smtplib.SMTPResponseException) -> str:
    error = exc.smtp_error
    text = error.decode(errors="replace") if isinstance(error, bytes) else str(error)
    return f"{exc.smtp_code} {text}"


@dataclass
class MailboxMailer:
    """Development: each message becomes an .eml file in a folder instead of being sent."""

    folder: str
    name: str = MailerName.MAILBOX

    def send(self, message: EmailMessage) -> str:
        path = Path(self.folder)
        path.mkdir(parents=True, exist_ok=True)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S-%f")
        target = path / f"{stamp}-{secrets.token_hex(4)}.eml"
        # Written under another name, then renamed: whoever reads *.eml (a mail program, the
        # tests) never sees half a message, and two workers never write the same file.
        partial = target.with_suffix(".partial")
        partial.write_bytes(bytes(message))
        os.replace(partial, target)
        return f"written to {target}"


class UnconfiguredMailer:
    name: str = MailerName.DEFAULT

    def send(self, message: EmailMessage) -> str:
        raise SendError(
            "config", "no default mailer: set SMTP_HOST (and SMTP_FROM)", permanent=False
        )


def default_mailer(config: Mapping[str, Any]) -> Mailer:
    """The operator's mailer from SMTP_* settings, or the mailbox folder in development."""
    if config.get("SMTP_HOST"):
        return SmtpMailer(
            host=str(config["SMTP_HOST"]),
            port=int(config["SMTP_PORT"]),
            security=SmtpSecurity(config["SMTP_SECURITY"]),
            username=config.get("SMTP_USERNAME") or None,
            password=config.get("SMTP_PASSWORD") or None,
            timeout=float(config["SMTP_TIMEOUT"]),
            cafile=config.get("SMTP_CA_FILE") or None,
            name=MailerName.DEFAULT,
        )
    if config.get("MAIL_MAILBOX_DIR"):
        return MailboxMailer(str(config["MAIL_MAILBOX_DIR"]))
    return UnconfiguredMailer()
