"""Alembic environment: the URL from Proofdesk's settings, the metadata from its models."""

from __future__ import annotations

from logging.config import fileConfig
from pathlib import Path

from alembic import context

from proofdesk import config as settings
from proofdesk.db import make_engine
from proofdesk.models import Base

alembic_config = context.config
if alembic_config.config_file_name is not None and not alembic_config.attributes.get(
        "skip_logging"):
    fileConfig(alembic_config.config_file_name)

target_metadata = Base.metadata


def database_url() -> str:
    url = alembic_config.attributes.get("database_url")
    if url:
        return str(url)
    values = settings.from_environment()
    if values["DATABASE_URL"].startswith("sqlite:///"):
        Path(values["DATABASE_URL"].removeprefix("sqlite:///")).parent.mkdir(
            parents=True, exist_ok=True)
    return str(values["DATABASE_URL"])


def run_migrations_offline() -> None:
    context.configure(url=database_url(), target_metadata=target_metadata,
                      literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = make_engine(database_url())
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata,
                          render_as_batch=True, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
