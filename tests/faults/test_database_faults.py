"""Database and disk faults: PostgreSQL (a throwaway cluster of the test's own) restarted
under a live app server, the disk full in the middle of an upload, the database gone between
a proof and its notification. Requests get a plain error page, the app recovers by itself,
and nothing is left half-written."""

from __future__ import annotations

import errno
import io
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pytest
import requests
import sqlalchemy as sa
from alembic import command
from flask import Flask
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from proofdesk.app import create_app
from proofdesk.notifications.models import CustomerNotification
from proofdesk.proofs import services as proof_services
from proofdesk.proofs.models import Proof, ProofPage, ProofVersion
from proofdesk.web import limiter
from tests.conftest import (
    PASSWORD,
    Factory,
    alembic_config,
    app_config,
    csrf_token,
    login,
    png_bytes,
    skip_or_fail,
)
from tests.faults.postgres_cluster import Cluster, ClusterUnavailable, throwaway_cluster
from tests.proofs.test_views import post_multipart, stored_files, upload

ERROR_PAGE = "Something went wrong"
LEAKS = ("Traceback", "psycopg", "sqlalchemy", "OperationalError", "SELECT ", "INSERT ")


def assert_plain_error_page(response_text: str) -> None:
    assert ERROR_PAGE in response_text, response_text[:500]
    for leak in LEAKS:
        assert leak not in response_text, f"{leak!r} on the error page"


def assert_nothing_half_written(session: Session, app: Flask) -> None:
    """Every proof has all its versions, each with its file and first page, and each file in
    the upload folder belongs to a row; every notification has its proof."""
    session.expire_all()
    storage = app.extensions["storage"]
    wanted: set[str] = set()
    for proof in session.scalars(sa.select(Proof)):
        assert [v.number for v in proof.versions] == list(range(1, proof.current_version + 1))
        for version in proof.versions:
            assert version.pages and version.pages[0].number == 1, version.id
            keys = [version.file_key] + [
                key for page in version.pages for key in (page.image_key, page.thumb_key)
            ]
            for key in keys:
                assert storage.exists(key), f"{key} of proof {proof.id} is missing"
            wanted.update(keys)
    root = Path(app.config["UPLOAD_FOLDER"])
    on_disk = {str(path.relative_to(root)) for path in stored_files(app)}
    assert on_disk == wanted, f"stray files: {on_disk - wanted}"
    orphans = session.scalar(
        sa.select(sa.func.count())
        .select_from(CustomerNotification)
        .outerjoin(Proof, Proof.id == CustomerNotification.proof_id)
        .where(CustomerNotification.proof_id.is_not(None), Proof.id.is_(None))
    )
    assert orphans == 0
    session.rollback()


# ---- PostgreSQL restarted under load -----------------------------------------------------------

# Waits end on events (a request answered, the app back); this limit only catches a hang.
HANG_LIMIT = 300.0


def wait_for(check: Callable[[], object], what: str, errors: list[BaseException]) -> None:
    gave_up = time.monotonic() + HANG_LIMIT
    while not check():
        assert errors == [], errors
        assert time.monotonic() < gave_up, f"nothing happened for {HANG_LIMIT:.0f} s: {what}"
        time.sleep(0.02)


@pytest.fixture
def restartable_postgres() -> Iterator[Cluster]:
    """A PostgreSQL cluster of the test's own (never the machine's, which others use)."""
    with ExitStack() as stack:
        try:
            cluster = stack.enter_context(throwaway_cluster())
        except ClusterUnavailable as exc:
            skip_or_fail("postgres", f"cannot make a throwaway PostgreSQL cluster: {exc}")
        yield cluster


