"""The worker task: send due notifications through the right mailer and record the result."""

from __future__ import annotations

import logging
from email.message import EmailMessage

from flask import Flask, current_app
from sqlalchemy.orm import Session

from proofdesk.mail import HeaderInjection, SendError, build_message, default_mailer, render_email
from proofdesk.notifications import services
from proofdesk.notifications.models import CustomerNotification

log = logging.getLogger(__name__)


class NotSendable(Exception):
    """The notification no longer makes sense (e.g. a newer invite replaced it)."""


def compose(session: Session, note: CustomerNotification) -> EmailMessage:
    from proofdesk.notifications.content import content_for

    config = current_app.config
    template, context = content_for(session, note)
    subject, text, html = render_email(template, **context)
    return build_message(to=note.to_address, subject=subject, text=text, html=html,
                         from_address=config["SMTP_FROM"], from_name=config["SMTP_FROM_NAME"],
                         reply_to=None, message_id=note.message_id)


def send_due(app: Flask) -> bool:
    """Send one batch of due notifications; True if there was any."""
    session = app.extensions["db_sessionmaker"]()
    try:
        ids = services.claim_due(session)
        for note_id in ids:
            note = session.get(CustomerNotification, note_id)
            if note is not None:
                _send(session, note)
                session.commit()
        return bool(ids)
    finally:
        session.close()


def _send(session: Session, note: CustomerNotification) -> None:
    mailer = default_mailer(current_app.config)
    try:
        message = compose(session, note)
    except NotSendable as exc:
        services.cancel(note, str(exc))
        return
    except HeaderInjection as exc:
        services.cancel(note, f"Not sent: {exc}")
        return
    try:
        reply = mailer.send(message)
    except SendError as error:
        log.warning("notification %s not sent (%s)", note.id, error.label)
        services.mark_not_sent(session, note, error=error, mailer=mailer.name)
        return
    services.mark_sent(session, note, reply=reply, mailer=mailer.name)
