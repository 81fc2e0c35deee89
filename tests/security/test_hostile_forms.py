"""Hostile input to every form and query parameter, as the actor who may use it and with a
valid CSRF token: long strings, unicode, NUL, CR/LF, HTML/JS, numbers as text, negative and
huge numbers, repeated and unexpected keys. Whatever arrives, no request ends in a 500."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from proofdesk.accounts import services as accounts
from proofdesk.accounts.models import User
from proofdesk.customers.models import Customer
from proofdesk.notifications.models import CustomerNotification
from proofdesk.proofs.models import Proof
from proofdesk.review.models import Comment
from proofdesk.review.services import active_share_link, share_token
from proofdesk.web import limiter
from tests.conftest import PASSWORD, Factory, csrf_token, login, pdf_bytes, png_bytes
from tests.customer_login.helpers import (
    CUSTOMER_PASSWORD,
    customer_with_login,
    mailed_link,
    staff_invites,
)
from tests.proofs.test_views import post_multipart

# ---- what a hostile client sends ------------------------------------------------------------

NASTY = [
    "",
    " ",
    "\t",
    "\x00",
    "a\x00b",
    "\r",
    "\n",
    "\r\n",
    "x\r\nBcc: spy@evil.test",
    "Subject: hi\r\n\r\nbody",
    "\u2028",
    "\x85",
    "\x0b\x0c\x1c",
    "\ufeff",
    "\u202egnp.exe",
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "javascript:alert(1)",
    "{{7*7}}",
    "{proof_title}",
    "{0.__class__}",
    "%s%n%x",
    "' OR '1'='1' --",
    "\\",
    "%",
    "_",
    "../../../etc/passwd",
    "..\\..\\boot.ini",
    "/",
    "//evil.test/x",
    "https://evil.test",
    "\\\\evil.test\\x",
    "/\\evil.test",
    # numbers as text: negative, huge, not quite numbers, digits Python's int() refuses
    "0",
    "1",
    "2",
    "-1",
    "-0",
    "+1",
    "00",
    "1.5",
    "0.5",
    "1e-300",
    "1e309",
    "-1e309",
    "nan",
    "inf",
    "-inf",
    "1_000",
    "0x10",
    " 1",
    "1 ",
    "2147483648",
    "-2147483649",
    "9223372036854775808",
    "99999999999999999999999999",
    "9" * 400,
    "²",
    "①",
    "١٢٣",
    "𝟙",
    # dates and choices
    "2026-02-30",
    "0000-00-00",
    "9999-12-31",
    "10000-01-01",
    "-2026-01-01",
    "2026-13-01",
    "approved",
    "changes_requested",
    "revoke",
    "issue",
    "unlock",
    "reopen",
    "admin",
    "disable",
    "enable",
    "designer",
    "starttls",
    "ssl",
    "none",
    "sent",
    "failed",
    "queued",
    "awaiting_review",
    "y",
    "on",
    "true",
    "false",
    # email addresses
    "a@b",
    "@",
    "a@",
    "x@proofs.example.test",
    "ä@üñí.test",
    '"a b"@example.test',
    "a@[127.0.0.1]",
    "a@b.test\r\nBcc: spy@evil.test",
    "x" * 300 + "@example.test",
    "a@" + "b" * 300 + ".test",
    "a..b@example.test",
    "<a@b.test>",
    "a@b.test, c@d.test",
    # unicode
    "Ǆ",
    "ß",
    "İ",
    "😀" * 30,
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    "\u0301" * 50,
    "中文名字",
    "עברית",
]
LONG = st.builds(
    lambda piece, times: piece * times,
    st.sampled_from(["a", "é", "<b>", "\r\n", "😀", "9", "\x00", " "]),
    st.integers(200, 20_000),
)
HOSTILE = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=40),
    st.integers(-(2**70), 2**70).map(str),
    st.floats().map(repr),
    LONG,
)
# Keys a form does not expect, including url_for's own keyword arguments.
ODD_KEYS = [
    "_scheme",
    "_external",
    "_anchor",
    "_method",
    "endpoint",
    "values",
    "page",
    "proof_id",
    "token",
    "csrf_token[]",
    "__proto__",
    "a\x00b",
    "😀",
    "",
]


def fuzz(examples: int):
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


def form(
    valid: dict[str, str], *, values: st.SearchStrategy[str] = HOSTILE
) -> st.SearchStrategy[list[tuple[str, str]]]:
    """Form fields as pairs: the valid form, or the valid form with one field made hostile
    (or left out), so that requests get past the form to the service behind it, or every
    field hostile or missing; sometimes with a field twice or a key the form does not
    expect."""
    fields = list(valid)
    hostile = st.fixed_dictionaries({name: st.one_of(st.none(), values) for name in fields})
    one_bad = st.builds(
        lambda name, value: {**valid, name: value},
        st.sampled_from(fields),
        st.one_of(st.none(), values),
    )
    extra = st.lists(st.tuples(st.sampled_from(fields + ODD_KEYS), values), max_size=3)
    return st.builds(
        lambda chosen, more: [(k, v) for k, v in chosen.items() if v is not None] + more,
        st.one_of(st.just(valid), one_bad, hostile),
        extra,
    )


def query(valid: dict[str, str]) -> st.SearchStrategy[str]:
    return form(valid).map(lambda pairs: "&".join(f"{quote(k)}={quote(v)}" for k, v in pairs))


def survived(response, *, reached_the_form: bool = True) -> None:
    """Not a server error; and (for a post with its CSRF token) not the expired-form page,
    so the fields did reach the form."""
    body = response.get_data()
    assert response.status_code < 500, body[:2000].decode(errors="replace")
    if reached_the_form:
        assert b"This form has expired" not in body


def post(
    client: FlaskClient,
    path: str,
    token: str,
    pairs: list[tuple[str, str]],
    *,
    token_field: str = "csrf_token",
):
    limiter.reset()
    response = client.post(path, data=MultiDict([(token_field, token), *pairs]))
    survived(response)
    return response


def get(client: FlaskClient, path: str):
    limiter.reset()
    response = client.get(path)
    survived(response)
    return response


# ---- the actors and what they act on --------------------------------------------------------


@dataclass
class World:
    app: Flask
    admin: User
    designer: User
    other: User  # a designer the admin edits
    customer: Customer
    proof: Proof
    comment_id: int
    note_id: int
    share: str  # the share link's path, /s/<token>
    staff: FlaskClient  # the designer
    boss: FlaskClient  # the admin
    reviewer: FlaskClient  # a share-link holder, not logged in
    portal: FlaskClient  # the customer, logged in
    tokens: dict[str, str]  # CSRF token of each client


@pytest.fixture
def app(make_app):
    return make_app(CUSTOMER_LOGIN_ENABLED="true")


def small_png() -> bytes:
    return png_bytes(16, 12)


@pytest.fixture
def world(app: Flask, factory: Factory, db_session) -> World:
    admin, designer, other = factory.user("admin"), factory.user(), factory.user()
    customer = factory.customer(name="Cleo Customer")
    proof = factory.proof(designer, customer, data=pdf_bytes(2), filename="menu.pdf")
    staff, boss = app.test_client(), app.test_client()
    login(staff, designer)
    login(boss, admin)
    path = f"/proofs/{proof.id}/versions/new"
    assert (
        post_multipart(
            staff,
            path,
            {
                "csrf_token": csrf_token(staff, path),
                "notify": "y",
                "file": (io.BytesIO(pdf_bytes(3)), "v2.pdf"),
            },
        ).status_code
        == 302
    )
    comment = Comment(
        proof_id=proof.id, version_id=proof.versions[0].id, author_name="Ann", body="Bigger logo"
    )
    db_session.add(comment)
    db_session.commit()
    portal = customer_with_login(app, staff, customer)
    with app.app_context():
        share = f"/s/{share_token(active_share_link(db_session, proof))}"
    reviewer = app.test_client()
    note = db_session.scalar(
        sa.select(CustomerNotification.id).order_by(CustomerNotification.id.desc())
    )
    tokens = {
        "staff": csrf_token(staff, "/proofs/new"),
        "boss": csrf_token(boss, "/proofs/new"),
        "reviewer": csrf_token(reviewer, share),
        "portal": csrf_token(portal, f"/portal/proofs/{proof.id}"),
    }
    return World(
        app=app,
        admin=admin,
        designer=designer,
        other=other,
        customer=customer,
        proof=proof,
        comment_id=comment.id,
        note_id=note,
        share=share,
        staff=staff,
        boss=boss,
        reviewer=reviewer,
        portal=portal,
        tokens=tokens,
    )


# ---- staff login and first-admin setup ------------------------------------------------------


@pytest.fixture
def designer(factory) -> User:
    return factory.user(email="dana@studio.test")


@fuzz(25)
@given(data=form({"email": "dana@studio.test", "password": PASSWORD}), next_=HOSTILE)
def test_staff_login(client, designer, data, next_):
    post(client, f"/login?next={quote(next_)}", csrf_token(client, "/login"), data)
    if client.get("/login").status_code == 302:  # logged in, with a new session and token
        client.post("/logout", data={"csrf_token": csrf_token(client, "/proofs")})


@pytest.fixture
def setup_path(db_session) -> str:
    token = accounts.issue_setup_token(db_session)
    db_session.commit()
    return f"/setup/{token}"


@fuzz(25)
@given(
    data=form(
        {"name": "Ada Admin", "email": "ada@studio.test", "password": "a long admin passphrase"}
    ),
    path_token=HOSTILE,
)
def test_first_admin_setup(client, setup_path, data, path_token):
    if client.get(setup_path).status_code == 200:  # until an example makes the admin
        post(client, setup_path, csrf_token(client, setup_path), data)
    get(client, f"/setup/{quote(path_token, safe='')}")


# ---- Admin → Users, customers ---------------------------------------------------------------


@fuzz(30)
@given(draw=st.data())
def test_admin_user_forms(world, draw):
    new = draw.draw(
        form(
            {
                "name": "Bo Designer",
                "email": "bo@studio.test",
                "role": "designer",
                "password": "a long designer passphrase",
                "active": "y",
            }
        )
    )
    edit = draw.draw(
        form(
            {
                "name": "Other Designer",
                "email": world.other.email,
                "role": "designer",
                "active": "y",
            }
        )
    )
    post(world.boss, "/admin/users/new", world.tokens["boss"], new)
    post(world.boss, f"/admin/users/{world.other.id}/edit", world.tokens["boss"], edit)
    post(world.boss, f"/admin/users/{world.other.id}/deactivate", world.tokens["boss"], [])


CUSTOMER = {"name": "Cy Customer", "email": "cy@client.test", "company": "Cy & Co"}


@fuzz(30)
@given(new=form(CUSTOMER), draw=st.data(), back=HOSTILE)
def test_customer_forms(world, new, draw, back):
    edit = draw.draw(form({**CUSTOMER, "email": world.customer.email}))
    post(world.staff, f"/customers/new?back={quote(back)}", world.tokens["staff"], new)
    post(world.staff, f"/customers/{world.customer.id}/edit", world.tokens["staff"], edit)


# ---- uploads (every field but the file), comments, decisions --------------------------------


@fuzz(20)
@given(draw=st.data())
def test_upload_fields(world, draw):
    new = draw.draw(
        form(
            {
                "customer_id": str(world.customer.id),
                "title": "Shop sign",
                "message": "First draft",
                "due_date": "2026-12-01",
                "notify": "y",
                "require_terms": "y",
            }
        )
    )
    version = draw.draw(form({"message": "Bigger logo", "notify": "y"}))
    for path, pairs in (("/proofs/new", new), (f"/proofs/{world.proof.id}/versions/new", version)):
        data = MultiDict([("csrf_token", world.tokens["staff"]), *pairs])
        data.add("file", (io.BytesIO(small_png()), "art.png"))
        survived(post_multipart(world.staff, path, data))


@fuzz(30)
@given(draw=st.data())
def test_comment_and_pin_fields(world, draw):
    comment = draw.draw(
        form(
            {
                "comment-name": "Ann",
                "comment-body": "Bigger logo",
                "page": "1",
                "x": "0.25",
                "y": "0.5",
                "w": "0.5",
                "h": "0.25",
                "reply_to": str(world.comment_id),
                "version": "2",
            }
        )
    )
    resolve = draw.draw(form({"action": "reopen", "name": "Ann", "version": "1"}))
    staff, portal = f"/proofs/{world.proof.id}", f"/portal/proofs/{world.proof.id}"
    for client, base, who in (
        (world.staff, staff, "staff"),
        (world.reviewer, world.share, "reviewer"),
        (world.portal, portal, "portal"),
    ):
        post(client, f"{base}/comments", world.tokens[who], comment)
        post(client, f"{base}/threads/{world.comment_id}", world.tokens[who], resolve)


@fuzz(30)
@given(
    decision=form(
        {"decision": "approved", "name": "Ann", "comment": "Bigger logo", "accept_terms": "y"}
    ),
    withdraw=form({"withdraw-name": "Ann", "withdraw-reason": "Too soon"}),
)
def test_decision_and_withdraw_fields(world, decision, withdraw):
    portal = f"/portal/proofs/{world.proof.id}"
    for client, base, who in (
        (world.reviewer, world.share, "reviewer"),
        (world.portal, portal, "portal"),
    ):
        post(client, f"{base}/decision", world.tokens[who], decision)
        post(client, f"{base}/decision/withdraw", world.tokens[who], withdraw)


@fuzz(25)
@given(action=HOSTILE, link=HOSTILE, login_action=HOSTILE)
def test_staff_action_fields(world, action, link, login_action):
    proof, token = world.proof.id, world.tokens["staff"]
    post(world.staff, f"/proofs/{proof}/lock", token, [("action", action)])
    post(world.staff, f"/proofs/{proof}/lock", token, [("action", "unlock")])
    post(world.staff, f"/proofs/{proof}/share-link", token, [("action", link)])
    post(
        world.staff,
        f"/customers/{world.customer.id}/login/{quote(login_action, safe='')}",
        token,
        [],
    )
    post(
        world.boss,
        f"/admin/notifications/{world.note_id}/retry",
        world.tokens["boss"],
        [("next", link)],
    )


# ---- SMTP settings and Send Test Email ------------------------------------------------------

SMTP = {
    "smtp-host": "smtp.example.test",
    "smtp-port": "587",
    "smtp-security": "starttls",
    "smtp-username": "studio",
    "smtp-password": "smtp secret",
    "smtp-from_name": "Studio",
    "smtp-from_address": "hello@studio.test",
    "smtp-reply_to": "desk@studio.test",
}


@fuzz(30)
@given(own=form(SMTP), other=form(SMTP))
def test_smtp_settings_fields(world, own, other):
    # Saved settings are never tried here: no Send Test Email for these two users.
    post(world.staff, "/account/email", world.tokens["staff"], own, token_field="smtp-csrf_token")
    post(
        world.boss,
        f"/admin/users/{world.other.id}/email",
        world.tokens["boss"],
        other,
        token_field="smtp-csrf_token",
    )


@fuzz(30)
@given(to=form({"test-to": "me@studio.test"}))
def test_send_test_email_fields(world, to):
    # Users without SMTP settings: the test goes to the default mailer (the mailbox folder).
    post(
        world.staff, "/account/email/test", world.tokens["staff"], to, token_field="test-csrf_token"
    )
    post(
        world.boss,
        f"/admin/users/{world.other.id}/email/test",
        world.tokens["boss"],
        to,
        token_field="test-csrf_token",
    )


# ---- customer login, forgotten password, reset and invite links -----------------------------


@pytest.fixture
def token_links(app, factory) -> tuple[str, str, str]:
    """A customer with a login, a live invitation link and a live password-reset link (for
    another customer, so that a reset does not change the password the login uses)."""
    staff = app.test_client()
    login(staff, factory.user("admin"))
    invited, resetting, logging_in = factory.customer(), factory.customer(), factory.customer()
    customer_with_login(app, staff, logging_in)
    customer_with_login(app, staff, resetting)
    staff_invites(staff, invited)
    invite = mailed_link(app, "invite", invited.email)
    page = f"/customers/{resetting.id}"
    staff.post(f"{page}/reset", data={"csrf_token": csrf_token(staff, page)})
    return logging_in.email, invite, mailed_link(app, "reset", resetting.email)


@fuzz(20)
@given(draw=st.data(), next_=HOSTILE, path_token=HOSTILE)
def test_portal_auth_fields(app, token_links, draw, next_, path_token):
    email, *links = token_links
    login_form = draw.draw(form({"email": email, "password": CUSTOMER_PASSWORD}))
    forgot = draw.draw(form({"email": email}))
    password = draw.draw(form({"password": "a fresh customer passphrase"}))
    # A new visitor for each request: a login or a redeemed link logs the visitor in.
    paths = [(f"/portal/login?next={quote(next_)}", login_form), ("/portal/forgot", forgot)]
    paths += [(link, password) for link in links]
    paths += [
        (f"/portal/{kind}/{quote(path_token, safe='')}", password) for kind in ("invite", "reset")
    ]
    for path, pairs in paths:
        visitor = app.test_client()
        post(visitor, path, csrf_token(visitor, "/portal/forgot"), pairs)


# ---- query parameters: My Proofs, customers, Admin → Notifications, compare -----------------


@pytest.fixture
def crowd(world, factory) -> World:
    """Enough proofs and customers for a second page, so the pager is shown."""
    for _ in range(26):
        factory.proof(world.designer, world.customer, data=small_png(), filename="a.png")
    for _ in range(51):
        factory.customer()
    return world


@fuzz(40)
@given(draw=st.data())
def test_query_parameters(crowd, draw):
    world = crowd
    mine = draw.draw(
        query(
            {
                "status": "awaiting_review",
                "customer": str(world.customer.id),
                "q": "Shop",
                "page": "2",
            }
        )
    )
    customers = draw.draw(query({"q": "Customer", "page": "2"}))
    log = draw.draw(
        query(
            {
                "status": "queued",
                "designer": str(world.designer.id),
                "customer": str(world.customer.id),
                "since": "2020-01-01",
                "until": "2099-12-31",
                "page": "1",
            }
        )
    )
    compare = draw.draw(query({"a": "1", "b": "2"}))
    portal = draw.draw(query({"page": "2"}))
    get(world.staff, f"/proofs?{mine}")
    get(world.boss, f"/proofs?{mine}")
    get(world.staff, f"/customers?{customers}")
    get(world.staff, f"/customers/{world.customer.id}?{customers}")
    get(world.boss, f"/admin/customers?{customers}")
    get(world.boss, f"/admin/notifications?{log}")
    get(world.portal, f"/portal?{portal}")
    get(world.staff, f"/proofs/{world.proof.id}/compare?{compare}")
    get(world.reviewer, f"{world.share}/compare?{compare}")
    get(world.portal, f"/portal/proofs/{world.proof.id}/compare?{compare}")


def test_pager_keeps_query_arguments_in_the_query(crowd):
    """Arguments named like url_for's own options or the path's values stay in the query of
    the pager's links: no error page, no link to another scheme, host or path."""
    hostile = "_scheme=javascript&_external=1&_method=POST&_anchor=x&endpoint=x&customer_id=x"
    for client, path in (
        (crowd.staff, "/proofs"),
        (crowd.staff, "/customers"),
        (crowd.staff, f"/customers/{crowd.customer.id}"),
        (crowd.portal, "/portal"),
    ):
        page = get(client, f"{path}?page=2&{hostile}").get_data(as_text=True)
        links = re.findall(r'<nav class="pager".*?</nav>', page, re.S)
        assert links, f"no pager on {path}"
        hrefs = re.findall(r'href="([^"]*)"', links[0])
        assert hrefs and all(href.startswith(f"{path}?page=") for href in hrefs), hrefs


