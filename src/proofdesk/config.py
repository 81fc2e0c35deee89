"""Settings: every environment variable Proofdesk reads, mapped in one place into one frozen,
typed `Settings`."""

from __future__ import annotations

import dataclasses
import logging
import os
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import load_dotenv

from proofdesk.mail import SmtpSecurity

if TYPE_CHECKING:
    from flask import Flask

log = logging.getLogger(__name__)

MB = 1024 * 1024
DEFAULT_APPROVAL_TERMS = (
    "I have checked spelling, colours, sizes and content, and approve this version for production."
)
DEFAULT_NOTIFY_SUBJECT = "Proof ready for review: {proof_title} (version {version})"
DEFAULT_NOTIFY_BODY = (
    "Hello {customer_name},\n\n"
    "{designer_name} has a proof ready for you to review: {proof_title}, version {version}.\n\n"
    "Look at it, comment, approve it or ask for changes here:\n{link}\n\n"
    "Thank you,\n{designer_name}"
)


class ConfigError(RuntimeError):
    """A setting is missing or wrong; the message says what to set."""


@dataclass(frozen=True, kw_only=True)
class Settings(Mapping[str, Any]):
    """Every setting, typed and read once at start (`from_environment`); code reads the
    attributes (`settings().base_url`). It is also a read-only mapping of the variables'
    names (`settings["BASE_URL"]`), which is how the app's Flask config is filled."""

    proofdesk_home: str
    log_level: str
    host: str
    proofdesk_env: Literal["development", "production"]
    secret_key: str
    instance_path: str
    database_url: str
    base_url: str
    port: int
    max_upload_mb: int
    max_content_length: int
    max_image_megapixels: int
    max_pdf_pages: int
    render_timeout_seconds: int
    render_memory_mb: int
    storage: Literal["local", "s3"]
    upload_folder: str
    s3_bucket: str
    s3_endpoint_url: str | None
    s3_region: str
    s3_access_key_id: str | None
    s3_secret_access_key: str | None
    s3_prefix: str
    legacy_public_links_enabled: bool
    customer_login_enabled: bool
    ratelimit_storage_uri: str
    session_idle_minutes: int
    session_max_hours: int
    trusted_proxies: int
    session_cookie_secure: bool
    smtp_host: str
    smtp_port: int
    smtp_security: SmtpSecurity
    smtp_username: str
    smtp_password: str
    smtp_from: str
    smtp_from_name: str
    smtp_timeout: int
    worker_lease_seconds: int
    smtp_ca_file: str | None
    mail_mailbox_dir: str
    customer_invite_hours: int
    customer_reset_minutes: int
    smtp_encryption_keys: tuple[str, ...]
    smtp_allow_insecure: bool
    smtp_allow_private_hosts: bool
    smtp_test_timeout: int
    approval_terms: str
    customer_notify_default_subject: str
    customer_notify_default_body: str
    comment_batch_minutes: int
    studio_timezone: str
    reminder_days: tuple[int, ...]
    reminder_hour: int
    reminder_cooldown_minutes: int

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):  # the parser's types, checked once
            value = getattr(self, field.name)
            if not isinstance(value, _RUNTIME_TYPES[str(field.type)]):
                raise TypeError(f"{field.name.upper()} must be {field.type}, got {value!r}")

    @classmethod
    def from_keys(cls, values: Mapping[str, Any]) -> Settings:
        return cls(**{name.lower(): value for name, value in values.items()})

    def __getitem__(self, name: str) -> Any:
        if name not in _NAMES:
            raise KeyError(name)
        return getattr(self, name.lower())

    def __iter__(self) -> Iterator[str]:
        return iter(_NAMES)

    def __len__(self) -> int:
        return len(_NAMES)


_NAMES = tuple(field.name.upper() for field in dataclasses.fields(Settings))
_RUNTIME_TYPES: dict[str, type | tuple[type, ...]] = {
    "str": str,
    "int": int,
    "bool": bool,
    "str | None": (str, type(None)),
    "tuple[str, ...]": tuple,
    "tuple[int, ...]": tuple,
    "SmtpSecurity": SmtpSecurity,
    "Literal['development', 'production']": str,
    "Literal['local', 's3']": str,
}


