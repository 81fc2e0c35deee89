"""Every text a person can type appears escaped: in the staff, share-link and portal pages,
the dashboards, the admin lists and the notification log, and in the HTML part of every
email. And no typed text gets a line break into a mail header."""

from __future__ import annotations

import email
import email.policy
import io
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from markupsafe import escape

from proofdesk.customers.models import Customer
from proofdesk.notifications.models import CustomerNotification
from proofdesk.proofs.models import Proof
from proofdesk.review.services import active_share_link, share_token
from proofdesk.worker import run_once
from tests.conftest import csrf_token, login, png_bytes
from tests.customer_login.helpers import accept, mailed_link, staff_invites
from tests.mailserver import mailbox, text_and_html
from tests.proofs.test_views import post_multipart

RAW = "<img src=x onerror"  # the start of every payload: never in a page as markup


def payload(tag: str) -> str:
    """Markup that would run script if it reached a page unescaped; the tag says whose it is.
    No slash and no double quote, so that it survives as a file name (a browser sends a
    double quote in a file name as %22)."""
    return f"<img src=x onerror=alert('{tag}') data-x='{tag}'>&amp;"


def shown(tag: str) -> str:
    return str(escape(payload(tag)))


@pytest.fixture
def app(make_app):
    return make_app(CUSTOMER_LOGIN_ENABLED="true")


def _post(client, path, data, *, token_page=None, field="csrf_token"):
    token = (
        csrf_token(client, token_page or path)
        if field == "csrf_token"
        else _prefixed_token(client, token_page or path, field)
    )
    response = client.post(path, data={field: token, **data})
    assert response.status_code in (200, 302), response.get_data(as_text=True)[:1000]
    return response


def _prefixed_token(client, path, field):
    page = client.get(path).get_data(as_text=True)
    match = re.search(rf'name="{field}" type="hidden" value="([^"]+)"', page)
    assert match, f"no {field} on {path}"
    return match.group(1)


def _upload(client, path, form):
    token = csrf_token(client, path)
    response = post_multipart(client, path, {"csrf_token": token, **form})
    assert response.status_code == 302, response.get_data(as_text=True)[:1000]
    return response


@pytest.fixture
def everything(app, factory, db_session):
    """Everything a person can type, each with its own payload, typed through the forms by
    the person who may type it."""
    admin = factory.user("admin")
    boss = app.test_client()
    login(boss, admin)
    _post(
        boss,
        "/admin/users/new",
        {
            "name": payload("user-name"),
            "email": "dee@studio.test",
            "role": "designer",
            "password": "a long designer passphrase",
        },
    )
    designer_id = db_session.scalar(sa.text("SELECT id FROM users WHERE email='dee@studio.test'"))
    staff = app.test_client()
    staff.post(
        "/login",
        data={
            "email": "dee@studio.test",
            "password": "a long designer passphrase",
            "csrf_token": csrf_token(staff, "/login"),
        },
    )
    _post(
        staff,
        "/account/email",
        {
            "smtp-host": "smtp.example.test",
            "smtp-port": "587",
            "smtp-security": "starttls",
            "smtp-from_name": payload("smtp-from-name"),
            "smtp-from_address": "dee@studio.test",
        },
        field="smtp-csrf_token",
    )
    _post(
        staff,
        "/customers/new",
        {
            "name": payload("customer-name"),
            "email": "cy@client.test",
            "company": payload("customer-company"),
        },
    )
    customer = db_session.scalar(sa.select(Customer))
    _upload(
        staff,
        "/proofs/new",
        {
            "customer_id": str(customer.id),
            "title": payload("proof-title"),
            "message": payload("proof-message"),
            "file": (io.BytesIO(png_bytes(60, 40)), payload("file-name") + ".png"),
        },
    )
    proof = db_session.scalar(sa.select(Proof))
    _post(
        staff,
        f"/proofs/{proof.id}/comments",
        {"comment-body": payload("staff-comment"), "page": "1", "x": "0.5", "y": "0.5"},
        token_page=f"/proofs/{proof.id}",
    )
    with app.app_context():
        share = f"/s/{share_token(active_share_link(db_session, proof))}"
    reviewer = app.test_client()
    _post(
        reviewer,
        f"{share}/comments",
        {"comment-name": payload("reviewer-name"), "comment-body": payload("reviewer-comment")},
        token_page=share,
    )
    _post(
        reviewer,
        f"{share}/decision",
        {
            "decision": "changes_requested",
            "name": payload("decision-name"),
            "comment": payload("decision-comment"),
        },
        token_page=share,
    )
    # The customer is invited, sets a password and comments in the portal.
    staff_invites(staff, customer)
    portal = app.test_client()
    assert accept(portal, mailed_link(app, "invite", customer.email)).status_code == 302
    _post(
        portal,
        f"/portal/proofs/{proof.id}/comments",
        {"comment-body": payload("portal-comment")},
        token_page=f"/portal/proofs/{proof.id}",
    )
    return {
        "app": app,
        "boss": boss,
        "staff": staff,
        "reviewer": reviewer,
        "portal": portal,
        "proof": proof,
        "share": share,
        "customer": customer,
        "designer_id": designer_id,
    }


