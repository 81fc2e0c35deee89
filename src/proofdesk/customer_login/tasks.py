"""Worker task: answer customers' "forgot password" requests."""

from __future__ import annotations

from flask import Flask

from proofdesk.customer_login import resets
from proofdesk.tokens import TokenSettings


def answer_reset_requests(app: Flask) -> bool:
    """Mail reset links for recorded requests; True if there were any."""
    session = app.extensions["db_sessionmaker"]()
    try:
        settings = TokenSettings.from_config(app.config)
        return resets.answer_reset_requests(session, settings=settings) > 0
    finally:
        session.close()