def settings(app: Flask | None = None) -> Settings:
    """The settings of `app`, or of the current app."""
    if app is None:
        from flask import current_app

        app = current_app
    found: Settings = app.extensions["settings"]
    return found


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value.strip() == "":
        return default
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"expected true or false, got {value!r}")


def _int(name: str, value: str | None, default: int) -> int:
    if value is None or value.strip() == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, got {value!r}") from exc


def _positive(name: str, value: str | None, default: int) -> int:
    number = _int(name, value, default)
    if number < 1:
        raise ConfigError(f"{name} must be at least 1, got {number}")
    return number


def project_root(env: Mapping[str, str] | None = None) -> Path:
    """PROOFDESK_HOME, or the current folder: where .env and instance/ are. Read from the
    process's environment (.env cannot say where .env is), or from `env` when given."""
    if env is None:
        env = os.environ
    return Path(env.get("PROOFDESK_HOME") or Path.cwd()).resolve()


def _dev_secret(instance: Path, name: str, make: Any) -> str:
    """A random secret kept in instance/ so that development survives a restart."""
    instance.mkdir(parents=True, exist_ok=True)
    path = instance / name
    if not path.exists():
        path.write_text(make())
        path.chmod(0o600)
    return path.read_text().strip()


def _dev_secret_key(instance: Path) -> str:
    return _dev_secret(instance, "secret_key", lambda: secrets.token_urlsafe(48))


def _smtp_keys(env: dict[str, str], environment: str, instance: Path) -> tuple[str, ...]:
    """Fernet keys for stored SMTP passwords, newest first (MultiFernet)."""
    from cryptography.fernet import Fernet

    raw = env.get("SMTP_ENCRYPTION_KEYS", "").strip()
    if not raw:
        if environment != "development":
            raise ConfigError(
                "SMTP_ENCRYPTION_KEYS is not set: set it to a Fernet key "
                "(./venv/bin/proofdesk rotate-smtp-key --generate prints one)"
            )
        raw = _dev_secret(instance, "smtp_key", lambda: Fernet.generate_key().decode())
    keys = tuple(key.strip() for key in raw.split(",") if key.strip())
    for key in keys:
        try:
            Fernet(key)
        except ValueError as exc:
            raise ConfigError(
                "SMTP_ENCRYPTION_KEYS holds a key that is not a Fernet key "
                "(32 url-safe base64-encoded bytes)"
            ) from exc
    return keys


def _environment() -> dict[str, str]:
    load_dotenv(project_root() / ".env")
    return dict(os.environ)


def _instance(env: dict[str, str]) -> Path:
    return Path(env.get("INSTANCE_PATH") or project_root(env) / "instance").resolve()


def database_url(env: dict[str, str] | None = None) -> str:
    """DATABASE_URL, or the embedded SQLite file under INSTANCE_PATH: all that migrations
    need, so `alembic upgrade head` runs without the secrets the app needs."""
    if env is None:
        env = _environment()
    return env.get("DATABASE_URL") or f"sqlite:///{_instance(env) / 'proofdesk.sqlite3'}"


RATELIMIT_SCHEMES = {
    "database",
    "memory",
    "redis",
    "rediss",
    "redis+unix",
    "redis+sentinel",
    "redis+cluster",
}


def _ratelimit_storage(env: dict[str, str]) -> str:
    """Where rate-limit counts are kept: the app's database unless another store is named."""
    value = (env.get("RATELIMIT_STORAGE_URI") or "").strip()
    if value in {"", "database"}:
        return "database://"
    if value.partition("://")[0] not in RATELIMIT_SCHEMES or "://" not in value:
        raise ConfigError(
            "RATELIMIT_STORAGE_URI must be empty (the app's database), "
            f"redis://host:6379/0 or memory://, got {value!r}"
        )
    return value


