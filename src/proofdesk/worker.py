"""The worker: sends queued mail and renders the remaining pages of new versions."""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Callable

from flask import Flask

from proofdesk.customer_login.tasks import answer_reset_requests
from proofdesk.notifications.tasks import send_due, send_due_to_staff
from proofdesk.proofs.render_process import RenderLimits
from proofdesk.proofs.services import RenderFailed, claim_render_job, render_next_pages
from proofdesk.storage import get_storage

log = logging.getLogger(__name__)


def render_one(app: Flask) -> bool:
    """Render a few pages of one version; True if there was work."""
    session = app.extensions["db_sessionmaker"]()
    try:
        version = claim_render_job(session)
        if version is None:
            return False
        log.info("rendering %s pages of version %s", version.page_count, version.id)
        try:
            render_next_pages(
                session,
                storage=get_storage(),
                version=version,
                bounds=RenderLimits.from_config(app.config),
            )
        except RenderFailed as exc:
            log.warning("version %s failed to render: %s", version.id, exc)
        session.commit()  # the pages rendered, or the version marked failed: one job done
        return True
    finally:
        session.close()


# Reset requests first: the mail they queue goes out in the same round.
TASKS: list[Callable[[Flask], bool]] = [
    answer_reset_requests,
    send_due,
    send_due_to_staff,
    render_one,
]


def run_once(app: Flask) -> int:
    """Run every task until none has work left; the number of jobs done."""
    done = 0
    with app.app_context():
        while True:
            worked = [task(app) for task in TASKS]  # every task gets a turn each round
            if not any(worked):
                break
            done += sum(worked)
    return done


def run_forever(app: Flask, *, poll_seconds: float = 1.0) -> None:
    stopping = False

    def _stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    log.info("worker started")
    while not stopping:
        try:
            if run_once(app) == 0:
                time.sleep(poll_seconds)
        except Exception:  # noqa: BLE001 - log and keep going (e.g. the database restarted)
            log.exception("worker loop error; retrying shortly")
            time.sleep(poll_seconds * 3)
    log.info("worker stopped")
