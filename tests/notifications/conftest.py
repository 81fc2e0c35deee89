"""Fixtures for the notification tests: a STARTTLS+AUTH SMTP server the app may reach."""

from __future__ import annotations

import pytest

from tests.mailserver import start_server


@pytest.fixture
def server(tmp_path):
    srv = start_server(tmp_path, mode="starttls")
    yield srv
    srv.stop()


@pytest.fixture
def app(make_app, server):
    return make_app(SMTP_ALLOW_PRIVATE_HOSTS="true", SMTP_CA_FILE=server.cafile)