def _get_routes(app: Flask) -> list[str]:
    return sorted(
        rule.rule
        for rule in app.url_map.iter_rules()
        if "GET" in rule.methods and rule.endpoint != "static"
    )


@fuzz(60)
@given(draw=st.data(), segment=HOSTILE)
def test_every_page_with_hostile_query_and_path(crowd, draw, segment):
    """Every GET route as the actor who may see it, with a hostile query string and hostile
    text in its string path segments."""
    world = crowd
    rule = draw.draw(st.sampled_from(_get_routes(world.app)))
    args = draw.draw(
        query(
            {
                "page": "2",
                "q": "Shop",
                "status": "approved",
                "a": "1",
                "b": "2",
                "next": "/proofs",
                "customer": str(world.customer.id),
            }
        )
    )
    version = world.proof.current_version
    path = (
        rule.replace("<int:proof_id>", str(world.proof.id))
        .replace("<int:number>", str(version))
        .replace("<int:page>", "1")
        .replace("<int:a>", "1")
        .replace("<int:b>", str(version))
        .replace("<int:customer_id>", str(world.customer.id))
        .replace("<int:user_id>", str(world.other.id))
        .replace("<int:decision_id>", "1")
        .replace("<int:notification_id>", str(world.note_id))
        .replace("<int:comment_id>", str(world.comment_id))
    )
    if path.startswith("/s/"):
        path, client = world.share + path.removeprefix("/s/<token>"), world.reviewer
    elif path.startswith("/portal"):
        client = world.portal
    else:
        client = world.boss
    for name in ("<token>", "<batch_id>", "<action>"):
        path = path.replace(name, quote(segment, safe="") or "x")
    get(client, f"{path}?{args}")


