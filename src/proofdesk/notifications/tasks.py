"""The worker task: send due notifications through the right mailer and record the result."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app
from sqlalchemy.orm import Session

from proofdesk.accounts.models import User
from proofdesk.mail import HeaderInjection, MailerName, SendError, UnconfiguredMailer
from proofdesk.notifications import services, smtp
from proofdesk.notifications.content import (
    NotificationKind,
    NotSendable,
    content_for,
    staff_content_for,
)
from proofdesk.notifications.models import CustomerNotification, StaffNotification

log = logging.getLogger(__name__)


# Sent in the designer's name (their own server, or the default one with their Reply-To):
# a customer who answers reaches the designer.
DESIGNERS_MAIL = (NotificationKind.PROOF, NotificationKind.REMINDER)


def send_due(app: Flask) -> bool:
    """Send one batch of due notifications to customers; True if there was any."""
    return _send_batch(app, CustomerNotification, send)


def send_due_to_staff(app: Flask) -> bool:
    """Send one batch of due emails to staff users; True if there was any."""
    return _send_batch(app, StaffNotification, send_to_staff)


def _send_batch(app: Flask, outbox: Any, send_one: Callable[[Session, Any], None]) -> bool:
    session = app.extensions["db_sessionmaker"]()
    lease = dt.timedelta(seconds=app.config["WORKER_LEASE_SECONDS"])
    try:
        ids = services.claim_due(session, lease=lease, outbox=outbox)
        if not ids:
            return False
        # Read the rows while surely still held: their claimed_until is what `keep_claim` checks,
        # so a batch slower than its lease does not send what another worker took over.
        notifications = session.scalars(
            sa.select(outbox).where(outbox.id.in_(ids)).order_by(outbox.id)
        ).all()
        for index, notification in enumerate(notifications):
            held = services.keep_claim(
                session, notification, lease=lease, waiting=notifications[index + 1 :]
            )
            session.commit()  # a renewed hold is the worker's claim: its own transaction
            if not held:
                log.warning(
                    "notification %s: lease ran out before sending; left to another worker",
                    notification.id,
                )
                continue
            send_one(session, notification)
            session.commit()  # one email, one transaction: what was sent stays recorded
        return True
    finally:
        session.close()


def send(session: Session, notification: CustomerNotification) -> None:
    """One attempt at one notification; the row records what happened."""
    config = current_app.config
    designer = (
        session.get(User, notification.designer_id)
        if notification.kind in DESIGNERS_MAIL and notification.designer_id
        else None
    )
    mailer_name: str = (
        MailerName.DESIGNER
        if designer is not None and smtp.own_server(designer)
        else MailerName.DEFAULT
    )
    try:
        mailer, sender = smtp.route(designer, config, timeout=float(config["SMTP_TIMEOUT"]))
        mailer_name = mailer.name
        template, context = content_for(session, notification)
        message = sender.compose(
            to=notification.to_address,
            message_id=notification.message_id,
            template=template,
            **context,
        )
        reply = mailer.send(message)
    except (NotSendable, HeaderInjection) as exc:
        services.cancel(
            notification, str(exc) if isinstance(exc, NotSendable) else f"Not sent: {exc}"
        )
        return
    except SendError as error:
        log.warning("notification %s not sent (%s)", notification.id, error.label)
        services.mark_not_sent(session, notification, error=error, mailer=mailer_name)
        if designer is not None and mailer_name == MailerName.DESIGNER:
            smtp.record_outcome(designer, error=error)
        return
    services.mark_sent(session, notification, reply=reply, mailer=mailer_name)
    if designer is not None and mailer_name == MailerName.DESIGNER:
        smtp.record_outcome(designer, error=None)


def send_to_staff(session: Session, notification: StaffNotification) -> None:
    """One attempt at one email to a staff user: through the default mailer, or the user's own
    SMTP server when no default mailer is configured."""
    config = current_app.config
    user = notification.user
    mailer_name: str = MailerName.DEFAULT
    try:
        timeout = float(config["SMTP_TIMEOUT"])
        mailer, sender = smtp.route(None, config, timeout=timeout)
        if isinstance(mailer, UnconfiguredMailer) and smtp.own_server(user) is not None:
            mailer, sender = smtp.route(user, config, timeout=timeout)
        mailer_name = mailer.name
        template, context = staff_content_for(session, notification)
        message = sender.compose(
            to=notification.to_address,
            message_id=notification.message_id,
            template=template,
            **context,
        )
        notification.subject = str(message["Subject"])[:300]
        reply = mailer.send(message)
    except (NotSendable, HeaderInjection) as exc:
        services.cancel(
            notification, str(exc) if isinstance(exc, NotSendable) else f"Not sent: {exc}"
        )
        return
    except SendError as error:
        log.warning("staff notification %s not sent (%s)", notification.id, error.label)
        services.mark_not_sent(session, notification, error=error, mailer=mailer_name)
        return
    services.mark_sent(session, notification, reply=reply, mailer=mailer_name)
