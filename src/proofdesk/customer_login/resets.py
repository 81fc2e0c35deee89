"""Password resets: a link the customer asks for (answered by the worker) or staff send, and
choosing the new password with it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from proofdesk import activity
from proofdesk.accounts.models import User
from proofdesk.accounts.services import normalise_email
from proofdesk.activity import ActivityKind
from proofdesk.customer_login.emails import queue_reset
from proofdesk.customer_login.links import INVALID_LINK, RESET, redeem, revoke_open
from proofdesk.customer_login.mail_limits import check_login_mail_budget
from proofdesk.customer_login.models import CustomerPasswordReset, CustomerResetRequest
from proofdesk.customer_login.services import set_password
from proofdesk.customers.models import Customer
from proofdesk.db import rowcount, utcnow
from proofdesk.errors import ServiceError
from proofdesk.passwords import require_good_password
from proofdesk.tokens import TokenSettings, hash_token, new_token, token_of


@dataclass(frozen=True)
class ResetRequest:
    """A recorded "forgot password" request, as the worker reads it."""

    id: int
    email: str
    ip: str | None


def request_password_reset(session: Session, *, email: str, ip: str | None) -> None:
    """The customer's "forgot password" form: only record the request. Whether or not the
    address has a login, this is the same single INSERT, so neither the page nor its timing
    tells; the worker answers it (`answer_reset_request`)."""
    session.add(CustomerResetRequest(email=email.strip().lower()[:320], ip=ip))


def waiting_reset_requests(session: Session, *, limit: int = 20) -> list[ResetRequest]:
    """Worker: the oldest recorded "forgot password" requests, to answer one by one."""
    request = CustomerResetRequest
    rows = session.execute(
        sa.select(request.id, request.email, request.ip).order_by(request.id).limit(limit)
    ).all()
    return [ResetRequest(id=row.id, email=row.email, ip=row.ip) for row in rows]


def answer_reset_request(
    session: Session, *, request: ResetRequest, settings: TokenSettings
) -> bool:
    """Worker: take one request (a conditional DELETE, so that one worker takes it) and mail a
    reset link if its address has an active login; the others are dropped. False if another
    worker took it first; the caller commits what this did, or rolls it back."""
    deleted = session.execute(
        sa.delete(CustomerResetRequest)
        .where(CustomerResetRequest.id == request.id)
        .execution_options(synchronize_session=False)
    )
    if rowcount(deleted) != 1:
        return False
    customer = _customer_with_login(session, request.email)
    if customer is not None:
        issue_password_reset(session, customer=customer, settings=settings, by=None, ip=request.ip)
    return True


def _customer_with_login(session: Session, email: str) -> Customer | None:
    try:
        email = normalise_email(email)
    except ServiceError:
        return None
    customer = session.scalar(sa.select(Customer).where(Customer.email == email))
    if customer is None or customer.credential is None or customer.credential.disabled_at:
        return None
    return customer


def issue_password_reset(
    session: Session,
    *,
    customer: Customer,
    settings: TokenSettings,
    by: User | None,
    ip: str | None,
) -> CustomerPasswordReset:
    """A fresh reset link by email (older ones stop working); `by` is the staff user who sent
    it from the customer's page (limited per hour), None when the customer asked."""
    if customer.credential is None or customer.credential.disabled_at:
        raise ServiceError(
            f"{customer.name} has no active login to reset; send an invitation instead."
            if customer.credential is None
            else f"{customer.name}'s login is disabled; enable it first."
        )
    if by is not None:
        check_login_mail_budget(session, customer=customer, by=by)
    revoke_open(session, CustomerPasswordReset, customer.id)
    now = utcnow()
    row = CustomerPasswordReset(
        customer_id=customer.id,
        nonce=new_token(),
        token_hash="",
        created_by_id=by.id if by else None,
        created_at=now,
        expires_at=now + dt.timedelta(minutes=settings.reset_minutes),
    )
    row.token_hash = hash_token(token_of(settings, RESET, row.nonce))
    session.add(row)
    session.flush()
    queue_reset(session, customer=customer, reset=row, settings=settings)
    if by is None:
        activity.record(
            session,
            kind=ActivityKind.CUSTOMER_RESET_REQUESTED,
            actor=customer.name,
            ip=ip,
            customer_id=customer.id,
            detail=customer.email,
        )
    else:
        activity.record(
            session,
            kind=ActivityKind.CUSTOMER_RESET_SENT,
            actor=by.name,
            ip=ip,
            user_id=by.id,
            customer_id=customer.id,
            detail=customer.email,
        )
    return row


def reset_password(session: Session, *, token: str, password: str, ip: str | None) -> Customer:
    require_good_password(password)
    customer_id = redeem(session, CustomerPasswordReset, token)
    customer = session.get(Customer, customer_id) if customer_id else None
    if customer is None or customer.credential is None:
        raise ServiceError(INVALID_LINK)
    set_password(session, customer, password)
    activity.record(
        session,
        kind=ActivityKind.CUSTOMER_PASSWORD_RESET,
        actor=customer.name,
        ip=ip,
        customer_id=customer.id,
        detail=customer.email,
    )
    return customer
