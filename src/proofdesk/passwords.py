"""Password hashing (argon2id) and the password rules from SECURITY.md."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from proofdesk.errors import ServiceError

MIN_LENGTH = 8
MAX_LENGTH = 1024

_hasher = PasswordHasher()

# The most common passwords of at least 8 characters (from public breach lists).
COMMON_PASSWORDS = frozenset(
    """
    password 12345678 123456789 1234567890 qwertyuiop 11111111 00000000 password1
    iloveyou sunshine princess football baseball welcome1 welcome123 abc12345
    passw0rd password123 qwerty123 1q2w3e4r 1qaz2wsx letmein1 trustno1 superman
    starwars whatever dragon123 monkey123 shadow12 michael1 jennifer 88888888
    87654321 12341234 123123123 1234qwer qwer1234 asdfghjk zaq12wsx changeme
    administrator admin123 admin1234 proofdesk password! p@ssw0rd
    """.split()
)


def password_problem(password: str) -> str | None:
    """Why a new password is not acceptable, or None."""
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return f"Use at most {MAX_LENGTH} characters."
    if password.lower() in COMMON_PASSWORDS:
        return "This password is too common; choose another."
    return None


def require_good_password(password: str, field: str = "password") -> None:
    """A ServiceError on `field` saying what is wrong with a new password, if anything."""
    problem = password_problem(password)
    if problem:
        raise ServiceError(problem, field)


def check_password_change(password_hash: str, *, current: str, new: str) -> None:
    """Changing one's own password (staff or customer): the current one must be right and
    the new one acceptable."""
    if not verify_password(password_hash, current):
        raise ServiceError("Your current password is not right.", "current_password")
    require_good_password(new, "new_password")


def hash_password(password: str) -> str:
    return _hasher.hash(password[:MAX_LENGTH])


# Hashing a throwaway keeps the time of "unknown email" close to that of a wrong password.
_DUMMY_HASH = _hasher.hash("proofdesk-dummy-password")


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password[:MAX_LENGTH]) and bool(
            password_hash
        )
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)
