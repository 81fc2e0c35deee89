"""Fixtures for designer notifications: the default mailer is a real SMTP server (STARTTLS
and AUTH), and the app's clock is the test's."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from proofdesk.db import set_clock
from tests.mailserver import smtp_settings, start_server


@pytest.fixture
def server(tmp_path):
    srv = start_server(tmp_path, mode="starttls")
    yield srv
    srv.stop()


@pytest.fixture
def app(make_app, server):
    return make_app(**smtp_settings(server), STUDIO_TIMEZONE="Europe/Berlin")


@dataclass
class Clock:
    now: dt.datetime

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@pytest.fixture
def clock() -> Iterator[Clock]:
    """The app's time, moved by the test: Monday 7 December 2026, 10:00 UTC (11:00 in Berlin)."""
    clock = Clock(dt.datetime(2026, 12, 7, 10, 0, tzinfo=dt.UTC))
    set_clock(lambda: clock.now)
    yield clock
    set_clock(None)
