"""The settings: one frozen, typed object, read from the environment in config.py alone."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from proofdesk.config import ConfigError, Settings, from_environment, log_level, settings
from proofdesk.mail import SmtpSecurity

ROOT = Path(__file__).resolve().parent.parent


def test_settings_are_frozen(tmp_path):
    values = from_environment({"INSTANCE_PATH": str(tmp_path)})
    with pytest.raises(dataclasses.FrozenInstanceError):
        values.port = 9000  # type: ignore[misc]
    with pytest.raises(TypeError):
        values["PORT"] = 9000  # type: ignore[index]
    assert isinstance(values.smtp_encryption_keys, tuple)  # nothing inside changes either
    assert hash(values) == hash(from_environment({"INSTANCE_PATH": str(tmp_path)}))


def test_settings_are_typed(tmp_path):
    values = from_environment(
        {
            "INSTANCE_PATH": str(tmp_path),
            "PORT": "9001",
            "SMTP_SECURITY": "SSL",
            "CUSTOMER_LOGIN_ENABLED": "yes",
            "S3_ENDPOINT_URL": "",
        }
    )
    assert values.port == 9001 and values.smtp_port == 465
    assert values.smtp_security is SmtpSecurity.SSL
    assert values.customer_login_enabled is True
    assert values.s3_endpoint_url is None
    assert values.proofdesk_env == "development"
    with pytest.raises(TypeError, match="PORT must be int"):
        dataclasses.replace(values, port="9001")


def test_the_settings_are_also_the_flask_config_names(tmp_path):
    values = from_environment({"INSTANCE_PATH": str(tmp_path), "BASE_URL": "https://a.test/"})
    assert values["BASE_URL"] == values.base_url == "https://a.test"
    assert values["SESSION_COOKIE_SECURE"] is True
    assert set(values) == {field.name.upper() for field in dataclasses.fields(Settings)}
    with pytest.raises(KeyError):
        values["base_url"]


def test_the_app_keeps_its_settings_and_fills_flask_config_from_them(app):
    assert app.config["SECRET_KEY"] == settings(app).secret_key
    assert app.config["MAX_CONTENT_LENGTH"] == settings(app).max_content_length
    with app.app_context():
        assert settings() is app.extensions["settings"]


def test_host_log_level_and_home_are_settings_too(tmp_path):
    values = from_environment(
        {
            "PROOFDESK_HOME": str(tmp_path),
            "HOST": "0.0.0.0",
            "LOG_LEVEL": "WARNING",
        }
    )
    assert (values.host, values.log_level) == ("0.0.0.0", "WARNING")
    assert values.proofdesk_home == str(tmp_path.resolve())
    assert values.instance_path == str(tmp_path.resolve() / "instance")
    defaults = from_environment({"INSTANCE_PATH": str(tmp_path)})
    assert (defaults.host, defaults.log_level) == ("127.0.0.1", "INFO")


def test_an_unknown_log_level_is_refused_with_a_message():
    assert log_level({"LOG_LEVEL": "DEBUG"}) == "DEBUG"
    with pytest.raises(ConfigError, match="LOG_LEVEL must be one of .*INFO.*, got 'loud'"):
        log_level({"LOG_LEVEL": "loud"})


def test_only_config_reads_the_environment():
    """Every setting is read in config.py, so that it is typed, checked and documented once."""
    readers = sorted(
        str(path.relative_to(ROOT))
        for path in (ROOT / "src/proofdesk").rglob("*.py")
        if path.name != "config.py" and re.search(r"os\.environ|os\.getenv", path.read_text())
    )
    assert readers == []


def test_designer_notification_settings_default_and_refuse_with_a_message(tmp_path):
    base = {"INSTANCE_PATH": str(tmp_path)}
    defaults = from_environment(base)
    assert (defaults.comment_batch_minutes, defaults.studio_timezone) == (10, "UTC")
    chosen = from_environment(
        {**base, "COMMENT_BATCH_MINUTES": "3", "STUDIO_TIMEZONE": "America/Chicago"}
    )
    assert (chosen.comment_batch_minutes, chosen.studio_timezone) == (3, "America/Chicago")
    with pytest.raises(ConfigError, match="COMMENT_BATCH_MINUTES must be at least 1, got 0"):
        from_environment({**base, "COMMENT_BATCH_MINUTES": "0"})
    for zone in ("Mars/Olympus", "../../etc/passwd"):
        with pytest.raises(ConfigError, match="STUDIO_TIMEZONE must be a time zone name"):
            from_environment({**base, "STUDIO_TIMEZONE": zone})


def test_reminder_settings_default_and_refuse_with_a_message(tmp_path):
    base = {"INSTANCE_PATH": str(tmp_path)}
    defaults = from_environment(base)
    assert (defaults.reminder_days, defaults.reminder_hour) == ((-2, 0, 2), 9)
    assert defaults.reminder_cooldown_minutes == 15
    assert from_environment({**base, "REMINDER_DAYS": " 3,-1 , 0"}).reminder_days == (-1, 0, 3)
    assert from_environment({**base, "REMINDER_DAYS": ""}).reminder_days == ()
    for days, message in [
        ("soon", "REMINDER_DAYS: 'soon' is not a number of days"),
        ("-31", "REMINDER_DAYS: -31 is too far from the due date"),
        ("1,2,3,4,5,6", "REMINDER_DAYS: At most 5 reminders per proof."),
    ]:
        with pytest.raises(ConfigError, match=message):
            from_environment({**base, "REMINDER_DAYS": days})
    with pytest.raises(ConfigError, match="REMINDER_HOUR must be an hour from 0 to 23, got 24"):
        from_environment({**base, "REMINDER_HOUR": "24"})
