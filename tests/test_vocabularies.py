"""Statuses, roles and kinds are StrEnums, and the database itself refuses any other word."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from proofdesk.accounts.models import Role
from proofdesk.mail import SmtpSecurity
from proofdesk.notifications.content import NotificationKind
from proofdesk.notifications.models import NotificationStatus, SmtpCheck, SmtpSettings
from proofdesk.proofs.models import FileKind, Proof, ProofStatus, ProofVersion, RenderStatus
from proofdesk.review.models import DecisionKind

# (table, column) → its vocabulary: each is checked by a CHECK constraint of that table.
VOCABULARIES = {
    ("users", "role"): Role,
    ("proofs", "status"): ProofStatus,
    ("proof_versions", "kind"): FileKind,
    ("proof_versions", "render_status"): RenderStatus,
    ("decisions", "decision"): DecisionKind,
    ("customer_notifications", "kind"): NotificationKind,
    ("customer_notifications", "status"): NotificationStatus,
    ("smtp_settings", "security"): SmtpSecurity,
    ("smtp_settings", "last_status"): SmtpCheck,
}


def test_the_words_stored_are_the_ones_written_before_the_enums():
    """The enums changed no stored value: the rows of older databases keep their meaning."""
    assert {
        table_column: [str(m) for m in enum] for table_column, enum in VOCABULARIES.items()
    } == {
        ("users", "role"): ["admin", "designer"],
        ("proofs", "status"): ["awaiting_review", "changes_requested", "approved"],
        ("proof_versions", "kind"): ["image", "pdf"],
        ("proof_versions", "render_status"): ["pending", "rendering", "done", "failed"],
        ("decisions", "decision"): ["approved", "changes_requested"],
        # ... and the kinds added since, after them
        ("customer_notifications", "kind"): ["proof", "invite", "password_reset", "reminder"],
        ("customer_notifications", "status"): ["queued", "sending", "sent", "failed"],
        ("smtp_settings", "security"): ["starttls", "ssl", "none"],
        ("smtp_settings", "last_status"): ["ok", "failed"],
    }


def test_every_vocabulary_is_a_check_constraint_of_the_migrated_database(db_session):
    inspector = sa.inspect(db_session.get_bind())
    for (table, column), _enum in VOCABULARIES.items():
        names = {c["name"] for c in inspector.get_check_constraints(table)}
        assert f"ck_{table}_{column}" in names, (table, column)


def test_rows_are_read_back_as_members(factory, db_session):
    designer = factory.user()
    proof = factory.proof(designer)
    db_session.expire_all()
    proof = db_session.get(Proof, proof.id)
    assert proof.status is ProofStatus.AWAITING_REVIEW
    assert proof.designer.role is Role.DESIGNER
    version = db_session.scalars(sa.select(ProofVersion)).one()
    assert (version.kind, version.render_status) == (FileKind.IMAGE, RenderStatus.DONE)


@pytest.mark.parametrize(("table", "column"), sorted(VOCABULARIES))
def test_the_database_refuses_a_word_outside_the_vocabulary(factory, db_session, table, column):
    """Whatever writes the row (the ORM, a hand-written UPDATE, another program), a word
    outside the vocabulary is an IntegrityError, on SQLite as on PostgreSQL."""
    designer = factory.user()
    factory.proof(designer)
    db_session.add(SmtpSettings(user_id=designer.id, host="smtp.test", port=587))
    db_session.execute(
        sa.text(
            "INSERT INTO decisions (proof_id, version_id, decision, reviewer_name, created_at) "
            "SELECT proof_id, id, 'approved', 'Ann', created_at FROM proof_versions"
        )
    )
    db_session.execute(
        sa.text(
            "INSERT INTO customer_notifications (kind, customer_id, to_address, subject, status,"
            " attempts, next_attempt_at, message_id, created_at, updated_at) "
            "SELECT 'invite', id, email, 'Hello', 'queued', 0, created_at, 'm@x', created_at,"
            " created_at FROM customers"
        )
    )
    db_session.commit()
    with pytest.raises(sa.exc.IntegrityError):
        db_session.execute(sa.text(f"UPDATE {table} SET {column} = 'bogus'"))
        db_session.flush()
    db_session.rollback()
    assert db_session.scalar(sa.text(f"SELECT COUNT(*) FROM {table} WHERE {column} = 'bogus'")) == 0


def test_the_orm_writes_members_and_plain_words_alike(factory, db_session):
    designer = factory.user()
    proof = factory.proof(designer)
    proof.status = "approved"  # a form's plain string is the same word
    db_session.commit()
    db_session.expire_all()
    assert db_session.get(Proof, proof.id).status is ProofStatus.APPROVED
    proof.status = "archived"
    with pytest.raises(sa.exc.IntegrityError):
        db_session.commit()
    db_session.rollback()
