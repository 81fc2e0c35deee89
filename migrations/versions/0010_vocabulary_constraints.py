"""the vocabularies the older constraints missed: a version's file kind and render status,
an SMTP server's security and last check

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27 12:00:00.000000
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column) → the words it takes, as the code of this revision writes them (the StrEnums
# FileKind, RenderStatus in proofs.models, SmtpSecurity in mail, SmtpCheck in
# notifications.models); written out here because a migration must not change when they do.
VOCABULARIES = {
    ("proof_versions", "kind"): ("image", "pdf"),
    ("proof_versions", "render_status"): ("pending", "rendering", "done", "failed"),
    ("smtp_settings", "security"): ("starttls", "ssl", "none"),
    ("smtp_settings", "last_status"): ("ok", "failed"),
}


def _listed(words: tuple[str, ...]) -> str:
    return ", ".join(f"'{word}'" for word in words)


def _refuse_unknown_words() -> None:
    """Every row the code wrote holds a word of its vocabulary; a row that does not was written
    by hand, and the upgrade stops and names it rather than guess what it meant."""
    bind = op.get_bind()
    problems = []
    for (table, column), words in VOCABULARIES.items():
        found = bind.execute(
            sa.text(
                f"SELECT {column}, COUNT(*) FROM {table} "
                f"WHERE {column} NOT IN ({_listed(words)}) GROUP BY {column}"
            )
        ).all()
        problems += [f"{table}.{column} = {value!r} in {n} row(s)" for value, n in found]
    if problems:
        raise RuntimeError(
            "cannot add the vocabulary constraints: "
            + "; ".join(problems)
            + ". Set these rows to one of the listed words (see migration 0010), then upgrade."
        )


@contextmanager
def _foreign_keys_off_on_sqlite() -> Iterator[None]:
    """SQLite adds a CHECK constraint by copying the table (batch mode), and dropping the old
    copy with foreign keys on would delete the rows that cascade from it (a version's pages,
    comments and decisions). SQLite's own procedure: foreign keys off, outside a transaction;
    copy in one transaction; check the keys; commit; foreign keys on."""
    if op.get_bind().dialect.name != "sqlite":
        yield
        return
    with op.get_context().autocommit_block():
        bind = op.get_bind()
        bind.exec_driver_sql("PRAGMA foreign_keys=OFF")
        try:
            bind.exec_driver_sql("BEGIN")
            try:
                yield
                broken = bind.exec_driver_sql("PRAGMA foreign_key_check").all()
                if broken:
                    raise RuntimeError(f"foreign keys broken by the table copy: {broken}")
            except BaseException:
                bind.exec_driver_sql("ROLLBACK")
                raise
            bind.exec_driver_sql("COMMIT")
        finally:
            bind.exec_driver_sql("PRAGMA foreign_keys=ON")


def _tables() -> dict[str, list[str]]:
    tables: dict[str, list[str]] = {}
    for table, column in VOCABULARIES:
        tables.setdefault(table, []).append(column)
    return tables


def upgrade() -> None:
    _refuse_unknown_words()
    with _foreign_keys_off_on_sqlite():
        for table, columns in _tables().items():
            with op.batch_alter_table(table, schema=None) as batch_op:
                for column in columns:
                    batch_op.create_check_constraint(
                        op.f(f"ck_{table}_{column}"),
                        f"{column} IN ({_listed(VOCABULARIES[table, column])})",
                    )


def downgrade() -> None:
    with _foreign_keys_off_on_sqlite():
        for table, columns in _tables().items():
            with op.batch_alter_table(table, schema=None) as batch_op:
                for column in reversed(columns):
                    batch_op.drop_constraint(op.f(f"ck_{table}_{column}"), type_="check")
