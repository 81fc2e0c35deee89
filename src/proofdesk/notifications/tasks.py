"""The worker task: send due notifications through the right mailer and record the result."""

from __future__ import annotations

import datetime as dt
import logging

import sqlalchemy as sa
from flask import Flask, current_app
from sqlalchemy.orm import Session

from proofdesk.accounts.models import User
from proofdesk.mail import HeaderInjection, MailerName, SendError
from proofdesk.notifications import services, smtp
from proofdesk.notifications.content import NotificationKind, NotSendable, content_for
from proofdesk.notifications.models import CustomerNotification

log = logging.getLogger(__name__)


def send_due(app: Flask) -> bool:
    """Send one batch of due notifications; True if there was any."""
    session = app.extensions["db_sessionmaker"]()
    lease = dt.timedelta(seconds=app.config["WORKER_LEASE_SECONDS"])
    try:
        ids = services.claim_due(session, lease=lease)
        if not ids:
            return False
        # Read the rows while surely still held: their claimed_until is what `keep_claim` checks,
        # so a batch slower than its lease does not send what another worker took over.
        notifications = session.scalars(
            sa.select(CustomerNotification)
            .where(CustomerNotification.id.in_(ids))
            .order_by(CustomerNotification.id)
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
            send(session, notification)
            session.commit()  # one email, one transaction: what was sent stays recorded
        return True
    finally:
        session.close()


def send(session: Session, notification: CustomerNotification) -> None:
    """One attempt at one notification; the row records what happened."""
    config = current_app.config
    designer = (
        session.get(User, notification.designer_id)
        if notification.kind == NotificationKind.PROOF and notification.designer_id
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
