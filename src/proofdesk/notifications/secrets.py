"""SMTP passwords at rest: Fernet under keys from the environment, newest key first."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy.orm import Session


def cipher(keys: Sequence[str]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


def encrypt(keys: Sequence[str], password: str) -> str:
    return cipher(keys).encrypt(password.encode()).decode()


class UnreadablePassword(Exception):
    """The stored password was encrypted under a key that is no longer configured."""


def decrypt(keys: Sequence[str], token: str) -> str:
    try:
        return cipher(keys).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise UnreadablePassword(
            "the stored SMTP password cannot be decrypted with SMTP_ENCRYPTION_KEYS; enter it again"
        ) from exc


def rotate_all(session: Session, keys: Sequence[str]) -> int:
    """Re-encrypt every stored SMTP password under the first (newest) key."""
    from proofdesk.notifications.models import SmtpSettings

    multi = cipher(keys)
    count = 0
    for settings in session.scalars(
        sa.select(SmtpSettings)
        .where(SmtpSettings.password_encrypted.is_not(None))
        .with_for_update()
    ):
        assert settings.password_encrypted is not None
        settings.password_encrypted = multi.rotate(settings.password_encrypted.encode()).decode()
        count += 1
    return count
