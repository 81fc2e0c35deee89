"""Invitations: to one customer or to all without a login, and accepting one (first password)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from proofdesk import activity
from proofdesk.accounts.models import User
from proofdesk.activity import ActivityKind
from proofdesk.customer_login.emails import queue_invite
from proofdesk.customer_login.links import INVALID_LINK, INVITE, redeem, revoke_open
from proofdesk.customer_login.mail_limits import (
    Throttled,
    check_login_mail_budget,
    designer_budget,
)
from proofdesk.customer_login.models import CustomerCredential, CustomerInvite, LoginState
from proofdesk.customers.access import manageable_filter
from proofdesk.customers.models import Customer
from proofdesk.db import utcnow
from proofdesk.errors import ServiceError
from proofdesk.passwords import hash_password, require_good_password
from proofdesk.tokens import TokenSettings, hash_token, new_token, token_of


def credential_state(customer: Customer, invited_ids: set[int]) -> LoginState:
    """none, invited, active or disabled: what Admin → Customers shows."""
    credential = customer.credential
    if credential is not None:
        return LoginState.DISABLED if credential.disabled_at else LoginState.ACTIVE
    return LoginState.INVITED if customer.id in invited_ids else LoginState.NONE


def open_invite_customer_ids(session: Session, customer_ids: list[int]) -> set[int]:
    if not customer_ids:
        return set()
    now = utcnow()
    return set(
        session.scalars(
            sa.select(CustomerInvite.customer_id).where(
                CustomerInvite.customer_id.in_(customer_ids),
                CustomerInvite.used_at.is_(None),
                CustomerInvite.revoked_at.is_(None),
                CustomerInvite.expires_at > now,
            )
        )
    )


def invite(
    session: Session,
    *,
    customer: Customer,
    by: User,
    settings: TokenSettings,
    ip: str | None,
    batch_id: str | None = None,
) -> CustomerInvite:
    """A fresh invite by email; any older invite link stops working."""
    if customer.credential is not None:
        raise ServiceError(
            f"{customer.name} already has a login; send a password reset instead if they forgot it."
        )
    check_login_mail_budget(session, customer=customer, by=by)
    revoke_open(session, CustomerInvite, customer.id)
    now = utcnow()
    row = CustomerInvite(
        customer_id=customer.id,
        nonce=new_token(),
        token_hash="",
        created_by_id=by.id,
        created_at=now,
        expires_at=now + dt.timedelta(hours=settings.invite_hours),
    )
    row.token_hash = hash_token(token_of(settings, INVITE, row.nonce))
    session.add(row)
    session.flush()
    queue_invite(session, customer=customer, invite=row, settings=settings, batch_id=batch_id)
    activity.record(
        session,
        kind=ActivityKind.CUSTOMER_INVITED,
        actor=by.name,
        ip=ip,
        user_id=by.id,
        customer_id=customer.id,
        detail=customer.email,
    )
    return row


@dataclass(frozen=True)
class BulkInvite:
    batch_id: str
    sent: int
    left: int  # customers still without an invitation (a designer's hourly limit reached)


def invite_all_without_credentials(
    session: Session, *, by: User, settings: TokenSettings, ip: str | None
) -> BulkInvite:
    """Invite every customer `by` may manage who has neither a login nor an open invitation,
    in one transaction (pressing the button twice mails nobody twice); a designer up to their
    hourly limit."""
    batch_id = uuid.uuid4().hex
    now = utcnow()
    open_invite = sa.exists().where(
        CustomerInvite.customer_id == Customer.id,
        CustomerInvite.used_at.is_(None),
        CustomerInvite.revoked_at.is_(None),
        CustomerInvite.expires_at > now,
    )
    customers = session.scalars(
        sa.select(Customer)
        .outerjoin(CustomerCredential)
        .where(CustomerCredential.id.is_(None), ~open_invite, manageable_filter(by))
        .order_by(Customer.id)
    ).all()
    budget = designer_budget(session, by=by)
    chosen = customers if budget is None else customers[:budget]
    sent = 0
    for customer in chosen:
        try:
            invite(session, customer=customer, by=by, settings=settings, ip=ip, batch_id=batch_id)
        except Throttled:
            continue  # this one had its hourly share already
        sent += 1
    return BulkInvite(batch_id=batch_id, sent=sent, left=len(customers) - sent)


def accept_invite(session: Session, *, token: str, password: str, ip: str | None) -> Customer:
    require_good_password(password)
    customer_id = redeem(session, CustomerInvite, token)
    customer = session.get(Customer, customer_id) if customer_id else None
    if customer is None:
        raise ServiceError(INVALID_LINK)
    if customer.credential is None:
        session.add(
            CustomerCredential(customer_id=customer.id, password_hash=hash_password(password))
        )
    else:
        customer.credential.password_hash = hash_password(password)
        customer.credential.password_changed_at = utcnow()
    session.flush()
    session.refresh(customer)
    activity.record(
        session,
        kind=ActivityKind.CUSTOMER_INVITE_ACCEPTED,
        actor=customer.name,
        ip=ip,
        customer_id=customer.id,
        detail=customer.email,
    )
    return customer
