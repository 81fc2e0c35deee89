"""Fixtures: an app on SQLite and on PostgreSQL, clients, factories, sample artwork."""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy.orm import Session

from proofdesk.accounts import services as accounts
from proofdesk.accounts.models import User
from proofdesk.app import create_app
from proofdesk.customers import services as customers
from proofdesk.customers.models import Customer
from proofdesk.db import set_clock
from proofdesk.models import Base
from proofdesk.proofs import services as proofs
from proofdesk.proofs.models import Proof
from proofdesk.web import limiter

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
PASSWORD = "correct horse battery"
TEST_SMTP_KEY = "8yXqVq3s7oH4ZrWw6cH1mB9kF2pL5tN0aJ3dG7eQ4uI="
SKIPPED_PARTS: dict[str, str] = {}


def required(part: str) -> bool:
    return os.environ.get(f"REQUIRE_{part.upper()}", "") in {"1", "true", "yes"}


def skip_or_fail(part: str, reason: str) -> None:
    """A missing part fails when CI requires it, and otherwise skips loudly."""
    if required(part):
        pytest.fail(f"REQUIRE_{part.upper()}=1 but {reason}", pytrace=False)
    SKIPPED_PARTS[part] = reason
    pytest.skip(f"{part} not available: {reason}")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Skipped parts from the reports too: with pytest-xdist the tests run in worker
    processes, and only their reports reach the process that prints the summary."""
    if report.skipped and isinstance(report.longrepr, tuple):
        found = re.match(r"Skipped: (\w+) not available: (.*)", report.longrepr[2], re.S)
        if found:
            SKIPPED_PARTS.setdefault(found[1], found[2])


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for part, reason in SKIPPED_PARTS.items():
        terminalreporter.write_line(
            f"!!! {part.upper()} TESTS WERE SKIPPED: {reason}. "
            f"Set REQUIRE_{part.upper()}=1 to make this a failure.",
            red=True,
            bold=True,
        )


def alembic_config(url: str) -> Config:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.attributes["database_url"] = url
    cfg.attributes["skip_logging"] = True
    return cfg


def postgres_database(name: str) -> Iterator[str]:
    """A fresh PostgreSQL database for the tests, dropped afterwards."""
    try:
        # pool_pre_ping: the server may have been restarted since (tests/faults).
        admin = sa.create_engine(
            POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT", pool_pre_ping=True
        )
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        skip_or_fail("postgres", f"cannot reach {POSTGRES_ADMIN_URL} ({exc.orig})")
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def db_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A migrated database (`alembic upgrade head`), once per backend per test session."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'proofdesk.sqlite3'}"
        command.upgrade(alembic_config(url), "head")
        yield url
        return
    name = f"proofdesk_test_{uuid.uuid4().hex[:10]}"
    for url in postgres_database(name):
        command.upgrade(alembic_config(url), "head")
        yield url


def empty_tables(engine: sa.Engine) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(sa.text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(sa.text(f"DELETE FROM {table}"))


def app_config(db_url: str, tmp_path: Path, **overrides: str) -> dict[str, str]:
    # Development, with every secret set as production needs: the default mailer writes to
    # MAIL_MAILBOX_DIR, where the tests read delivered mail. Production never writes mail to
    # a folder (tests/test_web.py checks it).
    return {
        "PROOFDESK_ENV": "development",
        "SECRET_KEY": "test-secret-key-" + "x" * 40,
        "DATABASE_URL": db_url,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "UPLOAD_FOLDER": str(tmp_path / "uploads"),
        "BASE_URL": "https://proofs.example.test",
        "MAIL_MAILBOX_DIR": str(tmp_path / "mailbox"),
        "SMTP_ENCRYPTION_KEYS": TEST_SMTP_KEY,
        **overrides,
    }


@pytest.fixture
def make_app(db_url: str, tmp_path: Path) -> Iterator[Callable[..., Flask]]:
    """Build an app on the test database with some settings changed."""
    built: list[Flask] = []

    def build(**overrides: str) -> Flask:
        app = create_app(app_config(db_url, tmp_path, **overrides))
        app.config["TESTING"] = True
        built.append(app)
        return app

    yield build
    limiter.reset()
    if built:
        empty_tables(built[0].extensions["db_engine"])
    for app in built:
        app.extensions["db_engine"].dispose()


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    # No app context is kept pushed: requests must each get their own `g`, as in production.
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def db_session(app: Flask) -> Iterator[Session]:
    session: Session = app.extensions["db_sessionmaker"]()
    yield session
    session.close()


# ---- sample artwork -------------------------------------------------------------------------


def png_bytes(width: int = 320, height: int = 200, color: str = "#3366cc") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "PNG")
    return out.getvalue()


def pdf_bytes(pages: int = 3) -> bytes:
    images = [
        Image.new("RGB", (300, 420), c)
        for c in ("#cc3333", "#33aa55", "#3355cc", "#aaaa33") * (pages // 4 + 1)
    ]
    out = io.BytesIO()
    images[0].save(out, "PDF", save_all=True, append_images=images[1:pages], resolution=72)
    return out.getvalue()


# ---- factories -------------------------------------------------------------------------------


class Factory:
    def __init__(self, app: Flask, session: Session) -> None:
        self.app = app
        self.session = session
        self.count = 0

    def _n(self) -> int:
        self.count += 1
        return self.count

    def user(
        self,
        role: str = "designer",
        name: str | None = None,
        email: str | None = None,
        password: str = PASSWORD,
    ) -> User:
        n = self._n()
        user = accounts.create_user(
            self.session,
            email=email or f"{role}{n}@studio.test",
            name=name or f"{role.title()} {n}",
            role=role,
            password=password,
        )
        self.session.commit()
        return user

    def customer(
        self,
        name: str | None = None,
        email: str | None = None,
        company: str | None = "Acme Signs",
        created_by: User | None = None,
    ) -> Customer:
        n = self._n()
        customer = customers.create_customer(
            self.session,
            name=name or f"Customer {n}",
            email=email or f"customer{n}@client.test",
            company=company,
            created_by_id=created_by.id if created_by else None,
        )
        self.session.commit()
        return customer

    def proof(
        self,
        designer: User,
        customer: Customer | None = None,
        title: str = "Shop sign",
        data: bytes | None = None,
        filename: str = "sign.png",
    ) -> Proof:
        customer = customer or self.customer()
        with self.app.app_context():
            return self._proof(designer, customer, title, data, filename)

    def _proof(
        self, designer: User, customer: Customer, title: str, data: bytes | None, filename: str
    ) -> Proof:
        proof = proofs.create_proof(
            self.session,
            storage=self.app.extensions["storage"],
            designer=designer,
            customer_id=customer.id,
            title=title,
            message=None,
            due_date=None,
            upload=proofs.Upload(stream=io.BytesIO(data or png_bytes()), filename=filename),
            limits=proofs.Limits.from_config(self.app.config),
            ip="127.0.0.1",
        )
        self.session.commit()
        return proof


@pytest.fixture
def factory(app: Flask, db_session: Session) -> Factory:
    return Factory(app, db_session)


def csrf_token(client: FlaskClient, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
        r'name="csrf_token" value="([^"]+)"', page
    )
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def login(client: FlaskClient, user: User, password: str = PASSWORD) -> None:
    response = client.post(
        "/login",
        data={
            "email": user.email,
            "password": password,
            "csrf_token": csrf_token(client, "/login"),
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)


@pytest.fixture
def as_user(client: FlaskClient) -> Callable[[User], FlaskClient]:
    def go(user: User) -> FlaskClient:
        login(client, user)
        return client

    return go


# ---- time ------------------------------------------------------------------------------------


@dataclass
class Clock:
    now: dt.datetime

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@pytest.fixture
def clock() -> Iterator[Clock]:
    """The app's time (db.utcnow), moved by the test: Monday 7 December 2026, 10:00 UTC
    (11:00 in Berlin)."""
    clock = Clock(dt.datetime(2026, 12, 7, 10, 0, tzinfo=dt.UTC))
    set_clock(lambda: clock.now)
    yield clock
    set_clock(None)
