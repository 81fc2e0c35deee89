"""A designer's SMTP settings: save them, choose the mailer for a message, Send Test Email."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from sqlalchemy.orm import Session

from proofdesk import activity
from proofdesk.accounts.models import User
from proofdesk.accounts.services import normalise_email
from proofdesk.activity import ActivityKind
from proofdesk.db import utcnow
from proofdesk.errors import ServiceError
from proofdesk.mail import (
    HeaderInjection,
    Mailer,
    MailerName,
    SendError,
    SmtpMailer,
    SmtpSecurity,
    build_message,
    default_mailer,
    message_id_for,
    render_email,
)
from proofdesk.notifications import secrets
from proofdesk.notifications.hosts import check_host
from proofdesk.notifications.models import SmtpCheck, SmtpSettings, settings_of

# Failures that say something about the settings themselves, not about one message.
SETTINGS_FAILURES = {"connect", "tls", "auth", "sender", "timeout", "config"}


@dataclass(frozen=True)
class SmtpInput:
    host: str = ""
    port: int | None = None
    security: str = SmtpSecurity.STARTTLS
    username: str = ""
    password: str = ""
    from_name: str = ""
    from_address: str = ""
    reply_to: str = ""


@dataclass(frozen=True)
class Sender:
    address: str
    name: str | None
    reply_to: str | None

    def compose(self, *, to: str, message_id: str, template: str, **context: Any) -> EmailMessage:
        """The email `template` rendered with `context`, from this sender to `to`."""
        subject, text, html = render_email(template, **context)
        return build_message(
            to=to,
            subject=subject,
            text=text,
            html=html,
            from_address=self.address,
            from_name=self.name,
            reply_to=self.reply_to,
            message_id=message_id,
        )


def _no_breaks(value: str, field: str) -> str:
    if "\r" in value or "\n" in value:
        raise ServiceError("Line breaks are not allowed here.", field)
    return value.strip()


def save_settings(
    session: Session,
    *,
    user: User,
    data: SmtpInput,
    config: dict[str, Any],
    changed_by: User,
    ip: str | None,
) -> None:
    """Store a designer's SMTP settings; an empty host and port switch back to the default
    mailer. The password is encrypted and never shown again."""
    host = _no_breaks(data.host, "host")
    settings = settings_of(user)
    if not host and not data.port:
        if settings is not None:  # delete-orphan: the row goes, and the user knows it now
            user.smtp_settings = None  # type: ignore[attr-defined]  # the backref of models.py
        activity.record(
            session,
            kind=ActivityKind.SMTP_CLEARED,
            actor=changed_by.name,
            ip=ip,
            user_id=user.id,
            detail=f"{user.email} now uses the default mailer",
        )
        return
    if not host or " " in host or len(host) > 255:
        raise ServiceError("Enter the SMTP server's host name, e.g. smtp.example.com.", "host")
    if data.port is None or not 1 <= data.port <= 65535:
        raise ServiceError("Enter a port between 1 and 65535 (usually 587 or 465).", "port")
    if data.security not in tuple(SmtpSecurity):
        raise ServiceError("Choose STARTTLS or SSL/TLS.", "security")
    if data.security == SmtpSecurity.NONE and not config["SMTP_ALLOW_INSECURE"]:
        raise ServiceError(
            "Unencrypted SMTP is switched off on this server; choose STARTTLS or SSL/TLS.",
            "security",
        )
    username = _no_breaks(data.username, "username")
    from_name = _no_breaks(data.from_name, "from_name")
    from_address = (
        normalise_email(_no_breaks(data.from_address, "from_address"))
        if data.from_address.strip()
        else ""
    )
    if not from_address:
        raise ServiceError("Enter the address your mail comes from.", "from_address")
    reply_to = normalise_email(data.reply_to) if data.reply_to.strip() else ""
    if username and not data.password:
        _require_password(
            settings, host=host, port=data.port, username=username, security=data.security
        )
    if settings is None:
        settings = SmtpSettings(user=user)
        session.add(settings)
    settings.host, settings.port = host, data.port
    settings.security = SmtpSecurity(data.security)
    settings.username = username or None
    if not username:
        settings.password_encrypted = None
    elif data.password:
        settings.password_encrypted = secrets.encrypt(config["SMTP_ENCRYPTION_KEYS"], data.password)
    settings.from_name, settings.from_address = from_name or None, from_address
    settings.reply_to = reply_to or None
    settings.last_status = settings.last_error = settings.failing_since = None
    settings.last_tested_at = None
    activity.record(
        session,
        kind=ActivityKind.SMTP_CHANGED,
        actor=changed_by.name,
        ip=ip,
        user_id=user.id,
        detail=f"{user.email}: {host}:{data.port} ({data.security})",
    )


def _require_password(
    settings: SmtpSettings | None, *, host: str, port: int, username: str, security: str
) -> None:
    """The saved password goes only where, and as protected as, it went when it was typed:
    another server, port, username or security setting (STARTTLS to none would put it on the
    wire in clear) needs it typed again."""
    if settings is None or not settings.password_encrypted:
        raise ServiceError("Enter the password for this username.", "password")
    if (host, port, username) != (settings.host, settings.port, settings.username or ""):
        raise ServiceError("Enter the password again: the server or username changed.", "password")
    if security != settings.security:
        raise ServiceError("Enter the password again: the security setting changed.", "password")


def own_server(user: User) -> SmtpSettings | None:
    """The user's SMTP settings when they name a server (host and port), else None."""
    settings = settings_of(user)
    return settings if settings is not None and settings.configured else None


