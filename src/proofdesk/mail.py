"""The one way mail leaves Proofdesk: build a message, render a template, send by a mailer."""

from __future__ import annotations

import base64
import datetime as dt
import smtplib
import ssl
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from flask import render_template


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
    *, to: str, subject: str, text: str, html: str | None, from_address: str,
    from_name: str | None, reply_to: str | None, message_id: str,
) -> EmailMessage:
    message = EmailMessage()
    sender_user, _, sender_domain = _clean_header(from_address).partition("@")
    message["From"] = Address(display_name=_clean_header(from_name or ""), username=sender_user,
                              domain=sender_domain)
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


@dataclass
class SmtpMailer:
    host: str
    port: int
    security: str  # starttls | ssl | none
    username: str | None
    password: str | None
    timeout: float
    name: str = "smtp"
    cafile: str | None = None

    def _context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.cafile)

    def send(self, message: EmailMessage) -> str:
        try:
            return self._classified_send(message)
        except SendError as error:
            reply = _without_password(error.reply, self.username, self.password)
            if reply == error.reply:
                raise
            # Not chained: the original exception quotes the password too.
            raise SendError(error.category, reply, permanent=error.permanent) from None

    def _classified_send(self, message: EmailMessage) -> str:
        try:
            return self._send(message)
        except SendError:
            raise
        except smtplib.SMTPAuthenticationError as exc:
            raise SendError("auth", _reply(exc), permanent=True) from exc
        except smtplib.SMTPSenderRefused as exc:
            raise SendError("sender", _reply(exc), permanent=exc.smtp_code >= 500) from exc
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            reply = "; ".join(f"{c} {m.decode(errors='replace')}" for c, m in
                              exc.recipients.values())
            raise SendError("recipient", reply, permanent=min(codes) >= 500) from exc
        except smtplib.SMTPDataError as exc:
            raise SendError("rejected" if exc.smtp_code >= 500 else "temporary", _reply(exc),
                            permanent=exc.smtp_code >= 500) from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise SendError("tls" if "STARTTLS" in str(exc) else "auth", str(exc),
                            permanent=True) from exc
        except ssl.SSLError as exc:
            raise SendError("tls", exc.reason or str(exc), permanent=True) from exc
        except TimeoutError as exc:
            raise SendError("timeout", f"no answer within {self.timeout:g} s",
                            permanent=False) from exc
        except smtplib.SMTPServerDisconnected as exc:
            category = "timeout" if "timed out" in str(exc) else "connect"
            raise SendError(category, str(exc) or "the server closed the connection",
                            permanent=False) from exc
        except smtplib.SMTPResponseException as exc:
            raise SendError("rejected" if exc.smtp_code >= 500 else "temporary", _reply(exc),
                            permanent=exc.smtp_code >= 500) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise SendError("connect", str(exc) or exc.__class__.__name__,
                            permanent=False) from exc

    def _send(self, message: EmailMessage) -> str:
        if self.security == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout,
                                                    context=self._context())
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with client:
            client.ehlo()
            if self.security == "starttls":
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


def _without_password(reply: str, username: str | None, password: str | None) -> str:
    """The server's reply without the password, also in the base64 forms AUTH PLAIN and LOGIN
    sent it in: some servers quote what they were sent, and replies are shown and stored."""
    if not password:
        return reply
    sent = (password, f"\0{username or ''}\0{password}")
    forms = {password} | {base64.b64encode(form.encode()).decode() for form in sent}
    for form in sorted(forms, key=len, reverse=True):
        reply = reply.replace(form, "[password hidden]")
    return reply


def _reply(exc: smtplib.SMTPResponseException) -> str:
    error = exc.smtp_error
    text = error.decode(errors="replace") if isinstance(error, bytes) else str(error)
    return f"{exc.smtp_code} {text}"


@dataclass
class MailboxMailer:
    """Development: each message becomes an .eml file in a folder instead of being sent."""

    folder: str
    name: str = "mailbox"

    def send(self, message: EmailMessage) -> str:
        path = Path(self.folder)
        path.mkdir(parents=True, exist_ok=True)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S-%f")
        target = path / f"{stamp}.eml"
        target.write_bytes(bytes(message))
        return f"written to {target}"


class UnconfiguredMailer:
    name = "default"

    def send(self, message: EmailMessage) -> str:
        raise SendError("config", "no default mailer: set SMTP_HOST (and SMTP_FROM)",
                        permanent=False)


def default_mailer(config: dict[str, object]) -> Mailer:
    """The operator's mailer from SMTP_* settings, or the mailbox folder in development."""
    if config.get("SMTP_HOST"):
        return SmtpMailer(host=str(config["SMTP_HOST"]), port=int(config["SMTP_PORT"]),  # type: ignore[call-overload]
                          security=str(config["SMTP_SECURITY"]),
                          username=config.get("SMTP_USERNAME") or None,  # type: ignore[arg-type]
                          password=config.get("SMTP_PASSWORD") or None,  # type: ignore[arg-type]
                          timeout=float(config["SMTP_TIMEOUT"]),  # type: ignore[arg-type]
                          cafile=config.get("SMTP_CA_FILE") or None,  # type: ignore[arg-type]
                          name="default")
    if config.get("MAIL_MAILBOX_DIR"):
        return MailboxMailer(str(config["MAIL_MAILBOX_DIR"]))
    return UnconfiguredMailer()
