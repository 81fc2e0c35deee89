"""The one token helper: random tokens, their stored SHA-256, derived tokens and their settings."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from base64 import urlsafe_b64encode
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


def new_token() -> str:
    """256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def derive_token(secret_key: str, purpose: str, nonce: str) -> str:
    """A token computed from the app's secret and a stored nonce (never stored itself)."""
    digest = hmac.new(secret_key.encode(), f"{purpose}:{nonce}".encode(), hashlib.sha256)
    return urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()


def stored_link_token(secret_key: str, purpose: str, nonce: str, token_hash: str) -> str | None:
    """The token of a stored link, derived again from its nonce; None when SECRET_KEY changed
    since the link was made (the old token still matches its stored hash, but it can no
    longer be computed, so the link cannot be shown or mailed)."""
    token = derive_token(secret_key, purpose, nonce)
    return token if hash_token(token) == token_hash else None


@dataclass(frozen=True)
class TokenSettings:
    """What the links in login mails are made from: the secret, the site, how long they work."""

    secret_key: str
    base_url: str
    invite_hours: int = 72
    reset_minutes: int = 60

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> TokenSettings:
        return cls(
            secret_key=str(config["SECRET_KEY"]),
            base_url=str(config["BASE_URL"]),
            invite_hours=int(config["CUSTOMER_INVITE_HOURS"]),
            reset_minutes=int(config["CUSTOMER_RESET_MINUTES"]),
        )


def token_of(settings: TokenSettings, purpose: str, nonce: str) -> str:
    """The token of a stored link (an invite, a reset) for `purpose`, from its nonce."""
    return derive_token(settings.secret_key, purpose, nonce)
