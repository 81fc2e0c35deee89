"""Customers: create, edit, search."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from proofdesk import activity
from proofdesk.accounts.models import User
from proofdesk.accounts.services import normalise_email
from proofdesk.activity import Activity, ActivityKind
from proofdesk.customer_login.services import email_changed
from proofdesk.customers.models import Customer
from proofdesk.db import LIKE_ESCAPE, contains_pattern
from proofdesk.errors import ServiceError

PAGE_SIZE = 50


def _clean(name: str, email: str, company: str | None) -> tuple[str, str, str | None]:
    name = name.strip()
    if not name:
        raise ServiceError("Enter the customer's name.", "name")
    return name, normalise_email(email), (company or "").strip() or None


def _email_taken(session: Session, email: str, exclude_id: int | None = None) -> bool:
    stmt = sa.select(Customer.id).where(Customer.email == email)
    if exclude_id is not None:
        stmt = stmt.where(Customer.id != exclude_id)
    return session.scalar(stmt) is not None


def create_customer(
    session: Session, *, name: str, email: str, company: str | None, created_by_id: int | None
) -> Customer:
    name, email, company = _clean(name, email, company)
    if _email_taken(session, email):
        raise ServiceError("A customer with this email already exists.", "email")
    customer = Customer(name=name, email=email, company=company, created_by_id=created_by_id)
    session.add(customer)
    session.flush()
    return customer


def update_customer(
    session: Session,
    *,
    customer: Customer,
    name: str,
    email: str,
    company: str | None,
    by: User,
    ip: str | None,
) -> Customer:
    """Save the customer's details. A new email address ends the customer's sessions and
    every invitation and reset link mailed to the old one (`email_changed`)."""
    name, email, company = _clean(name, email, company)
    if _email_taken(session, email, exclude_id=customer.id):
        raise ServiceError("A customer with this email already exists.", "email")
    old_email = customer.email
    if (name, company) != (customer.name, customer.company):
        activity.record(
            session,
            kind=ActivityKind.CUSTOMER_UPDATED,
            actor=by.name,
            ip=ip,
            user_id=by.id,
            customer_id=customer.id,
            detail=name,
        )
    customer.name, customer.email, customer.company = name, email, company
    if email != old_email:
        email_changed(session, customer=customer, old_email=old_email, by=by, ip=ip)
    return customer


def history(session: Session, customer: Customer, *, limit: int = 50) -> list[Activity]:
    """The customer's account history, newest first: who changed their address, sent or
    used their login mails, logged in."""
    return list(
        session.scalars(
            sa.select(Activity)
            .where(Activity.customer_id == customer.id)
            .order_by(Activity.at.desc(), Activity.id.desc())
            .limit(limit)
        )
    )


def search_customers(
    session: Session, *, query: str = "", page: int = 1, page_size: int = PAGE_SIZE
) -> tuple[list[Customer], bool]:
    """One page of customers matching name, email or company; and whether more follow."""
    stmt = sa.select(Customer).order_by(Customer.name, Customer.id)
    query = query.strip()
    if query:
        pattern = contains_pattern(query.lower())
        stmt = stmt.where(
            sa.or_(
                sa.func.lower(Customer.name).like(pattern, escape=LIKE_ESCAPE),
                Customer.email.like(pattern, escape=LIKE_ESCAPE),
                sa.func.lower(Customer.company).like(pattern, escape=LIKE_ESCAPE),
            )
        )
    rows = list(session.scalars(stmt.offset((page - 1) * page_size).limit(page_size + 1)))
    return rows[:page_size], len(rows) > page_size


def readiness(session: Session, *, days: int = 30) -> dict[str, int]:
    """What the operator needs before retiring share links: customers without a login, and
    how much the links are still used."""
    import datetime as dt

    from proofdesk.customer_login.models import CustomerCredential
    from proofdesk.db import utcnow

    total = session.scalar(sa.select(sa.func.count()).select_from(Customer)) or 0
    with_login = (
        session.scalar(
            sa.select(sa.func.count())
            .select_from(CustomerCredential)
            .where(CustomerCredential.disabled_at.is_(None))
        )
        or 0
    )
    views = (
        session.scalar(
            sa.select(sa.func.count())
            .select_from(Activity)
            .where(
                Activity.kind == ActivityKind.SHARE_LINK_VIEWED,
                Activity.at > utcnow() - dt.timedelta(days=days),
            )
        )
        or 0
    )
    return {
        "customers": total,
        "with_login": with_login,
        "without_login": total - with_login,
        "link_views": views,
        "days": days,
    }
