"""The `proofdesk` command: run, worker, create-user, setup-link, rotate-smtp-key, and Flask's
own `shell` and `routes` (it is a FlaskGroup that builds the app with `create_app`)."""

from __future__ import annotations

import getpass
import logging
import signal
import subprocess
import sys
from typing import TYPE_CHECKING

import click
from flask.cli import FlaskGroup, routes_command, shell_command

from proofdesk.accounts.models import Role
from proofdesk.config import ConfigError, log_level, settings

if TYPE_CHECKING:
    from flask import Flask


def _app() -> Flask:
    from proofdesk.app import create_app

    try:
        return create_app()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


# Flask's `shell` and `routes` are added below, not its `run`: ours serves the app and the
# worker. The settings come from the environment and the .env file config.py reads, so
# Flask's own loading of .env/.flaskenv and its --version stay off.
@click.group(
    cls=FlaskGroup,
    create_app=_app,
    add_default_commands=False,
    add_version_option=False,
    load_dotenv=False,
)
def main() -> None:
    """Proofdesk: proof approval for design studios."""
    try:
        level = log_level()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


main.add_command(shell_command)
main.add_command(routes_command)
# FlaskGroup's --app names the app to load; Proofdesk's is always create_app().
main.params = [param for param in main.params if param.name != "app"]


@main.command("create-user")
@click.option("--role", type=click.Choice([role.value for role in Role]), required=True)
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create_user(role: str, email: str, name: str, password_stdin: bool) -> None:
    """Create a staff account (the password is asked for, or read from stdin)."""
    from proofdesk.accounts.services import create_user as create
    from proofdesk.db import session_scope
    from proofdesk.errors import ServiceError

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Repeat password: ") != password:
            raise click.ClickException("The passwords differ.")
    app = _app()
    try:
        with session_scope(app) as session:
            user = create(session, email=email, name=name, role=role, password=password)
            click.echo(f"Created {user.role} {user.email}.")
    except ServiceError as exc:
        raise click.ClickException(exc.message) from exc


def print_setup_link(app) -> None:  # type: ignore[no-untyped-def]
    from proofdesk.accounts.services import issue_setup_token
    from proofdesk.db import session_scope

    with session_scope(app) as session:
        token = issue_setup_token(session)
    if token:
        url = f"{settings(app).base_url}/setup/{token}"
        line = "=" * 72
        click.echo(
            f"\n{line}\n  No admin yet. Open this one-time link to create the first admin:"
            f"\n\n  {url}\n\n  It works once, for 24 hours. (Or: ./venv/bin/proofdesk "
            f"create-user --role admin ...)\n{line}\n"
        )


@main.command("setup-link")
def setup_link() -> None:
    """Print a one-time link to create the first admin (only while there is none)."""
    app = _app()
    print_setup_link(app)


@main.command("rotate-smtp-key")
@click.option(
    "--generate", is_flag=True, help="Only print a new key to put first in SMTP_ENCRYPTION_KEYS."
)
def rotate_smtp_key(generate: bool) -> None:
    """Re-encrypt every stored SMTP password under the first key of SMTP_ENCRYPTION_KEYS.

    To rotate: put a new key first (SMTP_ENCRYPTION_KEYS=new,old), run this, then remove the
    old key."""
    from cryptography.fernet import Fernet

    if generate:
        click.echo(Fernet.generate_key().decode())
        return
    from proofdesk.db import session_scope
    from proofdesk.notifications.secrets import rotate_all

    app = _app()
    keys = settings(app).smtp_encryption_keys
    with session_scope(app) as session:
        count = rotate_all(session, keys)
    click.echo(
        f"Re-encrypted {count} SMTP password{'s' if count != 1 else ''} under the first "
        f"key. You can now remove the other {len(keys) - 1} key(s) from "
        "SMTP_ENCRYPTION_KEYS."
    )


@main.command()
def worker() -> None:
    """Render previews and send queued mail until stopped."""
    from proofdesk.worker import run_forever

    run_forever(_app())


@main.command()
@click.option("--workers", default=2, show_default=True, help="Web worker processes.")
def run(workers: int) -> None:
    """Serve the app with gunicorn and run the worker beside it (the all-in-one mode)."""
    app = _app()
    print_setup_link(app)
    host, port = settings(app).host, settings(app).port
    click.echo(
        f"Proofdesk is at {settings(app).base_url} (listening on {host}:{port}). Ctrl+C stops it."
    )
    web = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            str(workers),
            "--bind",
            f"{host}:{port}",
            "--timeout",
            "120",
            "--limit-request-line",
            "8190",
            "--access-logfile",
            "-",
            "proofdesk.wsgi:app",
        ]
    )
    background = subprocess.Popen([sys.executable, "-m", "proofdesk.cli", "worker"])
    children = (web, background)

    def _stop(_signum: int, _frame: object) -> None:
        for child in children:
            if child.poll() is None:
                child.terminate()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        while all(child.poll() is None for child in children):
            try:
                web.wait(timeout=1)
            except subprocess.TimeoutExpired:
                pass
    finally:
        _stop(0, None)
        for child in children:
            child.wait(timeout=30)
    sys.exit(web.returncode or 0)


if __name__ == "__main__":
    main()
