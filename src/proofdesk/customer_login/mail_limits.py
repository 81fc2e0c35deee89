"""How many login mails (invitations and password resets) staff may send in an hour."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from proofdesk.accounts.models import User
from proofdesk.customer_login.models import CustomerInvite, CustomerPasswordReset
from proofdesk.customers.models import Customer
from proofdesk.db import utcnow
from proofdesk.errors import ServiceError

# Login mails (invitations and resets) staff may send in an hour: to one customer, and by one
# designer to all customers. Without them, a changed address turns the shop's relay into a
# mail cannon; admins' bulk invitations are bounded by the customers without a login.
LOGIN_MAILS_PER_CUSTOMER = 3
LOGIN_MAILS_PER_DESIGNER = 20
THROTTLE_WINDOW = dt.timedelta(hours=1)


class Throttled(ServiceError):
    """Too many login mails in the last hour; the message says how many and what to do."""


def _login_mails_since(
    session: Session,
    since: dt.datetime,
    *,
    customer_id: int | None = None,
    by_id: int | None = None,
) -> int:
    """Invitations and staff-sent resets since `since`, for one customer or by one user."""
    total = 0
    for model in (CustomerInvite, CustomerPasswordReset):
        stmt = (
            sa.select(sa.func.count())
            .select_from(model)
            .where(model.created_at > since, model.created_by_id.is_not(None))
        )
        if customer_id is not None:
            stmt = stmt.where(model.customer_id == customer_id)
        if by_id is not None:
            stmt = stmt.where(model.created_by_id == by_id)
        total += session.scalar(stmt) or 0
    return total


def check_login_mail_budget(session: Session, *, customer: Customer, by: User) -> None:
    """Refuse a staff-sent invitation or reset beyond the hourly limits."""
    since = utcnow() - THROTTLE_WINDOW
    if _login_mails_since(session, since, customer_id=customer.id) >= LOGIN_MAILS_PER_CUSTOMER:
        raise Throttled(
            f"{customer.name} has already been sent {LOGIN_MAILS_PER_CUSTOMER} "
            "login emails (invitations or password resets) in the last hour. "
            "Wait an hour before sending another, and check the address is right."
        )
    if (
        not by.is_admin
        and _login_mails_since(session, since, by_id=by.id) >= LOGIN_MAILS_PER_DESIGNER
    ):
        raise Throttled(
            f"You have sent {LOGIN_MAILS_PER_DESIGNER} login emails in the last "
            "hour, the most a designer may send. Try again later, or ask an admin."
        )


def designer_budget(session: Session, *, by: User) -> int | None:
    """How many more login mails `by` may send this hour (None: no limit for admins)."""
    if by.is_admin:
        return None
    used = _login_mails_since(session, utcnow() - THROTTLE_WINDOW, by_id=by.id)
    return max(0, LOGIN_MAILS_PER_DESIGNER - used)
