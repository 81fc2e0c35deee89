"""Work queues kept in table rows: a worker claims due rows atomically, each row held by one
worker at a time until its lease runs out (the notifications outbox, the page renders)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from proofdesk.db import rowcount, utcnow

Due = Callable[[dt.datetime], sa.ColumnElement[bool]]
Claimed = Callable[[dt.datetime], dict[str, Any]]


def claim(
    session: Session,
    model: Any,
    *,
    where: Due,
    order_by: Sequence[Any],
    limit: int,
    values: Claimed,
) -> list[int]:
    """Take up to `limit` rows of `model` that are due (`where(now)`), in `order_by` order, and
    set `values(now)` on them (the status that marks them held and the end of the lease), in a
    transaction of its own: of several workers claiming at once, each row goes to one.
    The ids claimed, possibly none."""
    now = utcnow()
    due, claimed = where(now), values(now)
    if session.get_bind().dialect.name == "postgresql":
        picked = (
            sa.select(model.id)
            .where(due)
            .order_by(*order_by)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        ids = list(
            session.scalars(
                sa.update(model)
                .where(model.id.in_(picked.scalar_subquery()))
                .values(**claimed)
                .returning(model.id)
            )
        )
    else:
        # No SKIP LOCKED: claim candidates one by one, each only if still due, and look again
        # when other workers took them first (else this worker reports nothing due while
        # rows wait).
        ids = []
        while len(ids) < limit:
            candidates = list(
                session.scalars(
                    sa.select(model.id).where(due).order_by(*order_by).limit(limit - len(ids))
                )
            )
            if not candidates:
                break
            for candidate in candidates:
                result = session.execute(
                    sa.update(model).where(model.id == candidate, due).values(**claimed)
                )
                if rowcount(result) == 1:
                    ids.append(candidate)
    session.commit()
    return ids
