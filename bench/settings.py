"""The settings every process of one bench run shares: production mode, fresh secrets, the
database of the size being measured."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.fernet import Fernet

from bench.procs import python_env
from bench.seed import sqlalchemy_url


@dataclass(frozen=True)
class BenchSettings:
    instance: Path
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(48))
    smtp_key: str = field(default_factory=lambda: Fernet.generate_key().decode())

    def env(self, database: str, **extra: str) -> dict[str, str]:
        """Environment variables for gunicorn, a worker or alembic on this database."""
        return {**python_env(), **self.app_config(database), **extra}

    def app_config(self, database: str) -> dict[str, str]:
        """The same settings as a plain dict, for create_app in this process."""
        return {
            "PROOFDESK_ENV": "production",
            "SECRET_KEY": self.secret_key,
            "SMTP_ENCRYPTION_KEYS": self.smtp_key,
            "DATABASE_URL": sqlalchemy_url(database),
            "INSTANCE_PATH": str(self.instance),
            "UPLOAD_FOLDER": str(self.instance / "uploads"),
            "CUSTOMER_LOGIN_ENABLED": "true",
            "LEGACY_PUBLIC_LINKS_ENABLED": "true",
            "BASE_URL": "http://127.0.0.1:8000",
            "LOG_LEVEL": "WARNING",
        }