# Where each text must be seen (escaped): the page proves the test would catch it raw.
EXPECTED = {
    "user-name": [
        "boss:/admin/users",
        "boss:/admin/users/{designer_id}/edit",
        "boss:/admin/notifications",
        "staff:/proofs/{proof_id}",
    ],
    "smtp-from-name": ["staff:/account/email", "boss:/admin/users/{designer_id}/edit"],
    "customer-name": [
        "staff:/customers",
        "staff:/customers/{customer_id}",
        "staff:/proofs",
        "staff:/proofs/{proof_id}",
        "boss:/admin/customers",
        "boss:/admin/notifications",
        "staff:/proofs/new",
        "staff:/customers/{customer_id}/edit",
    ],
    "customer-company": ["staff:/customers", "staff:/customers/{customer_id}"],
    "proof-title": [
        "staff:/proofs",
        "staff:/proofs/{proof_id}",
        "reviewer:{share}",
        "portal:/portal",
        "portal:/portal/proofs/{proof_id}",
        "staff:/customers/{customer_id}",
        "staff:/proofs/{proof_id}/compare",
        "boss:/proofs",
    ],
    "proof-message": [
        "staff:/proofs/{proof_id}",
        "reviewer:{share}",
        "portal:/portal/proofs/{proof_id}",
    ],
    "file-name": ["staff:/proofs/{proof_id}"],
    "staff-comment": [
        "staff:/proofs/{proof_id}",
        "reviewer:{share}",
        "portal:/portal/proofs/{proof_id}",
    ],
    "reviewer-name": [
        "staff:/proofs/{proof_id}",
        "reviewer:{share}",
        "portal:/portal/proofs/{proof_id}",
    ],
    "reviewer-comment": [
        "staff:/proofs/{proof_id}",
        "reviewer:{share}",
        "portal:/portal/proofs/{proof_id}",
    ],
    "decision-name": ["staff:/proofs/{proof_id}", "reviewer:{share}"],
    "decision-comment": ["staff:/proofs/{proof_id}", "reviewer:{share}"],
    "portal-comment": ["staff:/proofs/{proof_id}", "portal:/portal/proofs/{proof_id}"],
}


def _pages(everything) -> dict[str, str]:
    values = {
        "proof_id": everything["proof"].id,
        "customer_id": everything["customer"].id,
        "designer_id": everything["designer_id"],
        "share": everything["share"],
    }
    wanted = sorted(
        {page for pages in EXPECTED.values() for page in pages}
        | {
            "staff:/proofs/{proof_id}/v/1",
            "reviewer:{share}/compare",
            "portal:/portal/proofs/{proof_id}/compare",
            "boss:/admin/users/new",
            "boss:/proofs/{proof_id}",
            "boss:/customers",
        }
    )
    pages = {}
    for key in wanted:
        who, path = key.split(":", 1)
        response = everything[who].get(path.format(**values))
        assert response.status_code == 200, (key, response.status_code)
        pages[key] = response.get_data(as_text=True)
    return pages


