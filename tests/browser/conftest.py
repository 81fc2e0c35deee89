"""Browser fixtures: Debian's chromium, a live Proofdesk server on SQLite, and its worker."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from flask import Flask
from playwright.sync_api import BrowserContext, ConsoleMessage, Page, expect
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from proofdesk.app import create_app
from proofdesk.proofs.models import ProofVersion
from proofdesk.web import limiter
from proofdesk.worker import run_once
from tests.conftest import alembic_config, app_config, empty_tables, skip_or_fail

CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags chromium tries to reach the internet, many times
# a second, and is refused (see /work/shared/TOOLING.md).
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
# The README's screenshots, committed; retaken only when asked (`make screenshots`): a test
# run on an operator's machine changes no file of the repository.
DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
UPDATE_SCREENSHOTS = os.environ.get("UPDATE_SCREENSHOTS", "") in {"1", "true", "yes"}
# Waits end when the page shows what is expected; the limit only catches a hang (Playwright's
# own 5 s is too short on a machine busy with other work).
expect.set_options(timeout=60_000)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    if not CHROMIUM.exists():
        skip_or_fail("browser", f"{CHROMIUM} is missing (apt-get install -y chromium)")
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "args": ARGS}


class QuietRequestHandler(WSGIRequestHandler):
    """No access log line per request; errors are still logged."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


@dataclass
class LiveServer:
    """Proofdesk served over HTTP on 127.0.0.1, with the worker rendering pages beside it."""

    app: Flask
    url: str
    server: BaseWSGIServer
    stop: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        self.threads = [
            threading.Thread(target=self.server.serve_forever, daemon=True),
            threading.Thread(target=self._work, daemon=True),
        ]
        for thread in self.threads:
            thread.start()

    def _work(self) -> None:
        # As `proofdesk worker` does, but polling often so tests do not wait for pages.
        while not self.stop.is_set():
            if run_once(self.app) == 0:
                self.stop.wait(0.2)

    def render_pages(self, timeout: float = 300) -> None:
        """Wait until every page of every version is rendered (by the worker or here); the
        limit only catches a hang."""
        deadline = time.monotonic() + timeout
        while True:
            run_once(self.app)
            with self.app.extensions["db_sessionmaker"]() as session:
                left = session.scalar(
                    sa.select(sa.func.count())
                    .select_from(ProofVersion)
                    .where(ProofVersion.render_status.in_(["pending", "rendering"]))
                )
            if not left:
                return
            assert time.monotonic() < deadline, f"{left} versions still rendering"
            time.sleep(0.1)

    def close(self) -> None:
        self.stop.set()
        self.server.shutdown()
        for thread in self.threads:
            thread.join(timeout=10)
        self.server.server_close()
        self.app.extensions["db_engine"].dispose()


def start_live_server(folder: Path, **overrides: str) -> LiveServer:
    """A live server on a SQLite file migrated with alembic, with settings changed."""
    db_url = f"sqlite:///{folder / 'proofdesk.sqlite3'}"
    command.upgrade(alembic_config(db_url), "head")
    # Bind first: the share links the app prints need the port in BASE_URL.
    server = make_server(
        "127.0.0.1",
        0,
        lambda environ, start: [],
        threaded=True,
        request_handler=QuietRequestHandler,
    )
    url = f"http://127.0.0.1:{server.server_port}"
    try:
        app = create_app(app_config(db_url, folder, BASE_URL=url, **overrides))
    except BaseException:
        server.server_close()
        raise
    server.app = app
    live = LiveServer(app=app, url=url, server=server)
    live.start()
    return live


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One server for the browser tests."""
    live = start_live_server(tmp_path_factory.mktemp("browser"))
    yield live
    live.close()


@pytest.fixture
def contexts() -> Iterator[list[BrowserContext]]:
    """Browser contexts a test opens (fresh visitors), closed afterwards."""
    opened: list[BrowserContext] = []
    yield opened
    for context in opened:
        context.close()


@pytest.fixture(scope="session")
def base_url(live_server: LiveServer) -> str:
    """pytest-base-url's fixture: Playwright resolves page.goto("/login") against it."""
    return live_server.url


@pytest.fixture
def studio(live_server: LiveServer) -> Iterator[LiveServer]:
    """The live server with empty tables: each test starts as a fresh install."""
    empty_tables(live_server.app.extensions["db_engine"])
    limiter.reset()
    yield live_server
    live_server.render_pages()  # no render in progress when the next test empties the tables


@dataclass
class Watcher:
    """JavaScript errors and failed requests on a page (a CSP violation is a console error)."""

    problems: list[str] = field(default_factory=list)

    def watch(self, page: Page) -> Page:
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.problems.append(f"{page.url}: {exc}"))
        return page

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.problems.append(f"{message.location.get('url')}: {message.text}")


@pytest.fixture
def watcher() -> Iterator[Watcher]:
    watcher = Watcher()
    yield watcher
    assert watcher.problems == [], "the browser reported errors"


SCREENSHOTS: dict[str, Path] = {}  # "folder": where this run saves them


@pytest.fixture(scope="session", autouse=True)
def screenshot_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the screenshots go: docs/screenshots with UPDATE_SCREENSHOTS=1, else a temp
    folder (so that taking them is still tested)."""
    folder = DOCS_SCREENSHOTS if UPDATE_SCREENSHOTS else tmp_path_factory.mktemp("screenshots")
    SCREENSHOTS["folder"] = folder
    return folder


def screenshot(page: Page, name: str, *, full_page: bool = True) -> None:
    """Save <name>.png at CSS size, so phone shots stay small; the README's copy in
    docs/screenshots must exist (retake them all with `make screenshots`)."""
    folder = SCREENSHOTS["folder"]
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(
        path=folder / f"{name}.png", full_page=full_page, scale="css", animations="disabled"
    )
    committed = DOCS_SCREENSHOTS / f"{name}.png"
    assert committed.exists(), f"{committed} is missing: run `make screenshots`, commit it"