# The names the logging module knows (DEBUG, INFO, WARNING, ERROR, CRITICAL and aliases).
LOG_LEVELS = tuple(logging.getLevelNamesMapping())


def log_level(env: dict[str, str] | None = None) -> str:
    """LOG_LEVEL: what the `proofdesk` command logs, set before anything else is read."""
    if env is None:
        env = _environment()
    level = (env.get("LOG_LEVEL") or "INFO").strip()
    if level not in LOG_LEVELS:
        raise ConfigError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {level!r}")
    return level


def from_environment(env: dict[str, str] | None = None) -> Settings:
    """Read the settings from the environment (and .env), or from a plain dict (tests)."""
    if env is None:
        env = _environment()
    instance = _instance(env)
    environment = env.get("PROOFDESK_ENV", "development").strip().lower()
    if environment not in {"development", "production"}:
        raise ConfigError("PROOFDESK_ENV must be development or production")
    secret_key = env.get("SECRET_KEY", "").strip()
    if not secret_key:
        if environment != "development":
            raise ConfigError(
                "SECRET_KEY is not set: set it to a long random string "
                "(python -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )
        secret_key = _dev_secret_key(instance)
    elif len(secret_key) < 32:
        raise ConfigError("SECRET_KEY is too short: use at least 32 random characters")
    port = _int("PORT", env.get("PORT"), 8000)
    base_url = (env.get("BASE_URL") or f"http://127.0.0.1:{port}").rstrip("/")
    if not base_url.startswith(("http://", "https://")):
        raise ConfigError("BASE_URL must start with http:// or https://")
    max_upload_mb = _int("MAX_UPLOAD_MB", env.get("MAX_UPLOAD_MB"), 100)
    storage = env.get("STORAGE", "local").strip().lower()
    if storage not in {"local", "s3"}:
        raise ConfigError("STORAGE must be local or s3")
    if storage == "s3" and not env.get("S3_BUCKET"):
        raise ConfigError("STORAGE=s3 needs S3_BUCKET")
    values: dict[str, Any] = {
        "PROOFDESK_HOME": str(project_root(env)),
        "LOG_LEVEL": log_level(env),
        "HOST": (env.get("HOST") or "127.0.0.1").strip(),
        "PROOFDESK_ENV": environment,
        "SECRET_KEY": secret_key,
        "INSTANCE_PATH": str(instance),
        "DATABASE_URL": database_url(env),
        "BASE_URL": base_url,
        "PORT": port,
        "MAX_UPLOAD_MB": max_upload_mb,
        "MAX_CONTENT_LENGTH": max_upload_mb * MB + MB,  # room for the form fields
        "MAX_IMAGE_MEGAPIXELS": _int("MAX_IMAGE_MEGAPIXELS", env.get("MAX_IMAGE_MEGAPIXELS"), 50),
        "MAX_PDF_PAGES": _int("MAX_PDF_PAGES", env.get("MAX_PDF_PAGES"), 500),
        "RENDER_TIMEOUT_SECONDS": _positive(
            "RENDER_TIMEOUT_SECONDS", env.get("RENDER_TIMEOUT_SECONDS"), 30
        ),
        "RENDER_MEMORY_MB": _positive("RENDER_MEMORY_MB", env.get("RENDER_MEMORY_MB"), 1024),
        "STORAGE": storage,
        "UPLOAD_FOLDER": env.get("UPLOAD_FOLDER") or str(instance / "uploads"),
        "S3_BUCKET": env.get("S3_BUCKET", ""),
        "S3_ENDPOINT_URL": env.get("S3_ENDPOINT_URL") or None,
        "S3_REGION": env.get("S3_REGION", "us-east-1"),
        "S3_ACCESS_KEY_ID": env.get("S3_ACCESS_KEY_ID") or None,
        "S3_SECRET_ACCESS_KEY": env.get("S3_SECRET_ACCESS_KEY") or None,
        "S3_PREFIX": env.get("S3_PREFIX", ""),
        "LEGACY_PUBLIC_LINKS_ENABLED": _bool(env.get("LEGACY_PUBLIC_LINKS_ENABLED"), True),
        "CUSTOMER_LOGIN_ENABLED": _bool(env.get("CUSTOMER_LOGIN_ENABLED"), False),
        "RATELIMIT_STORAGE_URI": _ratelimit_storage(env),
        "SESSION_IDLE_MINUTES": _int("SESSION_IDLE_MINUTES", env.get("SESSION_IDLE_MINUTES"), 120),
        "SESSION_MAX_HOURS": _int("SESSION_MAX_HOURS", env.get("SESSION_MAX_HOURS"), 24 * 7),
        "TRUSTED_PROXIES": _int("TRUSTED_PROXIES", env.get("TRUSTED_PROXIES"), 0),
        "SESSION_COOKIE_SECURE": base_url.startswith("https://"),
        **_mail_settings(env, environment, instance, base_url),
        "SMTP_ENCRYPTION_KEYS": _smtp_keys(env, environment, instance),
        "SMTP_ALLOW_INSECURE": _bool(env.get("SMTP_ALLOW_INSECURE"), False),
        "SMTP_ALLOW_PRIVATE_HOSTS": _bool(env.get("SMTP_ALLOW_PRIVATE_HOSTS"), False),
        "SMTP_TEST_TIMEOUT": _int("SMTP_TEST_TIMEOUT", env.get("SMTP_TEST_TIMEOUT"), 15),
        "APPROVAL_TERMS": env.get("APPROVAL_TERMS") or DEFAULT_APPROVAL_TERMS,
        "CUSTOMER_NOTIFY_DEFAULT_SUBJECT": env.get("CUSTOMER_NOTIFY_DEFAULT_SUBJECT")
        or DEFAULT_NOTIFY_SUBJECT,
        "CUSTOMER_NOTIFY_DEFAULT_BODY": (
            env.get("CUSTOMER_NOTIFY_DEFAULT_BODY") or DEFAULT_NOTIFY_BODY
        ).replace("\\n", "\n"),
        "COMMENT_BATCH_MINUTES": _positive(
            "COMMENT_BATCH_MINUTES", env.get("COMMENT_BATCH_MINUTES"), 10
        ),
        "STUDIO_TIMEZONE": _time_zone(env.get("STUDIO_TIMEZONE")),
        "REMINDER_DAYS": _reminder_days(env.get("REMINDER_DAYS")),
        "REMINDER_HOUR": _hour("REMINDER_HOUR", env.get("REMINDER_HOUR"), 9),
        "REMINDER_COOLDOWN_MINUTES": _positive(
            "REMINDER_COOLDOWN_MINUTES", env.get("REMINDER_COOLDOWN_MINUTES"), 15
        ),
    }
    return Settings.from_keys(values)


MAX_REMINDERS = 5  # automatic reminders per proof, at most
REMINDER_DAY_RANGE = 30  # days before or after the due date


def parse_reminder_days(text: str) -> tuple[int, ...]:
    """When to remind the customer, in days from the due date ("-2, 0, 2": two days before, on
    the day, two days after), sorted; empty: never. ValueError says what is wrong."""
    words = text.replace(",", " ").split()
    days: set[int] = set()
    for word in words:
        try:
            day = int(word)
        except ValueError:
            raise ValueError(
                f"{word!r} is not a number of days: write e.g. -2, 0, 2 (before, on, after "
                "the due date)"
            ) from None
        if abs(day) > REMINDER_DAY_RANGE:
            raise ValueError(
                f"{day} is too far from the due date: use days from -{REMINDER_DAY_RANGE} "
                f"to {REMINDER_DAY_RANGE}"
            )
        days.add(day)
    if len(days) > MAX_REMINDERS:
        raise ValueError(f"At most {MAX_REMINDERS} reminders per proof.")
    return tuple(sorted(days))


def _reminder_days(value: str | None) -> tuple[int, ...]:
    """REMINDER_DAYS: the studio's default reminders (each proof may have its own)."""
    try:
        return parse_reminder_days("-2, 0, 2" if value is None else value)
    except ValueError as exc:
        raise ConfigError(f"REMINDER_DAYS: {exc}") from exc


def _hour(name: str, value: str | None, default: int) -> int:
    hour = _int(name, value, default)
    if not 0 <= hour <= 23:
        raise ConfigError(f"{name} must be an hour from 0 to 23, got {hour}")
    return hour


def _time_zone(value: str | None) -> str:
    """STUDIO_TIMEZONE: where the studio is (daily digests go out at its hours)."""
    name = (value or "").strip() or "UTC"
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(
            f"STUDIO_TIMEZONE must be a time zone name such as Europe/Berlin, got {name!r}"
        ) from exc
    return name


def _lease(env: dict[str, str], *, timeout: int) -> int:
    """How long a worker holds a claimed notification; a send must fit in it, or another
    worker could send the same message again."""
    lease = _int("WORKER_LEASE_SECONDS", env.get("WORKER_LEASE_SECONDS"), 120)
    if lease < 2 * timeout:
        raise ConfigError(
            f"WORKER_LEASE_SECONDS ({lease}) must be at least twice SMTP_TIMEOUT ({timeout})"
        )
    return lease


def _mail_settings(
    env: dict[str, str], environment: str, instance: Path, base_url: str
) -> dict[str, Any]:
    word = env.get("SMTP_SECURITY", "starttls").strip().lower() or "starttls"
    if word not in tuple(SmtpSecurity):
        raise ConfigError("SMTP_SECURITY must be starttls, ssl or none")
    security = SmtpSecurity(word)
    host = (env.get("SMTP_HOST") or "").strip()
    default_port = {SmtpSecurity.STARTTLS: 587, SmtpSecurity.SSL: 465, SmtpSecurity.NONE: 25}[
        security
    ]
    mailbox = (env.get("MAIL_MAILBOX_DIR") or "").strip()
    if environment != "development":
        # Production never "sends" into a folder: without SMTP_HOST mail stays queued.
        if mailbox:
            log.warning(
                "MAIL_MAILBOX_DIR is ignored in production; mail is only sent "
                'through SMTP_HOST, and stays queued ("Not configured") until it '
                "is set"
            )
        mailbox = ""
    elif not mailbox:
        mailbox = str(instance / "mailbox")
    domain = base_url.split("://", 1)[1].split("/", 1)[0].split(":", 1)[0]
    return {
        "SMTP_HOST": host,
        "SMTP_PORT": _int("SMTP_PORT", env.get("SMTP_PORT"), default_port),
        "SMTP_SECURITY": security,
        "SMTP_USERNAME": env.get("SMTP_USERNAME", ""),
        "SMTP_PASSWORD": env.get("SMTP_PASSWORD", ""),
        "SMTP_FROM": env.get("SMTP_FROM") or f"proofdesk@{domain}",
        "SMTP_FROM_NAME": env.get("SMTP_FROM_NAME", "Proofdesk"),
        "SMTP_TIMEOUT": _int("SMTP_TIMEOUT", env.get("SMTP_TIMEOUT"), 30),
        "WORKER_LEASE_SECONDS": _lease(
            env, timeout=_int("SMTP_TIMEOUT", env.get("SMTP_TIMEOUT"), 30)
        ),
        "SMTP_CA_FILE": env.get("SMTP_CA_FILE") or None,
        "MAIL_MAILBOX_DIR": mailbox,
        "CUSTOMER_INVITE_HOURS": _int(
            "CUSTOMER_INVITE_HOURS", env.get("CUSTOMER_INVITE_HOURS"), 72
        ),
        "CUSTOMER_RESET_MINUTES": _int(
            "CUSTOMER_RESET_MINUTES", env.get("CUSTOMER_RESET_MINUTES"), 60
        ),
    }
