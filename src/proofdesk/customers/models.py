"""Customers (`customers`), the studio's clients; their login is in customer_login."""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from proofdesk.db import Base, created_at, intpk, str200, str320

if TYPE_CHECKING:
    from proofdesk.customer_login.models import CustomerCredential


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

    credential: Mapped[CustomerCredential | None] = relationship(
        "CustomerCredential", back_populates="customer", uselist=False, lazy="selectin"
    )