# ---- bodies no browser sends ----------------------------------------------------------------

RAW_BODIES = [
    b"email=%FF%FE%00&password=%C3%28&name=%ED%A0%80",  # invalid UTF-8, NUL, a lone surrogate
    b"email=" + b"%00" * 1000,
    b"&".join(b"k%d=v" % n for n in range(5000)),  # far more fields than any form
    b"email=a&email=b&" * 500,
    b"=&&==&%&%%&a=%ZZ",
    b"\x00\xff\xfe" * 100,
]


def test_bodies_no_browser_sends(world, client):
    token = world.tokens["staff"]
    targets = [
        (client, "/login", csrf_token(client, "/login")),
        (client, "/portal/forgot", csrf_token(client, "/portal/forgot")),
        (world.staff, "/customers/new", token),
        (world.staff, "/account/email", token),
        (world.staff, f"/proofs/{world.proof.id}/comments", token),
        (world.reviewer, f"{world.share}/decision", world.tokens["reviewer"]),
    ]
    for body in RAW_BODIES:
        for who, path, csrf in targets:
            for content_type in (
                "application/x-www-form-urlencoded",
                "multipart/form-data; boundary=x",
                "application/json",
                "text/plain",
            ):
                limiter.reset()
                survived(
                    who.post(
                        path, data=body + b"&csrf_token=" + csrf.encode(), content_type=content_type
                    ),
                    reached_the_form=False,
                )
