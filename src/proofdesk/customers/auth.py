"""Customer login: invites, credentials, password resets and server-side sessions."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from proofdesk import activity, sessions
from proofdesk.accounts.models import User
from proofdesk.accounts.services import normalise_email
from proofdesk.customers.models import (
    Customer,
    CustomerCredential,
    CustomerInvite,
    CustomerPasswordReset,
    CustomerSession,
)
from proofdesk.db import utcnow
from proofdesk.errors import ServiceError
from proofdesk.notifications import services as outbox
from proofdesk.passwords import hash_password, needs_rehash, password_problem, verify_password
from proofdesk.tokens import derive_token, hash_token, new_token

INVITE = "customer-invite"
RESET = "customer-reset"


@dataclass(frozen=True)
class TokenSettings:
    secret_key: str
    base_url: str
    invite_hours: int = 72
    reset_minutes: int = 60

    @classmethod
    def from_config(cls, config: dict[str, object]) -> TokenSettings:
        return cls(secret_key=str(config["SECRET_KEY"]), base_url=str(config["BASE_URL"]),
                   invite_hours=int(config["CUSTOMER_INVITE_HOURS"]),  # type: ignore[call-overload]
                   reset_minutes=int(config["CUSTOMER_RESET_MINUTES"]))  # type: ignore[call-overload]


def token_of(settings: TokenSettings, purpose: str, nonce: str) -> str:
    return derive_token(settings.secret_key, purpose, nonce)


def credential_state(customer: Customer, invited_ids: set[int]) -> str:
    """none, invited, active or disabled: what Admin → Customers shows."""
    credential = customer.credential
    if credential is not None:
        return "disabled" if credential.disabled_at else "active"
    return "invited" if customer.id in invited_ids else "none"


def open_invite_customer_ids(session: Session, customer_ids: list[int]) -> set[int]:
    if not customer_ids:
        return set()
    now = utcnow()
    return set(session.scalars(sa.select(CustomerInvite.customer_id).where(
        CustomerInvite.customer_id.in_(customer_ids), CustomerInvite.used_at.is_(None),
        CustomerInvite.revoked_at.is_(None), CustomerInvite.expires_at > now)))


def _revoke_open(session: Session, model: type[CustomerInvite] | type[CustomerPasswordReset],
                 customer_id: int) -> None:
    session.execute(sa.update(model).where(model.customer_id == customer_id,
                                           model.used_at.is_(None), model.revoked_at.is_(None))
                    .values(revoked_at=utcnow()))


def invite(session: Session, *, customer: Customer, by: User, settings: TokenSettings,
           ip: str | None, batch_id: str | None = None) -> CustomerInvite:
    """A fresh invite by email; any older invite link stops working."""
    if customer.credential is not None:
        raise ServiceError(f"{customer.name} already has a login; send a password reset "
                           "instead if they forgot it.")
    _revoke_open(session, CustomerInvite, customer.id)
    now = utcnow()
    row = CustomerInvite(customer_id=customer.id, nonce=new_token(), token_hash="",
                         created_by_id=by.id, created_at=now,
                         expires_at=now + dt.timedelta(hours=settings.invite_hours))
    row.token_hash = hash_token(token_of(settings, INVITE, row.nonce))
    session.add(row)
    session.flush()
    outbox.queue(session, kind="invite", customer=customer, invite_id=row.id, batch_id=batch_id,
                 subject="You're invited to review your proofs online",
                 base_url=settings.base_url)
    activity.record(session, kind="customer.invited", actor=by.name, ip=ip, user_id=by.id,
                    detail=customer.email)
    return row


def invite_all_without_credentials(session: Session, *, by: User, settings: TokenSettings,
                                   ip: str | None) -> tuple[str, int]:
    """Invite every customer who has neither a login nor an open invitation, in one
    transaction (pressing the button twice mails nobody twice); the batch id and count."""
    batch_id = uuid.uuid4().hex
    now = utcnow()
    open_invite = sa.exists().where(
        CustomerInvite.customer_id == Customer.id, CustomerInvite.used_at.is_(None),
        CustomerInvite.revoked_at.is_(None), CustomerInvite.expires_at > now)
    customers = session.scalars(
        sa.select(Customer).outerjoin(CustomerCredential)
        .where(CustomerCredential.id.is_(None), ~open_invite).order_by(Customer.id)).all()
    for customer in customers:
        invite(session, customer=customer, by=by, settings=settings, ip=ip, batch_id=batch_id)
    return batch_id, len(customers)


def _redeem(session: Session, model: type[CustomerInvite] | type[CustomerPasswordReset],
            token: str) -> int | None:
    """Spend a token with one conditional UPDATE: of parallel tries, exactly one wins."""
    if not token or len(token) > 100:
        return None
    now = utcnow()
    token_hash = hash_token(token)
    customer_id = session.scalar(sa.select(model.customer_id).where(model.token_hash == token_hash))
    result = session.execute(
        sa.update(model).where(model.token_hash == token_hash, model.used_at.is_(None),
                               model.revoked_at.is_(None), model.expires_at > now)
        .values(used_at=now))
    return customer_id if result.rowcount == 1 else None  # type: ignore[attr-defined]


def token_is_live(session: Session, model: type[CustomerInvite] | type[CustomerPasswordReset],
                  token: str) -> bool:
    if not token or len(token) > 100:
        return False
    return bool(session.scalar(sa.select(sa.exists().where(
        model.token_hash == hash_token(token), model.used_at.is_(None),
        model.revoked_at.is_(None), model.expires_at > utcnow()))))


INVALID_LINK = "This link has expired or has already been used. Ask for a new one."


def accept_invite(session: Session, *, token: str, password: str, ip: str | None) -> Customer:
    problem = password_problem(password)
    if problem:
        raise ServiceError(problem, "password")
    customer_id = _redeem(session, CustomerInvite, token)
    customer = session.get(Customer, customer_id) if customer_id else None
    if customer is None:
        raise ServiceError(INVALID_LINK)
    if customer.credential is None:
        session.add(CustomerCredential(customer_id=customer.id,
                                       password_hash=hash_password(password)))
    else:
        customer.credential.password_hash = hash_password(password)
        customer.credential.password_changed_at = utcnow()
    session.flush()
    session.refresh(customer)
    activity.record(session, kind="customer.invite_accepted", actor=customer.name, ip=ip,
                    detail=customer.email)
    return customer


def request_password_reset(session: Session, *, email: str, settings: TokenSettings,
                           ip: str | None) -> None:
    """Queue a reset email if the address has an active login; the caller says the same
    thing either way."""
    try:
        email = normalise_email(email)
    except ServiceError:
        return
    customer = session.scalar(sa.select(Customer).where(Customer.email == email))
    if customer is None or customer.credential is None or customer.credential.disabled_at:
        return
    _revoke_open(session, CustomerPasswordReset, customer.id)
    now = utcnow()
    row = CustomerPasswordReset(customer_id=customer.id, nonce=new_token(), token_hash="",
                                created_at=now,
                                expires_at=now + dt.timedelta(minutes=settings.reset_minutes))
    row.token_hash = hash_token(token_of(settings, RESET, row.nonce))
    session.add(row)
    session.flush()
    outbox.queue(session, kind="password_reset", customer=customer, reset_id=row.id,
                 subject="Reset your password", base_url=settings.base_url)
    activity.record(session, kind="customer.reset_requested", actor=customer.name, ip=ip,
                    detail=customer.email)


def reset_password(session: Session, *, token: str, password: str, ip: str | None) -> Customer:
    problem = password_problem(password)
    if problem:
        raise ServiceError(problem, "password")
    customer_id = _redeem(session, CustomerPasswordReset, token)
    customer = session.get(Customer, customer_id) if customer_id else None
    if customer is None or customer.credential is None:
        raise ServiceError(INVALID_LINK)
    _set_password(session, customer, password)
    activity.record(session, kind="customer.password_reset", actor=customer.name, ip=ip,
                    detail=customer.email)
    return customer


def _set_password(session: Session, customer: Customer, password: str,
                  keep_token: str | None = None) -> None:
    assert customer.credential is not None
    customer.credential.password_hash = hash_password(password)
    customer.credential.password_changed_at = utcnow()
    _revoke_open(session, CustomerPasswordReset, customer.id)
    _revoke_open(session, CustomerInvite, customer.id)
    end_all_sessions(session, customer_id=customer.id, keep_token=keep_token)


def change_password(session: Session, *, customer: Customer, current: str, new: str,
                    keep_token: str, ip: str | None) -> None:
    assert customer.credential is not None
    if not verify_password(customer.credential.password_hash, current):
        raise ServiceError("Your current password is not right.", "current_password")
    problem = password_problem(new)
    if problem:
        raise ServiceError(problem, "new_password")
    _set_password(session, customer, new, keep_token=keep_token)
    activity.record(session, kind="customer.password_changed", actor=customer.name, ip=ip,
                    detail=customer.email)


def authenticate(session: Session, *, email: str, password: str) -> Customer | None:
    customer = session.scalar(sa.select(Customer).where(Customer.email == email.strip().lower()))
    credential = customer.credential if customer else None
    ok = verify_password(credential.password_hash if credential else None, password)
    if not ok or credential is None or credential.disabled_at is not None:
        return None
    if needs_rehash(credential.password_hash):
        credential.password_hash = hash_password(password)
    return customer


def set_login_disabled(session: Session, *, customer: Customer, disabled: bool, by: User,
                       ip: str | None) -> None:
    if customer.credential is None:
        raise ServiceError(f"{customer.name} has no login yet.")
    customer.credential.disabled_at = utcnow() if disabled else None
    if disabled:
        end_all_sessions(session, customer_id=customer.id)
        _revoke_open(session, CustomerPasswordReset, customer.id)
    activity.record(session, kind="customer.login_disabled" if disabled else
                    "customer.login_enabled", actor=by.name, ip=ip, user_id=by.id,
                    detail=customer.email)


def start_session(session: Session, *, customer: Customer, ip: str | None,
                  user_agent: str | None) -> str:
    activity.record(session, kind="customer.logged_in", actor=customer.name, ip=ip,
                    detail=customer.email)
    return sessions.start(session, CustomerSession, owner={"customer_id": customer.id}, ip=ip,
                          user_agent=user_agent)


def _can_log_in(row: CustomerSession) -> bool:
    credential = row.customer.credential
    return credential is not None and credential.disabled_at is None


def load_session(session: Session, *, token: str, idle: dt.timedelta,
                 max_age: dt.timedelta) -> Customer | None:
    row = sessions.find(session, CustomerSession, token=token, idle=idle, max_age=max_age,
                        usable=_can_log_in)
    return row.customer if row is not None else None


def end_session(session: Session, *, token: str) -> None:
    sessions.end(session, CustomerSession, token=token)


def end_all_sessions(session: Session, *, customer_id: int, keep_token: str | None = None) -> None:
    sessions.end_all(session, CustomerSession.customer_id, customer_id, keep_token=keep_token)
