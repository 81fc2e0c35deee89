"""Staff accounts: creating and changing users, logging in, server-side sessions, setup."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from sqlalchemy.orm import Session

from proofdesk import activity, sessions
from proofdesk.accounts.models import Role, SetupToken, User, UserSession
from proofdesk.activity import ActivityKind
from proofdesk.db import rowcount, utcnow
from proofdesk.errors import ServiceError
from proofdesk.passwords import (
    check_password_change,
    hash_password,
    needs_rehash,
    require_good_password,
    verify_password,
)
from proofdesk.tokens import hash_token, new_token

SETUP_TOKEN_HOURS = 24


def normalise_email(email: str) -> str:
    try:
        return validate_email(
            email.strip(), check_deliverability=False, test_environment=True
        ).normalized.lower()
    except EmailNotValidError as exc:
        raise ServiceError("Enter a valid email address.", "email") from exc


def _one_line(name: str) -> str:
    """A name on one line with single spaces: it is shown everywhere and becomes the
    display name in the From of the emails a designer sends."""
    return " ".join(name.split())


def _clean_user(email: str, name: str, role: str) -> tuple[str, str]:
    """The email and name as stored, or a ServiceError for the field that is wrong."""
    email = normalise_email(email)
    name = _one_line(name)
    if not name:
        raise ServiceError("Enter a name.", "name")
    if role not in tuple(Role):
        raise ServiceError("Choose admin or designer.", "role")
    return email, name


def find_user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(sa.select(User).where(User.email == email.strip().lower()))


def create_user(
    session: Session,
    *,
    email: str,
    name: str,
    role: str,
    password: str,
    created_by: User | None = None,
    ip: str | None = None,
) -> User:
    email, name = _clean_user(email, name, role)
    require_good_password(password)
    if find_user_by_email(session, email):
        raise ServiceError("A user with this email already exists.", "email")
    user = User(email=email, name=name, role=role, password_hash=hash_password(password))
    session.add(user)
    session.flush()
    activity.record(
        session,
        kind=ActivityKind.USER_CREATED,
        actor=created_by.name if created_by else "cli",
        ip=ip,
        user_id=user.id,
        detail=f"{user.email} as {role}",
    )
    return user


def update_user(
    session: Session,
    *,
    user: User,
    email: str,
    name: str,
    role: str,
    active: bool,
    changed_by: User,
    ip: str | None,
) -> User:
    email, name = _clean_user(email, name, role)
    other = find_user_by_email(session, email)
    if other is not None and other.id != user.id:
        raise ServiceError("A user with this email already exists.", "email")
    if user.id == changed_by.id and (role != Role.ADMIN or not active):
        raise ServiceError(
            "You cannot remove your own admin role or deactivate yourself.",
            "role" if role != Role.ADMIN else "active",
        )
    changes = []
    for attr, value in (("email", email), ("name", name), ("role", role), ("active", active)):
        if getattr(user, attr) != value:
            changes.append(f"{attr}: {getattr(user, attr)} → {value}")
            setattr(user, attr, value)
    if changes and (not active or any(c.startswith(("role", "email")) for c in changes)):
        # A deactivation, a role change or an email change ends every session at once.
        end_all_sessions(session, user=user)
    if changes:
        kind = (
            ActivityKind.USER_DEACTIVATED if changes and not active else ActivityKind.USER_UPDATED
        )
        activity.record(
            session,
            kind=kind,
            actor=changed_by.name,
            ip=ip,
            user_id=user.id,
            detail="; ".join(changes),
        )
    return user


def authenticate(session: Session, *, email: str, password: str) -> User | None:
    """The active user with this email and password, or None (same work either way)."""
    user = find_user_by_email(session, email)
    ok = verify_password(user.password_hash if user else None, password)
    if not ok or user is None or not user.active:
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def log_in(
    session: Session, *, email: str, password: str, ip: str | None, user_agent: str | None
) -> User | None:
    """The login form: the user with a new session, or None; either way recorded as activity."""
    user = authenticate(session, email=email, password=password)
    if user is None:
        activity.record(session, kind=ActivityKind.LOGIN_FAILED, actor=email[:200], ip=ip)
        return None
    start_session(session, user=user, ip=ip, user_agent=user_agent)
    activity.record(
        session, kind=ActivityKind.LOGIN_SUCCEEDED, actor=user.name, ip=ip, user_id=user.id
    )
    return user


def start_session(session: Session, *, user: User, ip: str | None, user_agent: str | None) -> str:
    token = sessions.start(
        session, UserSession, owner={"user_id": user.id}, ip=ip, user_agent=user_agent
    )
    user.session_token = token
    return token


def load_session(
    session: Session, *, token: str, idle: dt.timedelta, max_age: dt.timedelta
) -> User | None:
    """The user behind a session token, if the session is alive and the user active."""
    row = sessions.find(
        session,
        UserSession,
        token=token,
        idle=idle,
        max_age=max_age,
        usable=lambda row: row.user.active,
    )
    if row is None:
        return None
    row.user.session_token = token
    user: User = row.user
    return user


def end_session(session: Session, *, token: str) -> None:
    sessions.end(session, UserSession, token=token)


def end_all_sessions(session: Session, *, user: User, keep_token: str | None = None) -> None:
    sessions.end_all(session, UserSession.user_id, user.id, keep_token=keep_token)


def change_password(
    session: Session, *, user: User, current: str, new: str, ip: str | None
) -> None:
    check_password_change(user.password_hash, current=current, new=new)
    user.password_hash = hash_password(new)
    user.password_changed_at = utcnow()
    end_all_sessions(session, user=user, keep_token=user.session_token)
    activity.record(
        session, kind=ActivityKind.PASSWORD_CHANGED, actor=user.name, ip=ip, user_id=user.id
    )


def admin_exists(session: Session) -> bool:
    return session.scalar(sa.select(sa.exists().where(User.role == Role.ADMIN))) or False


def issue_setup_token(session: Session) -> str | None:
    """A fresh one-time setup link token while no admin exists (older ones stop working)."""
    if admin_exists(session):
        return None
    session.execute(sa.delete(SetupToken))
    token = new_token()
    now = utcnow()
    session.add(
        SetupToken(
            token_hash=hash_token(token),
            created_at=now,
            expires_at=now + dt.timedelta(hours=SETUP_TOKEN_HOURS),
        )
    )
    return token


def setup_token_valid(session: Session, token: str) -> bool:
    return (
        session.scalar(
            sa.select(
                sa.exists().where(
                    SetupToken.token_hash == hash_token(token),
                    SetupToken.used_at.is_(None),
                    SetupToken.expires_at > utcnow(),
                )
            )
        )
        or False
    )


def complete_setup(
    session: Session, *, token: str, email: str, name: str, password: str, ip: str | None
) -> User:
    """Create the first admin; the token works once, even under parallel requests."""
    claimed = session.execute(
        sa.update(SetupToken)
        .where(
            SetupToken.token_hash == hash_token(token),
            SetupToken.used_at.is_(None),
            SetupToken.expires_at > utcnow(),
        )
        .values(used_at=utcnow())
    )
    if rowcount(claimed) != 1 or admin_exists(session):
        raise ServiceError("This setup link has already been used or has expired.")
    user = create_user(session, email=email, name=name, role=Role.ADMIN, password=password, ip=ip)
    activity.record(
        session, kind=ActivityKind.SETUP_COMPLETED, actor=user.name, ip=ip, user_id=user.id
    )
    return user
