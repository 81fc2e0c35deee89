"""The links of login mails (invitations, password resets): checked, spent once, revoked."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from proofdesk.customer_login.models import CustomerInvite, CustomerPasswordReset
from proofdesk.db import rowcount, utcnow
from proofdesk.tokens import hash_token

# What each link's token is derived for (`tokens.token_of`): an invite token is no reset token.
INVITE = "customer-invite"
RESET = "customer-reset"
INVALID_LINK = "This link has expired or has already been used. Ask for a new one."

LinkModel = type[CustomerInvite] | type[CustomerPasswordReset]


def revoke_open(session: Session, model: LinkModel, customer_id: int) -> None:
    """The customer's unused links of this kind stop working."""
    session.execute(
        sa.update(model)
        .where(
            model.customer_id == customer_id, model.used_at.is_(None), model.revoked_at.is_(None)
        )
        .values(revoked_at=utcnow())
    )


def redeem(session: Session, model: LinkModel, token: str) -> int | None:
    """Spend a token with one conditional UPDATE: of parallel tries, exactly one wins."""
    if not token or len(token) > 100:
        return None
    now = utcnow()
    token_hash = hash_token(token)
    customer_id = session.scalar(sa.select(model.customer_id).where(model.token_hash == token_hash))
    result = session.execute(
        sa.update(model)
        .where(
            model.token_hash == token_hash,
            model.used_at.is_(None),
            model.revoked_at.is_(None),
            model.expires_at > now,
        )
        .values(used_at=now)
    )
    return customer_id if rowcount(result) == 1 else None


def token_is_live(session: Session, model: LinkModel, token: str) -> bool:
    if not token or len(token) > 100:
        return False
    return bool(
        session.scalar(
            sa.select(
                sa.exists().where(
                    model.token_hash == hash_token(token),
                    model.used_at.is_(None),
                    model.revoked_at.is_(None),
                    model.expires_at > utcnow(),
                )
            )
        )
    )
