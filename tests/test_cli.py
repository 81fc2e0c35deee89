"""The `proofdesk` command: create-user for scripts, and `run` as `make run` uses it."""

from __future__ import annotations

import http.cookiejar
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from proofdesk.accounts.models import User
from tests.conftest import ROOT, alembic_config, app_config, login, postgres_database

PROOFDESK = str(Path(sys.executable).with_name("proofdesk"))
ALEMBIC = str(Path(sys.executable).with_name("alembic"))


def cli_env(config: dict[str, str]) -> dict[str, str]:
    return {**os.environ, **config}


def test_create_user_reads_the_password_from_stdin(db_url, tmp_path, app, db_session):
    env = cli_env(app_config(db_url, tmp_path))
    result = subprocess.run(
        [
            PROOFDESK,
            "create-user",
            "--role",
            "admin",
            "--email",
            "Ops@Studio.test",
            "--name",
            "Ops",
            "--password-stdin",
        ],
        input="a long enough passphrase\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "Created admin ops@studio.test." in result.stdout
    user = db_session.scalar(sa.select(User).where(User.email == "ops@studio.test"))
    assert user.role == "admin"
    login(app.test_client(), user, "a long enough passphrase")


def test_create_user_explains_a_bad_password(db_url, tmp_path, app):
    env = cli_env(app_config(db_url, tmp_path))
    result = subprocess.run(
        [
            PROOFDESK,
            "create-user",
            "--role",
            "designer",
            "--email",
            "d@studio.test",
            "--name",
            "D",
            "--password-stdin",
        ],
        input="short\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "Use at least 8 characters." in result.stderr


def test_routes_lists_the_app_s_routes(db_url, tmp_path):
    """Flask's `routes`, on the app `create_app` builds from the environment."""
    result = subprocess.run(
        [PROOFDESK, "routes"],
        env=cli_env(app_config(db_url, tmp_path)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    rows = {(line.split()[0], line.split()[-1]) for line in result.stdout.splitlines()[2:]}
    assert ("proofs.dashboard", "/proofs") in rows
    assert ("accounts.login", "/login") in rows


def test_shell_runs_in_the_app_context(db_url, tmp_path, db_session):
    """Flask's `shell`: `app` is Proofdesk's, and its settings and database are reachable."""
    from proofdesk.customers.services import create_customer

    create_customer(
        db_session, name="Mia", email="mia@client.test", company=None, created_by_id=None
    )
    db_session.commit()
    code = (
        "from proofdesk.config import settings\n"
        "from proofdesk.customers.models import Customer\n"
        "from proofdesk.db import get_session\n"
        "print('app', app.name, settings().base_url)\n"
        "print('customers', [c.email for c in get_session().query(Customer)])\n"
    )
    result = subprocess.run(
        [PROOFDESK, "shell"],
        input=code,
        env=cli_env(app_config(db_url, tmp_path)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "app proofdesk.app https://proofs.example.test" in result.stdout
    assert "customers ['mia@client.test']" in result.stdout


def test_run_is_proofdesk_s_own_not_flask_s(db_url, tmp_path):
    """`run` serves the app with gunicorn and the worker (Flask's development server is not
    what `make run` starts)."""
    result = subprocess.run(
        [PROOFDESK, "run", "--help"],
        env=cli_env(app_config(db_url, tmp_path)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "Serve the app with gunicorn and run the worker beside it" in result.stdout
    assert "--workers" in result.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def assert_the_worker_delivers_mail(tmp_path: Path, env: dict[str, str]) -> None:
    """A queued email reaches the development mailbox with no second command."""
    from proofdesk.accounts.services import create_user
    from proofdesk.app import create_app
    from proofdesk.customer_login import invites
    from proofdesk.customers.services import create_customer
    from proofdesk.db import session_scope
    from proofdesk.tokens import TokenSettings

    old = dict(os.environ)
    os.environ.update(env)
    try:
        app = create_app()
    finally:
        os.environ.clear()
        os.environ.update(old)
    with session_scope(app) as session:
        user = create_user(
            session,
            email="ops@studio.test",
            name="Ops",
            role="admin",
            password="a long enough passphrase",
        )
        customer = create_customer(
            session, name="Mia", email="mia@client.test", company=None, created_by_id=user.id
        )
        invites.invite(
            session,
            customer=customer,
            by=user,
            settings=TokenSettings.from_config(app.config),
            ip=None,
        )
    app.extensions["db_engine"].dispose()
    mailbox = tmp_path / "instance" / "mailbox"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not list(mailbox.glob("*.eml")):
        time.sleep(0.2)
    messages = list(mailbox.glob("*.eml"))
    assert messages, "the worker started by `proofdesk run` sent nothing"
    assert "To: mia@client.test" in messages[0].read_text()


def test_run_serves_the_app_and_prints_a_one_time_setup_link(tmp_path):
    """What `make run` does on a fresh machine: migrate the embedded default, then serve."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "SECRET_KEY"}}
    env.update(
        PORT=str(port), INSTANCE_PATH=str(tmp_path / "instance"), PROOFDESK_HOME=str(tmp_path)
    )
    subprocess.run(
        [ALEMBIC, "upgrade", "head"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert (tmp_path / "instance" / "proofdesk.sqlite3").exists()
    proc = subprocess.Popen(
        [PROOFDESK, "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        output = ""
        deadline = time.monotonic() + 60
        link = None
        while time.monotonic() < deadline and link is None:
            line = proc.stdout.readline()
            output += line
            match = re.search(rf"http://127\.0\.0\.1:{port}/setup/[\w-]+", line)
            link = match.group(0) if match else None
        assert link, output
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2) as r:
                    assert "There is no admin yet" in r.read().decode()
                    break
            except OSError:
                time.sleep(0.2)
        else:
            raise AssertionError("the server did not answer: " + output)
        with urllib.request.urlopen(link, timeout=5) as response:
            assert "Create the first admin" in response.read().decode()
        assert_the_worker_delivers_mail(tmp_path, env)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
        proc.stdout.close()
    assert proc.returncode == 0


def start_run(env: dict[str, str], port: int) -> subprocess.Popen:
    """`proofdesk run` (gunicorn with its two workers, and the worker), once /login answers."""
    proc = subprocess.Popen(
        [PROOFDESK, "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    for _ in range(150):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2):
                return proc
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.2)
    stop(proc)
    raise AssertionError("proofdesk run did not answer: " + proc.stdout.read())


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=30)


def wrong_passwords(port: int, email: str, count: int) -> list[tuple[int, str, str | None]]:
    """Status, page and X-RateLimit-Remaining of each wrong password, in one browser session."""
    jar = http.cookiejar.CookieJar()
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    url = f"http://127.0.0.1:{port}/login"
    with browser.open(url, timeout=10) as response:
        token = re.search(
            r'name="csrf_token" type="hidden" value="([^"]+)"', response.read().decode()
        ).group(1)
    body = urllib.parse.urlencode(
        {"email": email, "password": "not the password", "csrf_token": token}
    ).encode()
    answers = []
    for _ in range(count):
        try:
            with browser.open(url, data=body, timeout=30) as response:
                answers.append(
                    (
                        response.status,
                        response.read().decode(),
                        response.headers["X-RateLimit-Remaining"],
                    )
                )
        except urllib.error.HTTPError as error:
            answers.append(
                (error.code, error.read().decode(), error.headers["X-RateLimit-Remaining"])
            )
    return answers


@pytest.fixture(params=["sqlite", "postgresql"])
def run_database(request, tmp_path) -> Iterator[dict[str, str]]:
    """A migrated database for `proofdesk run`: the embedded default, or PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'instance' / 'proofdesk.sqlite3'}"
        (tmp_path / "instance").mkdir()
        command.upgrade(alembic_config(url), "head")
        yield {}
        return
    for url in postgres_database(f"proofdesk_run_{uuid.uuid4().hex[:10]}"):
        command.upgrade(alembic_config(url), "head")
        yield {"DATABASE_URL": url}


def test_run_throttles_the_eleventh_wrong_password_across_both_workers(tmp_path, run_database):
    """The documented limit (10 failures in 5 minutes) holds for `make run` as it starts:
    default settings, two gunicorn worker processes."""
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "SECRET_KEY", "RATELIMIT_STORAGE_URI", "PROOFDESK_ENV"}
    }
    env.update(
        PORT=str(port),
        INSTANCE_PATH=str(tmp_path / "instance"),
        PROOFDESK_HOME=str(tmp_path),
        **run_database,
    )
    subprocess.run(
        [
            PROOFDESK,
            "create-user",
            "--role",
            "designer",
            "--email",
            "d@studio.test",
            "--name",
            "D",
            "--password-stdin",
        ],
        input="a long enough passphrase\n",
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    proc = start_run(env, port)
    try:
        answers = wrong_passwords(port, "d@studio.test", 11)
    finally:
        stop(proc)
        proc.stdout.close()
    assert [status for status, _, _ in answers] == [200] * 10 + [429]
    assert all("Email or password is not right." in page for _, page, _ in answers[:10])
    # One count for both processes: the remaining attempts go down one by one.
    assert [remaining for _, _, remaining in answers[:10]] == [str(n) for n in range(9, -1, -1)]
    status, page, _ = answers[10]
    assert "<h1>Too many attempts</h1>" in page
    assert "Too many attempts. Wait a few minutes and try again." in page
