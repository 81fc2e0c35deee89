"""Alembic environment: the URL from DATABASE_URL (environment or .env) and nothing else of
Proofdesk's settings (migrating needs no SECRET_KEY), the metadata from its models."""

from __future__ import annotations

from logging.config import fileConfig
from pathlib import Path

from alembic import context

import proofdesk.ratelimit  # noqa: F401 - its table is part of the schema too
from proofdesk import config as settings
from proofdesk.db import make_engine
from proofdesk.models import Base

alembic_config = context.config
if alembic_config.config_file_name is not None and not alembic_config.attributes.get(
    "skip_logging"
):
    fileConfig(alembic_config.config_file_name)

target_metadata = Base.metadata


def database_url() -> str:
    url = alembic_config.attributes.get("database_url")
    if url:
        return str(url)
    url = settings.database_url()
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    return url


def run_migrations_offline() -> None:
    context.configure(
        url=database_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = make_engine(database_url())
    try:
        with engine.connect() as connection:
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                render_as_batch=True,
                compare_type=True,
            )
            with context.begin_transaction():
                context.run_migrations()
    finally:  # also when a migration refuses to run: no connection is left to the collector
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
