"""Fixtures for designer notifications: the default mailer is a real SMTP server (STARTTLS
and AUTH), in a studio in Berlin."""

from __future__ import annotations

import pytest

from tests.mailserver import smtp_settings, start_server


@pytest.fixture
def server(tmp_path):
    srv = start_server(tmp_path, mode="starttls")
    yield srv
    srv.stop()


@pytest.fixture
def app(make_app, server):
    return make_app(**smtp_settings(server), STUDIO_TIMEZONE="Europe/Berlin")
