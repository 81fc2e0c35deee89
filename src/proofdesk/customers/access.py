"""Who may manage a customer's record and portal login.

Customers are shared by the studio: every designer can find any customer and upload a proof
for them, and each designer sees only their own proofs of that customer. A customer's portal
login, though, opens every proof made for that customer, whoever made it. So whoever decides
where that login's mail goes (the email address) or sends its login mail (invitation, password
reset) could read any proof of the customer. That is allowed to admins, and to a designer
only while every proof of the customer is theirs: they created the customer or have a proof
for it, and no other designer has one. Everyone else gets a 404, as for another designer's
proof.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from proofdesk.accounts.models import User
from proofdesk.customers.models import Customer
from proofdesk.db import get_or_404
from proofdesk.proofs.models import Proof


def _proof_designers(session: Session, customer_id: int) -> set[int]:
    return set(
        session.scalars(
            sa.select(Proof.designer_id).where(Proof.customer_id == customer_id).distinct()
        )
    )


def may_manage(session: Session, user: User, customer: Customer) -> bool:
    """May this staff user edit the customer and send or stop its login?"""
    if not user.active:
        return False
    if user.is_admin:
        return True
    designers = _proof_designers(session, customer.id)
    if designers - {user.id}:
        return False  # another designer's proofs would be reachable through the login
    return user.id in designers or customer.created_by_id == user.id


def manageable_filter(user: User) -> sa.ColumnElement[bool]:
    """SQL condition for the customers `user` may manage (for bulk invitations)."""
    if user.is_admin:
        return sa.true()
    others = sa.exists().where(Proof.customer_id == Customer.id, Proof.designer_id != user.id)
    own = sa.exists().where(Proof.customer_id == Customer.id, Proof.designer_id == user.id)
    return sa.and_(~others, sa.or_(own, Customer.created_by_id == user.id))


def customer_or_404(
    session: Session, *, user: User, customer_id: int, manage: bool = False
) -> Customer:
    """The customer for a staff page; with `manage`, only for those who may manage it."""
    return get_or_404(
        session,
        Customer,
        customer_id,
        allowed=lambda customer: not manage or may_manage(session, user, customer),
    )