@pytest.fixture
def app_on_own_cluster(restartable_postgres: Cluster, tmp_path: Path) -> Iterator[Flask]:
    admin = sa.create_engine(restartable_postgres.admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text('CREATE DATABASE "proofdesk"'))
    admin.dispose()
    url = restartable_postgres.url("proofdesk")
    command.upgrade(alembic_config(url), "head")
    # Plain http: the session cookie is not Secure.
    app = create_app(app_config(url, tmp_path, BASE_URL="http://127.0.0.1"))
    app.config["TESTING"] = True
    yield app
    limiter.reset()
    app.extensions["db_engine"].dispose()


@contextmanager
def live_server(app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    access_log = logging.getLogger("werkzeug")
    level = access_log.level
    access_log.setLevel(logging.WARNING)  # one line a request, hundreds of them
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=60)
        server.server_close()
        access_log.setLevel(level)


def http_login(base: str, email: str) -> requests.Session:
    browser = requests.Session()
    page = browser.get(f"{base}/login", timeout=HANG_LIMIT).text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = browser.post(
        f"{base}/login",
        timeout=HANG_LIMIT,
        allow_redirects=False,
        data={"email": email, "password": PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 302, response.text[:500]
    return browser


@dataclass
class Answer:
    what: str  # "page" or the title of an upload
    status: int
    text: str
    began: float
    at: float
    headers: dict[str, str]


def ask(what: str, began: float, response: requests.Response) -> Answer:
    return Answer(
        what, response.status_code, response.text, began, time.monotonic(), dict(response.headers)
    )


def keep_busy(
    base: str,
    email: str,
    customer_id: int,
    name: str,
    stopping: threading.Event,
    answers: list[Answer],
    errors: list[BaseException],
) -> None:
    """A designer who keeps opening My Proofs and uploading proofs with "Notify customer"."""
    try:
        browser = http_login(base, email)
        page = browser.get(f"{base}/proofs/new", timeout=HANG_LIMIT).text
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        n = 0
        while not stopping.is_set():
            n += 1
            began = time.monotonic()
            answers.append(ask("page", began, browser.get(f"{base}/proofs", timeout=HANG_LIMIT)))
            title = f"{name} upload {n}"
            began = time.monotonic()
            response = browser.post(
                f"{base}/proofs/new",
                timeout=HANG_LIMIT,
                allow_redirects=False,
                data={
                    "customer_id": str(customer_id),
                    "title": title,
                    "notify": "y",
                    "csrf_token": token,
                },
                files={"file": ("art.png", png_bytes(64, 48), "image/png")},
            )
            answers.append(ask(title, began, response))
    except BaseException as exc:  # noqa: BLE001 - reported by the test thread
        errors.append(exc)


@pytest.mark.postgres
def test_postgres_restart_under_load_gives_error_pages_then_recovers_leaving_nothing_half_written(
    restartable_postgres, app_on_own_cluster
):
    """PostgreSQL stopped (fast: open connections cut) while three designers work, and
    started again once a request has met the outage; the app is not restarted."""
    cluster, app = restartable_postgres, app_on_own_cluster
    db_session = app.extensions["db_sessionmaker"]()
    factory = Factory(app, db_session)
    designer, customer = factory.user(), factory.customer()
    db_session.rollback()
    answers: list[Answer] = []
    errors: list[BaseException] = []
    stopping = threading.Event()
    with live_server(app) as base:
        threads = [
            threading.Thread(
                target=keep_busy,
                args=(base, designer.email, customer.id, f"t{n}", stopping, answers, errors),
            )
            for n in range(3)
        ]
        try:
            for thread in threads:
                thread.start()
            watcher = http_login(base, designer.email)
            wait_for(lambda: len(answers) >= 6, "the designers' first requests", errors)
            down = time.monotonic()
            cluster.stop("fast")
            try:
                wait_for(
                    lambda: any(a.began > down and a.status == 500 for a in answers),
                    "a request meeting the stopped database",
                    errors,
                )
            finally:
                cluster.start()
            back = time.monotonic()
            # The app, not restarted, answers again by itself.
            wait_for(
                lambda: watcher.get(f"{base}/proofs", timeout=HANG_LIMIT).status_code == 200,
                "the app to answer again",
                errors,
            )
            recovered = time.monotonic()
            # Some more work after the recovery: each designer gets two more answers.
            wait_for(
                lambda: (
                    len(
                        {
                            a.what.split()[0]
                            for a in answers
                            if a.began > recovered and a.what != "page"
                        }
                    )
                    == 3
                ),
                "every designer to upload again",
                errors,
            )
        finally:
            stopping.set()
            for thread in threads:
                thread.join(timeout=HANG_LIMIT)
    assert errors == []
    print(
        f"\nPostgreSQL down for {back - down:.1f} s; the app answered again "
        f"{recovered - back:.1f} s after it was back; {len(answers)} requests"
    )

    failed = [a for a in answers if a.status not in (200, 302)]
    assert failed, "no request ran into the restart: the test did not test anything"
    for failure in failed:
        assert failure.status == 500, (failure.what, failure.status)
        assert_plain_error_page(failure.text)  # the app's page, not the server's fallback
        assert failure.headers["X-Content-Type-Options"] == "nosniff"
        assert "frame-ancestors 'none'" in failure.headers["Content-Security-Policy"]
    after = [a for a in answers if a.began > recovered]
    assert after and all(a.status in (200, 302) for a in after), [
        (a.what, a.status) for a in after if a.status not in (200, 302)
    ]

    assert_nothing_half_written(db_session, app)
    uploaded = {a.what for a in answers if a.what != "page" and a.status == 302}
    titles = set(db_session.scalars(sa.select(Proof.title)))
    assert uploaded <= titles  # every upload that said "done" is there
    assert titles <= {a.what for a in answers if a.what != "page"}
    per_proof = dict(
        db_session.execute(
            sa.select(Proof.title, sa.func.count(CustomerNotification.id))
            .outerjoin(CustomerNotification, CustomerNotification.proof_id == Proof.id)
            .group_by(Proof.title)
        ).all()
    )
    assert set(per_proof.values()) == {1}, per_proof  # each proof with its one notification
    db_session.close()


# ---- the disk full in the middle of an upload -------------------------------------------------


class DiskFull:
    """Storage whose `fail_at`-th save runs out of space after writing part of the file."""

    def __init__(self, storage, fail_at: int) -> None:  # type: ignore[no-untyped-def]
        self.storage, self.fail_at, self.saves = storage, fail_at, 0
        self.save_for_real = storage.save

    def save(self, key: str, source: IO[bytes], content_type: str) -> None:
        self.saves += 1
        if self.saves != self.fail_at:
            return self.save_for_real(key, source, content_type)

        class Filling(io.RawIOBase):
            def __init__(self) -> None:
                self.given = False

            def read(self, size: int = -1) -> bytes:
                if self.given:
                    raise OSError(errno.ENOSPC, "No space left on device")
                self.given = True
                return source.read(1024) or b"x"

        return self.save_for_real(key, Filling(), content_type)  # type: ignore[arg-type]


@pytest.mark.parametrize("fail_at", [1, 2, 3])
def test_disk_full_during_upload_leaves_no_row_and_no_stray_file(
    app, client, factory, db_session, monkeypatch, fail_at
):
    """The original, the page-1 preview or its thumbnail cannot be written."""
    designer, customer = factory.user(), factory.customer()
    login(client, designer)
    storage = app.extensions["storage"]
    full = DiskFull(storage, fail_at)
    monkeypatch.setattr(storage, "save", full.save)
    response = upload(client, customer.id, png_bytes(), title="Big banner", notify="y")
    assert full.saves == fail_at
    assert response.status_code == 500
    assert_plain_error_page(response.get_data(as_text=True))
    assert db_session.scalar(sa.select(sa.func.count()).select_from(Proof)) == 0
    assert db_session.scalar(sa.select(sa.func.count()).select_from(CustomerNotification)) == 0
    assert stored_files(app) == []  # no stray file, not even a half-written one
    monkeypatch.undo()
    assert upload(client, customer.id, png_bytes(), notify="y").status_code == 302  # space again
    assert_nothing_half_written(db_session, app)


def test_disk_full_during_a_new_version_keeps_the_proof_as_it_was(
    app, client, factory, db_session, monkeypatch
):
    designer = factory.user()
    proof = factory.proof(designer, title="Menu board")
    before = set(stored_files(app))
    login(client, designer)
    path = f"/proofs/{proof.id}/versions/new"
    token = csrf_token(client, path)
    storage = app.extensions["storage"]
    monkeypatch.setattr(storage, "save", DiskFull(storage, 2).save)
    response = post_multipart(
        client,
        path,
        {"csrf_token": token, "notify": "y", "file": (io.BytesIO(png_bytes()), "v2.png")},
    )
    assert response.status_code == 500
    assert_plain_error_page(response.get_data(as_text=True))
    db_session.expire_all()
    assert db_session.get(Proof, proof.id).current_version == 1
    assert db_session.scalar(sa.select(sa.func.count()).select_from(ProofVersion)) == 1
    assert db_session.scalar(sa.select(sa.func.count()).select_from(ProofPage)) == 1
    assert db_session.scalar(sa.select(sa.func.count()).select_from(CustomerNotification)) == 0
    assert set(stored_files(app)) == before
    assert_nothing_half_written(db_session, app)


@pytest.mark.parametrize(
    "failure", ["connection lost after the flush", "an insert refused in the flush"]
)
def test_database_failing_between_the_proof_and_its_notification_leaves_neither(
    app, client, factory, db_session, monkeypatch, failure
):
    """The proof, its files and its notification are one transaction: the database failing
    after the proof was written (here: when the notification is added) leaves nothing, and
    the person gets the error page (a failed flush expires the loaded user, whom the page's
    navigation shows: it used to fail in turn, leaving the server's bare 500)."""
    designer, customer = factory.user(), factory.customer()
    login(client, designer)
    notify_for_real = proof_services.notify_customer

    def notify_then_fail(session, **kwargs):  # type: ignore[no-untyped-def]
        notification = notify_for_real(session, **kwargs)
        if failure == "connection lost after the flush":
            session.flush()  # the proof, version, page and notification rows are written...
            raise sa.exc.OperationalError(
                "COMMIT", {}, Exception("server closed the connection unexpectedly")
            )  # ...and never committed
        notification.kind = "no such kind"  # refused by a CHECK constraint
        session.flush()

    monkeypatch.setattr(proof_services, "notify_customer", notify_then_fail)
    response = upload(client, customer.id, png_bytes(), title="Shop sign", notify="y")
    assert response.status_code == 500
    assert_plain_error_page(response.get_data(as_text=True))
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    for model in (Proof, ProofVersion, ProofPage, CustomerNotification):
        assert db_session.scalar(sa.select(sa.func.count()).select_from(model)) == 0, model
    assert stored_files(app) == []
    monkeypatch.undo()
    assert client.get("/proofs").status_code == 200  # still logged in, nothing to clean up


def test_a_connection_broken_when_the_request_ends_keeps_the_answer(
    app, client, factory, monkeypatch
):
    """The database going away after the page was made (the session's closing ROLLBACK
    fails): the person still gets the page, not the server's bare 500."""
    login(client, factory.user())
    close_for_real = Session.close
    broken: list[Session] = []

    def close_on_a_broken_connection(session: Session) -> None:
        if not broken and session.in_transaction():
            broken.append(session)
            raise sa.exc.OperationalError(
                "ROLLBACK", {}, Exception("terminating connection due to administrator command")
            )
        close_for_real(session)

    monkeypatch.setattr(Session, "close", close_on_a_broken_connection)
    response = client.get("/proofs")
    assert broken, "the request's session was not closed in a transaction"
    assert response.status_code == 200 and "My Proofs" in response.get_data(as_text=True)
    monkeypatch.undo()
    assert client.get("/proofs").status_code == 200
