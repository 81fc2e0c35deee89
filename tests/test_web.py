"""Security headers on every response, error pages without stack traces, configuration."""

from __future__ import annotations

import pytest

from proofdesk.config import ConfigError, from_environment
from tests.conftest import login, png_bytes


def assert_security_headers(response):
    csp = response.headers["Content-Security-Policy"]
    for directive in ("object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"):
        assert directive in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"]


@pytest.mark.parametrize("path", ["/login", "/nowhere", "/static/app.css", "/s/unknown", "/proofs"])
def test_every_response_carries_security_headers(client, path):
    with client.get(path) as response:
        assert_security_headers(response)


def test_unexpected_errors_show_a_plain_page(app, client, factory, monkeypatch):
    login(client, factory.user())

    def broken(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr("proofdesk.proofs.services.list_proofs", broken)
    monkeypatch.setattr("proofdesk.proofs.views.services.list_proofs", broken)
    response = client.get("/proofs")
    page = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Something went wrong" in page and "secret internals" not in page
    assert "Traceback" not in page
    assert_security_headers(response)


def test_a_database_error_shows_the_plain_error_page(app, client, factory, monkeypatch):
    import sqlalchemy as sa

    from proofdesk.db import get_session

    login(client, factory.user(name="Nav Name"))

    def broken(session, **kwargs):
        get_session().execute(sa.text("SELECT * FROM no_such_table"))

    monkeypatch.setattr("proofdesk.proofs.views.services.list_proofs", broken)
    response = client.get("/proofs")
    page = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Something went wrong" in page and "no_such_table" not in page
    assert "Nav Name" in page
    assert client.get("/customers").status_code == 200  # the next request is fine


def test_session_cookie_flags(make_app, factory):
    app = make_app()
    client = app.test_client()
    login(client, factory.user())
    cookie = client.get_cookie("session")
    assert cookie.http_only and cookie.same_site == "Lax" and cookie.secure  # https BASE_URL


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    with pytest.raises(ConfigError, match="SECRET_KEY is not set"):
        from_environment({"PROOFDESK_ENV": "production", "INSTANCE_PATH": str(tmp_path)})
    with pytest.raises(ConfigError, match="too short"):
        from_environment(
            {"PROOFDESK_ENV": "production", "SECRET_KEY": "abc", "INSTANCE_PATH": str(tmp_path)}
        )


def test_development_makes_a_random_key_and_keeps_it(tmp_path):
    first = from_environment({"INSTANCE_PATH": str(tmp_path)})["SECRET_KEY"]
    second = from_environment({"INSTANCE_PATH": str(tmp_path)})["SECRET_KEY"]
    assert first == second and len(first) >= 48
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    assert from_environment({"INSTANCE_PATH": str(tmp_path / "other")})["SECRET_KEY"] != first


def test_defaults_and_flags(tmp_path):
    values = from_environment({"INSTANCE_PATH": str(tmp_path)})
    assert values["DATABASE_URL"] == f"sqlite:///{tmp_path / 'proofdesk.sqlite3'}"
    assert values["BASE_URL"] == "http://127.0.0.1:8000"
    assert values["LEGACY_PUBLIC_LINKS_ENABLED"] is True
    assert values["CUSTOMER_LOGIN_ENABLED"] is False
    assert values["UPLOAD_FOLDER"] == str(tmp_path / "uploads")
    values = from_environment(
        {"INSTANCE_PATH": str(tmp_path), "PORT": "9001", "LEGACY_PUBLIC_LINKS_ENABLED": "false"}
    )
    assert values["BASE_URL"] == "http://127.0.0.1:9001"
    assert values["LEGACY_PUBLIC_LINKS_ENABLED"] is False
    with pytest.raises(ConfigError, match="true or false"):
        from_environment({"INSTANCE_PATH": str(tmp_path), "CUSTOMER_LOGIN_ENABLED": "maybe"})


def test_links_use_base_url_not_the_host_header(app, factory, db_session):
    import sqlalchemy as sa

    from proofdesk.review.models import ShareLink
    from proofdesk.review.services import share_url

    factory.proof(factory.user())
    link = db_session.scalar(sa.select(ShareLink))
    with app.test_request_context("/", headers={"Host": "evil.test"}):
        assert share_url(link).startswith("https://proofs.example.test/s/")


def test_rate_limits_are_counted_in_the_database_unless_another_store_is_named(tmp_path):
    base = {"INSTANCE_PATH": str(tmp_path)}
    for value in (None, "", "database", " database "):
        env = base if value is None else {**base, "RATELIMIT_STORAGE_URI": value}
        assert from_environment(env)["RATELIMIT_STORAGE_URI"] == "database://"
    for value in ("redis://127.0.0.1:6379/0", "memory://"):
        env = {**base, "RATELIMIT_STORAGE_URI": value}
        assert from_environment(env)["RATELIMIT_STORAGE_URI"] == value
    with pytest.raises(ConfigError, match="RATELIMIT_STORAGE_URI must be empty"):
        from_environment({**base, "RATELIMIT_STORAGE_URI": "postgresql"})


def test_per_process_rate_limits_are_warned_about(make_app, caplog):
    make_app(RATELIMIT_STORAGE_URI="memory://")
    assert "each app server process counts login failures on its own" in caplog.text
    caplog.clear()
    make_app()
    assert "RATELIMIT_STORAGE_URI" not in caplog.text


@pytest.mark.parametrize("mailbox", [None, "./instance/mailbox"])
def test_production_copied_from_env_example_never_writes_mail_to_a_folder(
    make_app, factory, db_session, tmp_path, monkeypatch, caplog, mailbox
):
    """An operator copies .env.example, sets production and the secrets, and no SMTP_HOST:
    mail stays queued as "Not configured" and no .eml file is written anywhere. (None: the
    file as shipped; a folder: a copy of an older .env.example, which set one.)"""
    import sqlalchemy as sa
    from dotenv import dotenv_values

    from proofdesk.notifications.models import CustomerNotification
    from proofdesk.worker import run_once
    from tests.conftest import ROOT, TEST_SMTP_KEY
    from tests.proofs.test_views import upload

    settings = {k: v or "" for k, v in dotenv_values(ROOT / ".env.example").items()}
    assert settings.pop("DATABASE_URL") == ""  # the test's database instead
    if mailbox is not None:
        settings["MAIL_MAILBOX_DIR"] = mailbox
    settings.update(
        PROOFDESK_ENV="production", SECRET_KEY="s3cret-" * 8, SMTP_ENCRYPTION_KEYS=TEST_SMTP_KEY
    )
    monkeypatch.chdir(tmp_path)  # the file's relative folders (./instance/…) land here
    app = make_app(**settings)
    assert not app.config["SMTP_HOST"]
    client = app.test_client()
    login(client, factory.user())
    response = upload(client, factory.customer(email="q@client.test").id, png_bytes(), notify="y")
    assert response.status_code == 302
    run_once(app)
    note = db_session.scalar(sa.select(CustomerNotification))
    assert note.status == "queued"
    assert note.last_error.startswith("Not configured: ")
    assert "Not configured" in client.get(f"/proofs/{note.proof_id}").get_data(as_text=True)
    assert list(tmp_path.rglob("*.eml")) == []
    if mailbox:
        assert "MAIL_MAILBOX_DIR is ignored in production" in caplog.text
