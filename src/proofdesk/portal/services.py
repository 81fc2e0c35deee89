"""The customer's proofs: those awaiting their decision first, then by due date."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from proofdesk.customers.models import Customer
from proofdesk.proofs.models import Proof, ProofStatus

PAGE_SIZE = 25


def customer_proofs(
    session: Session, *, customer: Customer, page: int = 1, page_size: int = PAGE_SIZE
) -> tuple[list[Proof], bool]:
    waiting_first = sa.case((Proof.status == ProofStatus.AWAITING_REVIEW, 0), else_=1)
    stmt = (
        sa.select(Proof)
        .options(joinedload(Proof.designer))
        .where(Proof.customer_id == customer.id)
        .order_by(
            waiting_first,
            Proof.due_date.is_(None),
            Proof.due_date,
            Proof.last_activity_at.desc(),
            Proof.id.desc(),
        )
        .offset((page - 1) * page_size)
        .limit(page_size + 1)
    )
    rows = list(session.scalars(stmt))
    return rows[:page_size], len(rows) > page_size
