"""Customers (`customers`): the studio's clients, shared by all its designers."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from proofdesk.db import Base, created_at, intpk, str200, str320


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[intpk]
    name: Mapped[str200] = mapped_column(index=True)
    email: Mapped[str320] = mapped_column(unique=True)
    company: Mapped[str | None] = mapped_column(sa.String(200))
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[created_at]
