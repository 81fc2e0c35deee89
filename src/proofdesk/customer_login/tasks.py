"""Worker task: answer customers' "forgot password" requests."""

from __future__ import annotations

from flask import Flask

from proofdesk.customer_login import resets
from proofdesk.tokens import TokenSettings


def answer_reset_requests(app: Flask) -> bool:
    """Mail reset links for recorded requests, each request in a transaction of its own; True
    if this worker took any."""
    session = app.extensions["db_sessionmaker"]()
    try:
        settings = TokenSettings.from_config(app.config)
        waiting = resets.waiting_reset_requests(session)
        session.commit()  # only read: each request is taken below, in a transaction of its own
        taken = 0
        for request in waiting:
            if resets.answer_reset_request(session, request=request, settings=settings):
                session.commit()
                taken += 1
            else:
                session.rollback()  # another worker took it
        return taken > 0
    finally:
        session.close()
