"""Steps shared by the notification tests: a designer with their own SMTP server."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.conftest import csrf_token
from tests.mailserver import PASSWORD, USERNAME, SmtpServer


def smtp_form(
    server: SmtpServer, *, password: str = PASSWORD, mode: str = "starttls", **overrides: str
) -> dict[str, str]:
    data = {
        "smtp-host": "localhost",
        "smtp-port": str(server.port),
        "smtp-security": mode,
        "smtp-username": USERNAME,
        "smtp-password": password,
        "smtp-from_name": "Studio Nord",
        "smtp-from_address": "hello@studio-nord.test",
        "smtp-reply_to": "desk@studio-nord.test",
    }
    data.update(overrides)
    return data


def save_own_smtp(client: FlaskClient, data: dict[str, str]):
    return client.post(
        "/account/email",
        data={**data, "smtp-csrf_token": csrf_token_prefixed(client, "/account/email", "smtp")},
    )


def csrf_token_prefixed(client: FlaskClient, path: str, prefix: str) -> str:
    import re

    page = client.get(path).get_data(as_text=True)
    match = re.search(rf'name="{prefix}-csrf_token" type="hidden" value="([^"]+)"', page)
    assert match, f"no {prefix} CSRF token on {path}"
    return match.group(1)


def send_test(client: FlaskClient, path: str, to: str = "me@studio-nord.test"):
    token = csrf_token_prefixed(client, "/account/email", "test")
    return client.post(path, data={"test-to": to, "test-csrf_token": token})


__all__ = ["csrf_token", "save_own_smtp", "send_test", "smtp_form"]
