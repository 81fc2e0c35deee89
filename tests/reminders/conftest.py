"""Fixtures for reminders: the same studio as the designer notifications' tests (a real SMTP
server with STARTTLS and AUTH as the default mailer, in Berlin)."""

from __future__ import annotations

from tests.designer_notifications.conftest import app, server

__all__ = ["app", "server"]