def test_typed_text_is_escaped_in_every_page(everything):
    pages = _pages(everything)
    for key, page in pages.items():
        assert RAW not in page, f"unescaped markup on {key}"
    for tag, where in EXPECTED.items():
        for key in where:
            assert shown(tag) in pages[key], f"{tag} is not shown on {key}"


def test_typed_text_is_escaped_in_the_html_of_every_email(everything, factory, db_session):
    app, staff = everything["app"], everything["staff"]
    proof = everything["proof"]
    # A proof email with the designer's own message, and one with the standard text.
    path = f"/proofs/{proof.id}/versions/new"
    _upload(
        staff,
        path,
        {
            "notify": "y",
            "message": payload("version-message"),
            "file": (io.BytesIO(png_bytes(60, 40)), "v2.png"),
        },
    )
    _upload(staff, path, {"notify": "y", "file": (io.BytesIO(png_bytes(60, 40)), "v3.png")})
    customer = everything["customer"]
    page = f"/customers/{customer.id}"
    _post(staff, f"{page}/reset", {}, token_page=page)
    # Send Test Email through the default mailer, for a user whose name is a payload.
    boss = everything["boss"]
    _post(
        boss,
        f"/admin/users/{everything['designer_id']}/email",
        {},
        field="smtp-csrf_token",
        token_page=f"/admin/users/{everything['designer_id']}/edit",
    )  # back to the default
    _post(
        boss,
        f"/admin/users/{everything['designer_id']}/email/test",
        {"test-to": "check@studio.test"},
        field="test-csrf_token",
        token_page=f"/admin/users/{everything['designer_id']}/edit",
    )
    run_once(app)
    messages = mailbox(app.config["MAIL_MAILBOX_DIR"])
    by_subject = {m["Subject"]: m for m in messages}
    assert len(messages) == 6, list(by_subject)
    expected = {  # part of the subject → the payloads its HTML must show escaped
        "invited to review": ["customer-name"],
        "choose a new password": ["customer-name"],
        "(version 2)": ["version-message"],
        "(version 3)": ["customer-name", "proof-title", "user-name"],
        "test email": ["user-name"],
        # the designer hears of the reviewer's change request, with their comment
        "requested changes:": ["decision-name", "proof-title"],
    }
    for subject_part, tags in expected.items():
        [message] = [m for s, m in by_subject.items() if subject_part in s]
        text, html = text_and_html(message)
        assert RAW not in html, f"unescaped markup in the mail '{message['Subject']}'"
        for tag in tags:
            assert shown(tag) in html, f"{tag} not shown in '{message['Subject']}'"
            assert payload(tag) in text  # the plain text shows what was typed
    # A title is one line even in a subject: the payload is there, on the Subject line.
    assert (
        payload("proof-title")
        in by_subject[next(s for s in by_subject if "(version 3)" in s)]["Subject"]
    )


# ---- line breaks never reach a mail header --------------------------------------------------

INJECTION = "Q3 menu\r\nBcc: spy@evil.test\r\nX-Injected: yes"


def _headers_of_raw_mails(folder: str) -> list[list[str]]:
    heads = []
    for path in sorted(Path(folder).glob("*.eml")):
        raw = path.read_bytes().split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
        heads.append(raw.decode("utf-8", "replace").splitlines())
    return heads


def _assert_no_injected_headers(folder: str) -> None:
    for lines in _headers_of_raw_mails(folder):
        names = {line.split(":", 1)[0].lower() for line in lines if line[:1] not in " \t"}
        assert not names & {"bcc", "x-injected"}, lines


