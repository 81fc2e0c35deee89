"""A customer's login itself: password check, sessions, password change, disabling it, and
what an address change ends."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from proofdesk import activity, sessions
from proofdesk.accounts.models import User
from proofdesk.activity import ActivityKind
from proofdesk.customer_login.links import revoke_open
from proofdesk.customer_login.models import CustomerInvite, CustomerPasswordReset, CustomerSession
from proofdesk.customers.models import Customer
from proofdesk.db import utcnow
from proofdesk.errors import ServiceError
from proofdesk.passwords import (
    check_password_change,
    hash_password,
    needs_rehash,
    verify_password,
)


def authenticate(session: Session, *, email: str, password: str) -> Customer | None:
    customer = session.scalar(sa.select(Customer).where(Customer.email == email.strip().lower()))
    credential = customer.credential if customer else None
    ok = verify_password(credential.password_hash if credential else None, password)
    if not ok or credential is None or credential.disabled_at is not None:
        return None
    if needs_rehash(credential.password_hash):
        credential.password_hash = hash_password(password)
    return customer


def set_password(
    session: Session, customer: Customer, password: str, keep_token: str | None = None
) -> None:
    """A new password: open invitation and reset links stop working, and every session but
    `keep_token` (the one changing it) ends."""
    assert customer.credential is not None
    customer.credential.password_hash = hash_password(password)
    customer.credential.password_changed_at = utcnow()
    revoke_open(session, CustomerPasswordReset, customer.id)
    revoke_open(session, CustomerInvite, customer.id)
    end_all_sessions(session, customer_id=customer.id, keep_token=keep_token)


def change_password(
    session: Session, *, customer: Customer, current: str, new: str, keep_token: str, ip: str | None
) -> None:
    assert customer.credential is not None
    check_password_change(customer.credential.password_hash, current=current, new=new)
    set_password(session, customer, new, keep_token=keep_token)
    activity.record(
        session,
        kind=ActivityKind.CUSTOMER_PASSWORD_CHANGED,
        actor=customer.name,
        ip=ip,
        customer_id=customer.id,
        detail=customer.email,
    )


def set_login_disabled(
    session: Session, *, customer: Customer, disabled: bool, by: User, ip: str | None
) -> None:
    if customer.credential is None:
        raise ServiceError(f"{customer.name} has no login yet.")
    customer.credential.disabled_at = utcnow() if disabled else None
    if disabled:
        end_all_sessions(session, customer_id=customer.id)
        revoke_open(session, CustomerPasswordReset, customer.id)
    activity.record(
        session,
        kind=ActivityKind.CUSTOMER_LOGIN_DISABLED
        if disabled
        else ActivityKind.CUSTOMER_LOGIN_ENABLED,
        actor=by.name,
        ip=ip,
        user_id=by.id,
        customer_id=customer.id,
        detail=customer.email,
    )


def email_changed(
    session: Session, *, customer: Customer, old_email: str, by: User, ip: str | None
) -> None:
    """After staff change a customer's address: links mailed to the old address stop working
    and the customer's sessions end (they log in again, with the same password)."""
    revoke_open(session, CustomerInvite, customer.id)
    revoke_open(session, CustomerPasswordReset, customer.id)
    end_all_sessions(session, customer_id=customer.id)
    activity.record(
        session,
        kind=ActivityKind.CUSTOMER_EMAIL_CHANGED,
        actor=by.name,
        ip=ip,
        user_id=by.id,
        customer_id=customer.id,
        detail=f"{old_email} → {customer.email}",
    )


def log_in(
    session: Session, *, email: str, password: str, ip: str | None, user_agent: str | None
) -> tuple[Customer, str] | None:
    """The login form: the customer and their new session's token (recorded as activity by
    `start_session`), or None."""
    customer = authenticate(session, email=email, password=password)
    if customer is None:
        return None
    return customer, start_session(session, customer=customer, ip=ip, user_agent=user_agent)


def start_session(
    session: Session, *, customer: Customer, ip: str | None, user_agent: str | None
) -> str:
    activity.record(
        session,
        kind=ActivityKind.CUSTOMER_LOGGED_IN,
        actor=customer.name,
        ip=ip,
        customer_id=customer.id,
        detail=customer.email,
    )
    return sessions.start(
        session, CustomerSession, owner={"customer_id": customer.id}, ip=ip, user_agent=user_agent
    )


def _can_log_in(row: CustomerSession) -> bool:
    credential = row.customer.credential
    return credential is not None and credential.disabled_at is None


def load_session(
    session: Session, *, token: str, idle: dt.timedelta, max_age: dt.timedelta
) -> Customer | None:
    row = sessions.find(
        session, CustomerSession, token=token, idle=idle, max_age=max_age, usable=_can_log_in
    )
    return row.customer if row is not None else None


def end_session(session: Session, *, token: str) -> None:
    sessions.end(session, CustomerSession, token=token)


def end_all_sessions(session: Session, *, customer_id: int, keep_token: str | None = None) -> None:
    sessions.end_all(session, CustomerSession.customer_id, customer_id, keep_token=keep_token)
