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
from proofdesk.customers.access import manageable_filter
from proofdesk.customers.models import (
    Customer,
    CustomerCredential,
    CustomerInvite,
    CustomerPasswordReset,
    CustomerResetRequest,
    CustomerSession,
)
from proofdesk.db import utcnow
from proofdesk.errors import ServiceError
from proofdesk.notifications import services as outbox
from proofdesk.passwords import hash_password, needs_rehash, password_problem, verify_password
from proofdesk.tokens import derive_token, hash_token, new_token

INVITE = "customer-invite"
RESET = "customer-reset"
# Login mails (invitations and resets) staff may send in an hour: to one customer, and by one
# designer to all customers. Without them, a changed address turns the shop's relay into a
# mail cannon; admins' bulk invitations are bounded by the customers without a login.
LOGIN_MAILS_PER_CUSTOMER = 3
LOGIN_MAILS_PER_DESIGNER = 20
THROTTLE_WINDOW = dt.timedelta(hours=1)


class Throttled(ServiceError):
    """Too many login mails in the last hour; the message says how many and what to do."""


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
    check_login_mail_budget(session, customer=customer, by=by)
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
                    customer_id=customer.id, detail=customer.email)
    return row


def _login_mails_since(session: Session, since: dt.datetime, *, customer_id: int | None = None,
                       by_id: int | None = None) -> int:
    """Invitations and staff-sent resets since `since`, for one customer or by one user."""
    total = 0
    for model in (CustomerInvite, CustomerPasswordReset):
        stmt = sa.select(sa.func.count()).select_from(model).where(
            model.created_at > since, model.created_by_id.is_not(None))
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
        raise Throttled(f"{customer.name} has already been sent {LOGIN_MAILS_PER_CUSTOMER} "
                        "login emails (invitations or password resets) in the last hour. "
                        "Wait an hour before sending another, and check the address is right.")
    if not by.is_admin and \
            _login_mails_since(session, since, by_id=by.id) >= LOGIN_MAILS_PER_DESIGNER:
        raise Throttled(f"You have sent {LOGIN_MAILS_PER_DESIGNER} login emails in the last "
                        "hour, the most a designer may send. Try again later, or ask an admin.")


def designer_budget(session: Session, *, by: User) -> int | None:
    """How many more login mails `by` may send this hour (None: no limit for admins)."""
    if by.is_admin:
        return None
    used = _login_mails_since(session, utcnow() - THROTTLE_WINDOW, by_id=by.id)
    return max(0, LOGIN_MAILS_PER_DESIGNER - used)


@dataclass(frozen=True)
class BulkInvite:
    batch_id: str
    sent: int
    left: int  # customers still without an invitation (a designer's hourly limit reached)


def invite_all_without_credentials(session: Session, *, by: User, settings: TokenSettings,
                                   ip: str | None) -> BulkInvite:
    """Invite every customer `by` may manage who has neither a login nor an open invitation,
    in one transaction (pressing the button twice mails nobody twice); a designer up to their
    hourly limit."""
    batch_id = uuid.uuid4().hex
    now = utcnow()
    open_invite = sa.exists().where(
        CustomerInvite.customer_id == Customer.id, CustomerInvite.used_at.is_(None),
        CustomerInvite.revoked_at.is_(None), CustomerInvite.expires_at > now)
    customers = session.scalars(
        sa.select(Customer).outerjoin(CustomerCredential)
        .where(CustomerCredential.id.is_(None), ~open_invite, manageable_filter(by))
        .order_by(Customer.id)).all()
    budget = designer_budget(session, by=by)
    chosen = customers if budget is None else customers[:budget]
    sent = 0
    for customer in chosen:
        try:
            invite(session, customer=customer, by=by, settings=settings, ip=ip,
                   batch_id=batch_id)
        except Throttled:
            continue  # this one had its hourly share already
        sent += 1
    return BulkInvite(batch_id=batch_id, sent=sent, left=len(customers) - sent)


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
                    customer_id=customer.id, detail=customer.email)
    return customer