def test_a_title_with_line_breaks_stays_on_the_subject_line(app, client, factory, db_session):
    designer, customer = factory.user(), factory.customer()
    login(client, designer)
    _upload(
        client,
        "/proofs/new",
        {
            "customer_id": str(customer.id),
            "title": INJECTION,
            "notify": "y",
            "file": (io.BytesIO(png_bytes(60, 40)), "menu.png"),
        },
    )
    run_once(app)
    [message] = mailbox(app.config["MAIL_MAILBOX_DIR"])
    assert message["Subject"] == (
        "Proof ready for review: Q3 menu Bcc: spy@evil.test X-Injected: yes (version 1)"
    )
    assert message["Bcc"] is None and message["X-Injected"] is None
    _assert_no_injected_headers(app.config["MAIL_MAILBOX_DIR"])


def test_line_breaks_in_a_header_field_are_refused_next_to_the_field(client, factory):
    login(client, factory.user())
    token = _prefixed_token(client, "/account/email", "smtp-csrf_token")
    response = client.post(
        "/account/email",
        data={
            "smtp-csrf_token": token,
            "smtp-host": "smtp.example.test",
            "smtp-port": "587",
            "smtp-security": "starttls",
            "smtp-from_name": INJECTION,
            "smtp-from_address": "me@studio.test",
        },
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    box = page[page.index('id="smtp-from_name"') :]
    assert "Line breaks are not allowed here." in box[: box.index("</div>")]
    token = _prefixed_token(client, "/account/email", "test-csrf_token")
    response = client.post(
        "/account/email/test",
        data={"test-csrf_token": token, "test-to": "me@studio.test\r\nBcc: spy@evil.test"},
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    box = page[page.index('id="test-to"') :]
    assert "Enter a valid email address." in box[: box.index("</div>")]


def test_a_user_name_with_line_breaks_never_reaches_a_header(app, factory, db_session):
    """A name typed with line breaks (only a crafted request can) is kept on one line, so the
    proof email's From and the Send Test Email go out without extra headers."""
    boss = app.test_client()
    login(boss, factory.user("admin"))
    _post(
        boss,
        "/admin/users/new",
        {
            "name": INJECTION,
            "email": "eve@studio.test",
            "role": "designer",
            "password": "a long designer passphrase",
        },
    )
    eve = db_session.scalar(sa.text("SELECT id FROM users WHERE email='eve@studio.test'"))
    _post(
        boss,
        f"/admin/users/{eve}/email/test",
        {"test-to": "check@studio.test"},
        field="test-csrf_token",
        token_page=f"/admin/users/{eve}/edit",
    )
    staff = app.test_client()
    staff.post(
        "/login",
        data={
            "email": "eve@studio.test",
            "password": "a long designer passphrase",
            "csrf_token": csrf_token(staff, "/login"),
        },
    )
    customer = factory.customer()
    _upload(
        staff,
        "/proofs/new",
        {
            "customer_id": str(customer.id),
            "title": "Menu",
            "notify": "y",
            "file": (io.BytesIO(png_bytes(60, 40)), "menu.png"),
        },
    )
    run_once(app)
    notes = db_session.scalars(sa.select(CustomerNotification)).all()
    assert [n.status for n in notes] == ["sent"]
    messages = mailbox(app.config["MAIL_MAILBOX_DIR"])
    assert len(messages) == 2
    for message in messages:
        assert "Bcc" not in message and "X-Injected" not in message
    _assert_no_injected_headers(app.config["MAIL_MAILBOX_DIR"])
    raw = b"".join(p.read_bytes() for p in Path(app.config["MAIL_MAILBOX_DIR"]).glob("*.eml"))
    parsed = [
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
        for p in Path(app.config["MAIL_MAILBOX_DIR"]).glob("*.eml")
    ]
    assert any("Q3 menu Bcc: spy@evil.test X-Injected: yes" in str(m["From"]) for m in parsed)
    assert b"\nBcc:" not in raw
