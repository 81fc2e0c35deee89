"""The worker's claim on queued rows (queue.claim), seen through the page-render queue: each
version is taken by one worker at a time, and again only when its lease ran out."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter

import sqlalchemy as sa

from proofdesk.proofs.models import ProofVersion
from proofdesk.proofs.services import claim_render_job


def pending_versions(db_session, factory, count: int) -> list[int]:
    designer = factory.user()
    ids = [factory.proof(designer).versions[0].id for _ in range(count)]
    db_session.execute(
        sa.update(ProofVersion)
        .where(ProofVersion.id.in_(ids))
        .values(render_status="pending", render_claimed_until=None)
    )
    db_session.commit()
    return ids


def test_racing_workers_take_each_render_job_exactly_once(app, db_session, factory):
    ids = pending_versions(db_session, factory, 12)
    claimed: list[list[int]] = [[] for _ in range(4)]
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def claim_until_empty(mine: list[int]) -> None:
        session = app.extensions["db_sessionmaker"]()
        try:
            start.wait()
            while (version := claim_render_job(session)) is not None:
                mine.append(version.id)
        except BaseException as exc:  # noqa: BLE001 - reported by the test thread
            errors.append(exc)
        finally:
            session.close()

    threads = [threading.Thread(target=claim_until_empty, args=(mine,)) for mine in claimed]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    every = [version_id for mine in claimed for version_id in mine]
    assert sorted(every) == sorted(ids)
    assert Counter(every).most_common(1)[0][1] == 1
    db_session.expire_all()  # read what the workers committed
    rows = db_session.scalars(sa.select(ProofVersion).where(ProofVersion.id.in_(ids))).all()
    assert {row.render_status for row in rows} == {"rendering"}


def test_a_render_job_is_taken_again_only_after_its_lease(app, db_session, factory):
    [version_id] = pending_versions(db_session, factory, 1)
    first = app.extensions["db_sessionmaker"]()
    second = app.extensions["db_sessionmaker"]()
    try:
        taken = claim_render_job(first)
        assert taken is not None and taken.id == version_id
        assert claim_render_job(second) is None  # held while the lease lasts

        db_session.execute(
            sa.update(ProofVersion).values(
                render_claimed_until=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
            )
        )
        db_session.commit()
        again = claim_render_job(second)
        assert again is not None and again.id == version_id
        assert again.render_claimed_until > dt.datetime.now(dt.UTC)
    finally:
        first.close()
        second.close()
