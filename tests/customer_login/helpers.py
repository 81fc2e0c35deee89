"""Shared steps for the customer-login tests: invite, read the mail, set a password."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from proofdesk.customers.models import Customer
from proofdesk.worker import run_once
from tests.conftest import csrf_token, login
from tests.mailserver import mailbox, text_and_html

CUSTOMER_PASSWORD = "my own proof password"


def staff_invites(client: FlaskClient, customer: Customer) -> None:
    page = f"/customers/{customer.id}"
    response = client.post(f"{page}/invite", data={"csrf_token": csrf_token(client, page)})
    assert response.status_code == 302


def mailed_link(app: Flask, kind: str, to: str) -> str:
    """Run the worker and return the link in the newest mail to `to`."""
    run_once(app)
    messages = [m for m in mailbox(app.config["MAIL_MAILBOX_DIR"]) if m["To"] == to]
    assert messages, f"no mail to {to}"
    text, html = text_and_html(messages[-1])
    match = re.search(rf"https://proofs\.example\.test(/portal/{kind}/[\w-]+)", text)
    assert match, text
    assert match.group(0) in html
    return match.group(1)


def accept(client: FlaskClient, path: str, password: str = CUSTOMER_PASSWORD):
    return client.post(path, data={"password": password, "csrf_token": csrf_token(client, path)})


def customer_with_login(
    app: Flask,
    staff_client: FlaskClient,
    customer: Customer,
    customer_client: FlaskClient | None = None,
) -> FlaskClient:
    """Invite, accept, and return a client logged in as the customer."""
    staff_invites(staff_client, customer)
    link = mailed_link(app, "invite", customer.email)
    customer_client = customer_client or app.test_client()
    assert accept(customer_client, link).status_code == 302
    return customer_client


def customer_login(
    client: FlaskClient, email: str, password: str = CUSTOMER_PASSWORD, next_path: str = ""
):
    path = "/portal/login" + (f"?next={next_path}" if next_path else "")
    return client.post(
        path,
        data={
            "email": email,
            "password": password,
            "csrf_token": csrf_token(client, "/portal/login"),
        },
    )


__all__ = [
    "accept",
    "customer_login",
    "customer_with_login",
    "login",
    "mailed_link",
    "staff_invites",
]