def designer_mailer(
    settings: SmtpSettings, config: dict[str, Any], *, timeout: float
) -> SmtpMailer:
    password = None
    if settings.password_encrypted:
        try:
            password = secrets.decrypt(config["SMTP_ENCRYPTION_KEYS"], settings.password_encrypted)
        except secrets.UnreadablePassword as exc:
            raise SendError("config", str(exc), permanent=True) from exc
    assert settings.host and settings.port
    addresses = check_host(
        settings.host, settings.port, allow_private=config["SMTP_ALLOW_PRIVATE_HOSTS"]
    )
    return SmtpMailer(
        host=settings.host,
        port=settings.port,
        security=settings.security,
        username=settings.username,
        password=password,
        timeout=timeout,
        cafile=config.get("SMTP_CA_FILE"),
        name=MailerName.DESIGNER,
        addresses=addresses,
    )


def default_sender(config: dict[str, Any], designer: User | None = None) -> Sender:
    if designer is None:
        return Sender(address=config["SMTP_FROM"], name=config["SMTP_FROM_NAME"], reply_to=None)
    settings = settings_of(designer)
    return Sender(
        address=config["SMTP_FROM"],
        name=designer.name,
        reply_to=(settings and settings.reply_to) or designer.email,
    )


def route(
    designer: User | None, config: dict[str, Any], *, timeout: float
) -> tuple[Mailer, Sender]:
    """The designer's own server when host and port are set, otherwise the default mailer."""
    settings = own_server(designer) if designer is not None else None
    if designer is not None and settings is not None:
        sender = Sender(
            address=settings.from_address or config["SMTP_FROM"],
            name=settings.from_name or designer.name,
            reply_to=settings.reply_to,
        )
        return designer_mailer(settings, config, timeout=timeout), sender
    return default_mailer(config), default_sender(config, designer)


def record_outcome(user: User, *, error: SendError | None) -> None:
    """Keep what a test or a real send through the user's own server showed, for the admin
    list and the dashboard."""
    settings = own_server(user)
    assert settings is not None, "only a send through the user's own server has an outcome"
    now = utcnow()
    settings.last_tested_at = now
    if error is None:
        settings.last_status, settings.last_error = SmtpCheck.OK, None
        settings.failing_since, settings.last_success_at = None, now
    elif error.category in SETTINGS_FAILURES:
        if settings.last_status != SmtpCheck.FAILED:
            settings.failing_since = now
        settings.last_status, settings.last_error = (
            SmtpCheck.FAILED,
            f"{error.label}: {error.reply}",
        )


@dataclass(frozen=True)
class TestResult:
    ok: bool
    message: str
    mailer: str


def send_test_email(
    session: Session, *, user: User, to: str, config: dict[str, Any], by: User, ip: str | None
) -> TestResult:
    """Send a test message now, with a short timeout, and keep the result on the user."""
    try:
        to = normalise_email(to)
    except ServiceError as exc:
        raise ServiceError(exc.message, "to") from exc  # shown next to the "to" field
    timeout = float(config["SMTP_TEST_TIMEOUT"])
    try:
        mailer, sender = route(user, config, timeout=timeout)
        message = sender.compose(
            to=to,
            message_id=message_id_for(config["BASE_URL"]),
            template="smtp_test",
            designer=user,
            mailer=mailer.name,
            server=settings_of(user),
        )
        reply = mailer.send(message)
    except HeaderInjection as exc:  # a line break in a stored name or address
        return TestResult(ok=False, message=f"Not sent: {exc}.", mailer=MailerName.DEFAULT)
    except SendError as error:
        if own_server(user):
            record_outcome(user, error=error)
        activity.record(
            session,
            kind=ActivityKind.SMTP_TEST_FAILED,
            actor=by.name,
            ip=ip,
            user_id=user.id,
            detail=f"to {to}: {error.label}",
        )
        return TestResult(
            ok=False,
            message=f"{error.label}. The server said: {error.reply}",
            mailer=MailerName.DESIGNER if own_server(user) else MailerName.DEFAULT,
        )
    if own_server(user):
        record_outcome(user, error=None)
    activity.record(
        session,
        kind=ActivityKind.SMTP_TEST_SENT,
        actor=by.name,
        ip=ip,
        user_id=user.id,
        detail=f"to {to}",
    )
    through = "your SMTP server" if own_server(user) else "the default mailer"
    return TestResult(
        ok=True,
        message=f"Test email sent to {to} through {through}. The server said: {reply}",
        mailer=mailer.name,
    )
