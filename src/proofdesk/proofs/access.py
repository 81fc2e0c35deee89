"""The one place that decides who may see or act on a proof."""

from __future__ import annotations

from sqlalchemy.orm import Session

from proofdesk.accounts.models import User
from proofdesk.config import settings
from proofdesk.customers.models import Customer
from proofdesk.db import get_or_404
from proofdesk.proofs.models import Proof
from proofdesk.review.models import ShareLink

Viewer = User | ShareLink | Customer


def can_see(viewer: Viewer | None, proof: Proof) -> bool:
    """Admins see every proof, a designer their own, a share link the proof it was made for
    (while share links are enabled), a logged-in customer the proofs made for them."""
    if isinstance(viewer, User):
        return viewer.active and (viewer.is_admin or proof.designer_id == viewer.id)
    if isinstance(viewer, ShareLink):
        # Retired links open nothing, not even for the proof's customer: they use the portal,
        # where what they do is recorded under their account.
        return (
            settings().legacy_public_links_enabled
            and viewer.revoked_at is None
            and viewer.proof_id == proof.id
        )
    if isinstance(viewer, Customer):
        credential = viewer.credential
        return (
            credential is not None
            and credential.disabled_at is None
            and proof.customer_id == viewer.id
        )
    return False


def proof_or_404(session: Session, *, viewer: Viewer | None, proof_id: int) -> Proof:
    """The proof if the viewer may see it; another's or a missing proof answers 404 alike."""
    return get_or_404(session, Proof, proof_id, allowed=lambda proof: can_see(viewer, proof))