def request_password_reset(session: Session, *, email: str, ip: str | None) -> None:
    """The customer's "forgot password" form: only record the request. Whether or not the
    address has a login, this is the same single INSERT, so neither the page nor its timing
    tells; the worker answers it (`answer_reset_requests`)."""
    session.add(CustomerResetRequest(email=email.strip().lower()[:320], ip=ip))


def answer_reset_requests(session: Session, *, settings: TokenSettings, limit: int = 20) -> int:
    """Worker: mail a reset link for each recorded request whose address has an active login;
    the others are dropped. Each request is taken by one worker (a conditional DELETE) and
    answered in the same transaction. The number of requests taken."""
    taken = 0
    request = CustomerResetRequest
    rows = session.execute(sa.select(request.id, request.email, request.ip)
                           .order_by(request.id).limit(limit)).all()
    session.commit()
    for request_id, email, ip in rows:
        deleted = session.execute(sa.delete(request).where(request.id == request_id)
                                  .execution_options(synchronize_session=False))
        if deleted.rowcount != 1:  # type: ignore[attr-defined]
            session.rollback()  # another worker took it
            continue
        taken += 1
        customer = _customer_with_login(session, email)
        if customer is not None:
            issue_password_reset(session, customer=customer, settings=settings, by=None, ip=ip)
        session.commit()
    return taken


def _customer_with_login(session: Session, email: str) -> Customer | None:
    try:
        email = normalise_email(email)
    except ServiceError:
        return None
    customer = session.scalar(sa.select(Customer).where(Customer.email == email))
    if customer is None or customer.credential is None or customer.credential.disabled_at:
        return None
    return customer


def issue_password_reset(session: Session, *, customer: Customer, settings: TokenSettings,
                         by: User | None, ip: str | None) -> CustomerPasswordReset:
    """A fresh reset link by email (older ones stop working); `by` is the staff user who sent
    it from the customer's page (limited per hour), None when the customer asked."""
    if customer.credential is None or customer.credential.disabled_at:
        raise ServiceError(f"{customer.name} has no active login to reset; send an "
                           "invitation instead." if customer.credential is None else
                           f"{customer.name}'s login is disabled; enable it first.")
    if by is not None:
        check_login_mail_budget(session, customer=customer, by=by)
    _revoke_open(session, CustomerPasswordReset, customer.id)
    now = utcnow()
    row = CustomerPasswordReset(customer_id=customer.id, nonce=new_token(), token_hash="",
                                created_by_id=by.id if by else None, created_at=now,
                                expires_at=now + dt.timedelta(minutes=settings.reset_minutes))
    row.token_hash = hash_token(token_of(settings, RESET, row.nonce))
    session.add(row)
    session.flush()
    outbox.queue(session, kind="password_reset", customer=customer, reset_id=row.id,
                 subject="Reset your password", base_url=settings.base_url)
    if by is None:
        activity.record(session, kind="customer.reset_requested", actor=customer.name, ip=ip,
                        customer_id=customer.id, detail=customer.email)
    else:
        activity.record(session, kind="customer.reset_sent", actor=by.name, ip=ip,
                        user_id=by.id, customer_id=customer.id, detail=customer.email)
    return row


def email_changed(session: Session, *, customer: Customer, old_email: str, by: User,
                  ip: str | None) -> None:
    """After staff change a customer's address: links mailed to the old address stop working
    and the customer's sessions end (they log in again, with the same password)."""
    _revoke_open(session, CustomerInvite, customer.id)
    _revoke_open(session, CustomerPasswordReset, customer.id)
    end_all_sessions(session, customer_id=customer.id)
    activity.record(session, kind="customer.email_changed", actor=by.name, ip=ip,
                    user_id=by.id, customer_id=customer.id,
                    detail=f"{old_email} → {customer.email}")


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
                    customer_id=customer.id, detail=customer.email)
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
                    customer_id=customer.id, detail=customer.email)


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
                    customer_id=customer.id, detail=customer.email)


def start_session(session: Session, *, customer: Customer, ip: str | None,
                  user_agent: str | None) -> str:
    activity.record(session, kind="customer.logged_in", actor=customer.name, ip=ip,
                    customer_id=customer.id, detail=customer.email)
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
