"""Every route in the URL map, with every actor, under both feature flags: the access matrix.

The matrix below is the promise, written out: for each rule endpoint and method, what each
actor gets. A route added without a row here fails the test. URL parameters name designer
A's proof for customer A, so "another designer's (customer's) object answers 404" is checked.
Answers: a status ("200", "400", "404", "410"), "login" (302 to the staff login with next=),
"portal-login" (302 to the customer login with next=), or "-> /path" (302 to exactly that)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from proofdesk import passwords
from proofdesk.accounts import services as accounts
from proofdesk.accounts.models import User
from proofdesk.models import Base
from proofdesk.notifications.models import CustomerNotification, StaffNotification
from proofdesk.proofs.emails import notify_customer
from proofdesk.review.models import Comment, Decision
from tests.conftest import Factory, csrf_token, login
from tests.customer_login.helpers import customer_with_login, mailed_link
from tests.review.test_share_link import form_token, share_path

TITLE = "Matrix poster 4417"  # appears in a response only where the proof may be seen

ACTORS = (
    "admin",
    "designer_a",
    "designer_b",
    "customer_a",
    "customer_b",
    "anonymous",
    "link_holder",
    "revoked_link",
)
GROUPS = {
    "staff": ("admin", "designer_a", "designer_b"),
    "owner": ("admin", "designer_a"),  # may act on designer A's proof
    "customers": ("customer_a", "customer_b"),
}
CUSTOMER_LOGIN_BLUEPRINTS = {"portal", "portal_auth", "customer_login"}


def row(default: str, **cells: str) -> dict[str, str]:
    """Every actor gets `default`, except those named (alone or by group); later names win."""
    answers = dict.fromkeys(ACTORS, default)
    for name, answer in cells.items():
        for actor in GROUPS.get(name, (name,)):
            answers[actor] = answer
    return answers


STAFF_PAGE = row("login", staff="200")
ADMIN_PAGE = row("login", staff="404", admin="200")
PROOF_PAGE = row("login", owner="200", designer_b="404")
# Customer A's record and login: admins and designer A (the only designer with its proofs).
MANAGE_CUSTOMER_A = row("login", owner="200", designer_b="404")
PORTAL_PAGE = row("portal-login", customer_a="200", customer_b="404")
TO_CUSTOMER_A = "-> /customers/{customer_a}"


def share(answer: str, *, to_portal: bool = False) -> Callable[[bool, bool], dict[str, str]]:
    """A share-link route. Customers A and B and the link holder open the live link, the
    revoked-link holder the revoked one, staff and the anonymous visitor a guessed token.
    `answer` is what a live link gives; `to_portal` pages send customer A (whose proof it
    is) to the portal when customer login is on."""
    own_page = "-> /portal/proofs/{proof}"

    def expected(legacy: bool, login: bool) -> dict[str, str]:
        if legacy:
            return row(
                "404",
                link_holder=answer,
                customer_b=answer,
                customer_a=own_page if to_portal and login else answer,
            )
        if login:  # links are retired: to the customer login, nothing of the proof shown
            return row(
                "portal-login", customer_b="404", customer_a=own_page if to_portal else "404"
            )
        return row("410")

    return expected


Answers = dict[str, str] | Callable[[bool, bool], dict[str, str]]
MATRIX: dict[tuple[str, str], Answers] = {
    ("home", "GET"): row("-> /login", staff="-> /proofs"),
    ("healthz", "GET"): row("200"),
    ("static", "GET"): row("200"),
    # accounts
    ("accounts.login", "GET"): row("200", staff="-> /proofs"),
    ("accounts.login", "POST"): row("200", staff="-> /proofs"),
    ("accounts.logout", "POST"): row("login", staff="-> /login"),
    ("accounts.change_password", "GET"): STAFF_PAGE,
    ("accounts.change_password", "POST"): STAFF_PAGE,
    ("accounts.setup", "GET"): row("404"),  # an admin exists: setup links are dead
    ("accounts.setup", "POST"): row("404"),
    # admin
    ("admin.customers", "GET"): ADMIN_PAGE,
    ("admin.users", "GET"): ADMIN_PAGE,
    ("admin.new_user", "GET"): ADMIN_PAGE,
    ("admin.new_user", "POST"): ADMIN_PAGE,
    ("admin.edit_user", "GET"): ADMIN_PAGE,
    ("admin.edit_user", "POST"): ADMIN_PAGE,
    ("admin.deactivate_user", "POST"): row("login", staff="404", admin="-> /admin/users"),
    # notifications
    ("notifications.own_settings", "GET"): STAFF_PAGE,
    ("notifications.own_settings", "POST"): row("login", staff="400"),
    ("notifications.own_test", "POST"): row("login", staff="400"),
    ("notifications.admin_settings", "POST"): row("login", staff="404", admin="400"),
    ("notifications.admin_test", "POST"): row("login", staff="404", admin="400"),
    ("notifications.log", "GET"): ADMIN_PAGE,
    ("notifications.retry", "POST"): row("login", staff="404", admin="-> /admin/notifications"),
    ("notifications.retry_staff", "POST"): row(
        "login", staff="404", admin="-> /admin/notifications"
    ),
    # designer notifications: each staff user's own choices (an empty form is refused)
    ("designer_notifications.preferences", "GET"): STAFF_PAGE,
    ("designer_notifications.preferences", "POST"): row("login", staff="400"),
    # customers: every designer may find every customer (and upload for them); its record
    # and login only admins and the designers who alone have its proofs (customers/access.py)
    ("customers.index", "GET"): STAFF_PAGE,
    ("customers.new", "GET"): STAFF_PAGE,
    ("customers.new", "POST"): STAFF_PAGE,
    ("customers.show", "GET"): STAFF_PAGE,
    ("customers.edit", "GET"): MANAGE_CUSTOMER_A,
    ("customers.edit", "POST"): MANAGE_CUSTOMER_A,
    ("customer_login.invite", "POST"): row("login", owner=TO_CUSTOMER_A, designer_b="404"),
    ("customer_login.invite_all", "POST"): row("login", staff="-> /customers"),
    ("customer_login.invite_progress", "GET"): STAFF_PAGE,
    ("customer_login.invite_progress_json", "GET"): STAFF_PAGE,
    ("customer_login.send_reset", "POST"): row("login", owner=TO_CUSTOMER_A, designer_b="404"),
    ("customer_login.toggle_login", "POST"): row("login", owner=TO_CUSTOMER_A, designer_b="404"),
    # the customer's side of login
    ("portal_auth.login", "GET"): row("200", customers="-> /portal"),
    ("portal_auth.login", "POST"): row("200", customers="-> /portal"),
    ("portal_auth.logout", "POST"): row("-> /portal/login"),
    ("portal_auth.forgot", "GET"): row("200"),
    ("portal_auth.forgot", "POST"): row("-> /portal/login"),
    ("portal_auth.invite", "GET"): row("200"),  # a live invitation: the token is the key
    ("portal_auth.invite", "POST"): row("200"),
    ("portal_auth.reset", "GET"): row("200"),
    ("portal_auth.reset", "POST"): row("200"),
    ("portal_auth.change_password", "GET"): row("portal-login", customers="200"),
    ("portal_auth.change_password", "POST"): row("portal-login", customers="200"),
    # the portal
    ("portal.index", "GET"): row("portal-login", customers="200"),
    ("portal.show", "GET"): PORTAL_PAGE,
    ("portal.version", "GET"): PORTAL_PAGE,
    ("portal.compare", "GET"): PORTAL_PAGE,
    ("portal.diff", "GET"): PORTAL_PAGE,
    ("portal.page_image", "GET"): PORTAL_PAGE,
    ("portal.page_thumb", "GET"): PORTAL_PAGE,
    ("portal.original", "GET"): PORTAL_PAGE,
    ("portal.render_status", "GET"): PORTAL_PAGE,
    ("portal.comment", "POST"): row("portal-login", customer_a="400", customer_b="404"),
    ("portal.decision", "POST"): row("portal-login", customer_a="400", customer_b="404"),
    ("portal.withdraw", "POST"): row("portal-login", customer_a="400", customer_b="404"),
    ("portal.resolve", "POST"): row(
        "portal-login",
        customer_b="404",
        customer_a="-> /portal/proofs/{proof}/v/1#thread-{comment}",
    ),
    # staff proof pages
    ("proofs.dashboard", "GET"): STAFF_PAGE,
    ("proofs.new", "GET"): STAFF_PAGE,
    ("proofs.new", "POST"): row("login", staff="400"),
    ("proofs.show", "GET"): PROOF_PAGE,
    ("proofs.version", "GET"): PROOF_PAGE,
    ("proofs.compare", "GET"): PROOF_PAGE,
    ("proofs.diff", "GET"): PROOF_PAGE,
    ("proofs.approval_record", "GET"): PROOF_PAGE,
    ("proofs.page_image", "GET"): PROOF_PAGE,
    ("proofs.page_thumb", "GET"): PROOF_PAGE,
    ("proofs.original", "GET"): PROOF_PAGE,
    ("proofs.render_status", "GET"): PROOF_PAGE,
    ("proofs.new_version", "GET"): PROOF_PAGE,
    ("proofs.new_version", "POST"): row("login", owner="400", designer_b="404"),
    ("proofs.comment", "POST"): row("login", owner="400", designer_b="404"),
    ("proofs.resolve", "POST"): row(
        "login", designer_b="404", owner="-> /proofs/{proof}/v/1#thread-{comment}"
    ),
    ("proofs.lock", "POST"): row("login", owner="-> /proofs/{proof}", designer_b="404"),
    ("proofs.change_reminders", "POST"): row(
        "login", owner="-> /proofs/{proof}#reminders", designer_b="404"
    ),
    ("proofs.remind_now", "POST"): row(
        "login", owner="-> /proofs/{proof}#reminders", designer_b="404"
    ),
    ("proofs.share_link", "POST"): row("login", owner="-> /proofs/{proof}#share", designer_b="404"),
    # the share link
    ("review.show", "GET"): share("200", to_portal=True),
    ("review.version", "GET"): share("200", to_portal=True),
    ("review.compare", "GET"): share("200", to_portal=True),
    ("review.diff", "GET"): share("200"),
    ("review.page_image", "GET"): share("200"),
    ("review.page_thumb", "GET"): share("200"),
    ("review.original", "GET"): share("200"),
    ("review.render_status", "GET"): share("200"),
    ("review.comment", "POST"): share("400"),
    ("review.decision", "POST"): share("400"),
    ("review.withdraw", "POST"): share("400"),
    ("review.resolve", "POST"): share("-> /s/{live}/v/1#thread-{comment}"),
}

# What the POSTs send besides the CSRF token: forms that fail validation where there is a
# form, so that an allowed actor is answered by the view without changing anything.
BODIES: dict[str, Callable[[str], dict[str, str]]] = {
    # a field left out keeps its saved value (and an unticked box means "no"): say "empty"
    "admin.edit_user": lambda actor: {"name": "", "email": "", "active": "y"},
    "customers.edit": lambda actor: {"name": "", "email": ""},
    "notifications.own_settings": lambda actor: {"smtp-port": "0"},
    "notifications.admin_settings": lambda actor: {"smtp-port": "0"},
    "proofs.lock": lambda actor: {"action": "unlock"},
    "proofs.share_link": lambda actor: {"action": "issue"},
    # forgot is limited per email address: one address per actor
    "portal_auth.forgot": lambda actor: {"email": f"{actor}@nowhere.test"},
}
# Rows whose allowed POSTs end what later rows need (the share link, the live reset link,
# designer A's account, the sessions): walked last, in this order.
RUN_LAST = [
    ("proofs.share_link", "POST"),
    ("customer_login.send_reset", "POST"),
    ("admin.deactivate_user", "POST"),
    ("portal_auth.logout", "POST"),
    ("accounts.logout", "POST"),
]
UNCHANGED = {"400", "404", "405", "410", "login", "portal-login"}  # answers that change nothing
FLAGS = [(True, False), (True, True), (False, True), (False, False)]


def answers_for(key: tuple[str, str], legacy: bool, login: bool) -> dict[str, str]:
    blueprint = key[0].rpartition(".")[0]
    if blueprint in CUSTOMER_LOGIN_BLUEPRINTS and not login:
        return row("404")  # switched off: nothing there, for anyone, whatever the method
    answers = MATRIX[key]
    return answers(legacy, login) if callable(answers) else answers


# ---- the world: real objects, built once per test ------------------------------------------


@dataclass
class World:
    app: Flask
    ids: dict[str, Any]
    clients: dict[str, FlaskClient] = field(default_factory=dict)
    csrf: dict[str, str] = field(default_factory=dict)


def build_world(
    make_app: Callable[..., Flask], factory: Factory
) -> tuple[dict[str, Any], dict[str, str]]:
    """Designer A's proof for customer A, with a comment, an approval, a notification, a live
    and a revoked share link; customer A and B with logins; live invite and reset links.
    Returns the ids, and the session cookies of the two customers."""
    setup = make_app(CUSTOMER_LOGIN_ENABLED="true", LEGACY_PUBLIC_LINKS_ENABLED="true")
    admin = factory.user("admin")
    designer_a, designer_b = factory.user(name="Designer A"), factory.user(name="Designer B")
    customer_a, customer_b = factory.customer(name="Customer A"), factory.customer(name="Cust B")
    customer_c = factory.customer(name="Customer Without Login")
    proof = factory.proof(designer_a, customer_a, title=TITLE)
    staff = setup.test_client()
    login(staff, designer_a)
    revoked = share_path(staff, proof)
    token = form_token(staff.get(f"/proofs/{proof.id}").get_data(as_text=True))
    staff.post(f"/proofs/{proof.id}/share-link", data={"csrf_token": token, "action": "issue"})
    live = share_path(staff, proof)
    staff.post(
        f"/proofs/{proof.id}/comments", data={"csrf_token": token, "comment-body": "Matrix thread"}
    )
    office = setup.test_client()  # the admin invites the customers designer A has no proof for
    login(office, admin)
    customers = {
        name: customer_with_login(setup, manager, c)
        for name, c, manager in (
            ("customer_a", customer_a, staff),
            ("customer_b", customer_b, office),
        )
    }
    approved = customers["customer_a"].post(
        f"/portal/proofs/{proof.id}/decision",
        data={
            "csrf_token": csrf_token(customers["customer_a"], f"/portal/proofs/{proof.id}"),
            "decision": "approved",
        },
    )
    assert approved.status_code == 302, approved.get_data(as_text=True)
    session = factory.session
    with setup.app_context():
        notify_customer(
            session, proof=proof, version_number=1, custom_message=None, config=setup.config
        )
        session.commit()
    batch = office.post(
        "/customers/invite-all", data={"csrf_token": csrf_token(office, "/customers")}
    )
    invite = mailed_link(setup, "invite", customer_c.email)
    visitor = setup.test_client()
    visitor.post(
        "/portal/forgot",
        data={"email": customer_a.email, "csrf_token": csrf_token(visitor, "/portal/forgot")},
    )
    reset = mailed_link(setup, "reset", customer_a.email)
    ids = {
        "proof": proof.id,
        "designer_a": designer_a.id,
        "customer_a": customer_a.id,
        "comment": session.scalar(sa.select(Comment.id).where(Comment.proof_id == proof.id)),
        "decision": session.scalar(sa.select(Decision.id).where(Decision.proof_id == proof.id)),
        "note": session.scalar(
            sa.select(CustomerNotification.id).where(CustomerNotification.proof_id == proof.id)
        ),
        # the designer's email about the customer's decision
        "staff_note": session.scalar(
            sa.select(StaffNotification.id).where(StaffNotification.proof_id == proof.id)
        ),
        "batch": batch.headers["Location"].rsplit("/", 1)[1],
        "live": live.rsplit("/", 1)[1],
        "revoked": revoked.rsplit("/", 1)[1],
        "invite": invite.rsplit("/", 1)[1],
        "reset": reset.rsplit("/", 1)[1],
        "users": {"admin": admin, "designer_a": designer_a, "designer_b": designer_b},
    }
    assert None not in ids.values() and live != revoked, ids
    cookies = {name: c.get_cookie("session").value for name, c in customers.items()}
    return ids, cookies


def enter(world: World, actor: str, cookies: dict[str, str]) -> None:
    """The actor's client on the app under test, logged in, with a CSRF token for its session."""
    client = world.app.test_client()
    client.environ_base["REMOTE_ADDR"] = f"10.0.0.{ACTORS.index(actor) + 1}"  # own rate limits
    if actor in GROUPS["staff"]:
        login(client, world.ids["users"][actor])
    elif actor in cookies:
        client.set_cookie("session", cookies[actor])
    world.clients[actor] = client
    world.csrf[actor] = csrf_token(
        client, "/account/password" if actor in GROUPS["staff"] else "/login"
    )


# ---- walking the map -------------------------------------------------------------------------


def url(world: World, rule: str, endpoint: str, actor: str) -> str:
    ids = world.ids
    share_token = {
        "link_holder": ids["live"],
        "customer_a": ids["live"],
        "customer_b": ids["live"],
        "revoked_link": ids["revoked"],
    }.get(actor, "G" * 43)
    tokens = {
        "accounts.setup": "no-such-setup-token",
        "portal_auth.invite": ids["invite"],
        "portal_auth.reset": ids["reset"],
    }
    values = {
        "proof_id": ids["proof"],
        "number": 1,
        "page": 1,
        "a": 1,
        "b": 1,
        "comment_id": ids["comment"],
        "decision_id": ids["decision"],
        "user_id": ids["designer_a"],
        "customer_id": ids["customer_a"],
        "notification_id": ids["staff_note" if endpoint.endswith("_staff") else "note"],
        "batch_id": ids["batch"],
        "action": "enable",
        "filename": "app.css",
        "token": tokens.get(endpoint, share_token),
    }

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        assert name in values, f"{rule}: no value for <{name}>; add one in url()"
        return str(values[name])

    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", fill, rule)


def verdict(response: TestResponse, answer: str, world: World) -> str | None:
    """None when the response is the expected answer, else what it was."""
    location = response.headers.get("Location", "")
    got = f"{response.status_code} {location}".strip()
    if answer in {"login", "portal-login"}:
        prefix = "/login?next=" if answer == "login" else "/portal/login?next="
        ok = response.status_code == 302 and location.startswith(prefix)
    elif answer.startswith("-> "):
        ok = response.status_code == 302 and location == answer[3:].format(**world.ids)
    else:
        ok = response.status_code == int(answer)
    return None if ok else got


def may_show_proof(endpoint: str, actor: str, answer: str) -> bool:
    if answer not in {"200", "400"}:  # a page, or a page with a form's errors
        return False
    if endpoint.startswith("review."):
        return True  # a live link, while links are on
    return actor in GROUPS["owner"] or (actor == "customer_a" and endpoint.startswith("portal"))


# Counted by every limited request, allowed or not: that is their job, not a change of state.
NOT_STATE = {"rate_limit_counters"}


def fingerprint(app: Flask) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (last_seen_at aside: a session may be touched by any request)."""
    with app.extensions["db_engine"].connect() as conn:
        return {
            table.name: sorted(
                map(
                    tuple,
                    conn.execute(
                        sa.select(*[c for c in table.columns if c.name != "last_seen_at"])
                    ).all(),
                ),
                key=repr,
            )
            for table in Base.metadata.sorted_tables
            if table.name not in NOT_STATE
        }


def walk(world: World, rules: dict[tuple[str, str], str], legacy: bool, login: bool) -> list[str]:
    """Request every rule as every actor; the list of everything that was not as promised.
    First, rule by rule, the requests that must change nothing (a forbidden actor, a POST
    without CSRF, a rejected form), checking the database after each rule; then, in order,
    the allowed ones."""
    problems: list[str] = []
    order = [key for key in MATRIX if key not in RUN_LAST] + RUN_LAST
    answers = {key: answers_for(key, legacy, login) for key in order}
    before = fingerprint(world.app)
    for key in order:
        endpoint, method = key
        quiet = [(actor, True) for actor in ACTORS if answers[key][actor] in UNCHANGED]
        if method == "POST":  # CSRF is checked before anything else: the allowed actors
            # (whose POST would change something) and a stranger are enough to show it
            quiet += dict.fromkeys(
                [(actor, False) for actor in ACTORS if answers[key][actor] not in UNCHANGED]
                + [("anonymous", False)]
            )
        if not quiet:
            continue
        switched_off = not login and endpoint.rpartition(".")[0] in CUSTOMER_LOGIN_BLUEPRINTS
        for actor, with_csrf in quiet:
            answer = answers[key][actor] if with_csrf else "404" if switched_off else "400"
            problems += request(world, rules[key], key, actor, answer, with_csrf)
        after = fingerprint(world.app)
        problems += unchanged(key, before, after, quiet)
        before = after
    for key in order:
        for actor in ACTORS:
            if answers[key][actor] not in UNCHANGED:
                problems += request(world, rules[key], key, actor, answers[key][actor], True)
        if key == ("admin.deactivate_user", "POST"):
            reactivate(world, "designer_a")
    return problems


def request(
    world: World, rule: str, key: tuple[str, str], actor: str, answer: str, with_csrf: bool
) -> list[str]:
    endpoint, method = key
    client = world.clients[actor]
    path = url(world, rule, endpoint, actor)
    if method == "GET":
        response = client.get(path)
    else:
        data = BODIES.get(endpoint, lambda _: {})(actor)
        response = client.post(
            path, data={**data, "csrf_token": world.csrf[actor]} if with_csrf else data
        )
    where = f"{method} {path} as {actor}{'' if with_csrf else ' without CSRF'}"
    found = []
    got = verdict(response, answer, world)
    if got is not None:
        found.append(f"{where}: expected {answer}, got {got}")
    if TITLE.encode() in response.get_data() and not may_show_proof(endpoint, actor, answer):
        found.append(f"{where}: shows the proof ({TITLE!r}) to someone who may not see it")
    response.close()
    return found


def unchanged(
    key: tuple[str, str],
    before: dict[str, Any],
    after: dict[str, Any],
    quiet: list[tuple[str, bool]],
) -> list[str]:
    changed = [name for name in before if before[name] != after[name]]
    if not changed:
        return []
    who = ", ".join(actor + ("" if csrf else " (no CSRF)") for actor, csrf in quiet)
    return [
        f"{' '.join(key)}: requests that should change nothing ({who}) changed {', '.join(changed)}"
    ]


def reactivate(world: World, actor: str) -> None:
    """Undo admin's deactivation so that designer A can still be walked (log out, last)."""
    session = world.app.extensions["db_sessionmaker"]()
    user = session.get(User, world.ids["users"][actor].id)
    admin = session.get(User, world.ids["users"]["admin"].id)
    accounts.update_user(
        session,
        user=user,
        email=user.email,
        name=user.name,
        role=user.role,
        active=True,
        changed_by=admin,
        ip=None,
    )
    session.commit()
    session.close()
    enter(world, actor, {})


# ---- the test ------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def quick_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Still argon2id, with the cheapest parameters: the matrix is about access, and the
    dozen logins and invitations it needs per flag combination should not take seconds."""
    monkeypatch.setattr(
        passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


def rules_by_key(app: Flask) -> dict[tuple[str, str], str]:
    return {
        (rule.endpoint, method): rule.rule
        for rule in app.url_map.iter_rules()
        for method in rule.methods or ()
        if method not in {"HEAD", "OPTIONS"}
    }


@pytest.mark.parametrize(
    ("legacy", "login"),
    FLAGS,
    ids=[f"links-{'on' if a else 'off'}-login-{'on' if b else 'off'}" for a, b in FLAGS],
)
def test_every_route_answers_every_actor_as_promised(make_app, factory, legacy, login):
    ids, cookies = build_world(make_app, factory)
    app = make_app(
        LEGACY_PUBLIC_LINKS_ENABLED=str(legacy).lower(), CUSTOMER_LOGIN_ENABLED=str(login).lower()
    )
    rules = rules_by_key(app)
    missing, stale = sorted(set(rules) - set(MATRIX)), sorted(set(MATRIX) - set(rules))
    assert not missing and not stale, (
        f"the access matrix is out of date.\n  Routes without a row (add one to MATRIX in "
        f"{__file__}, saying what every actor gets): {missing}\n  Rows for routes that no "
        f"longer exist: {stale}"
    )
    world = World(app=app, ids=ids)
    for actor in ACTORS:
        enter(world, actor, cookies)
    problems = walk(world, rules, legacy, login)
    problems += wrong_methods(world, rules)
    assert not problems, f"{len(problems)} answers differ from the matrix:\n" + "\n".join(problems)


def wrong_methods(world: World, rules: dict[tuple[str, str], str]) -> list[str]:
    """A method a rule does not take answers 405."""
    problems = []
    client = world.clients["anonymous"]
    for (endpoint, method), rule in rules.items():
        other = "POST" if method == "GET" else "GET"
        if (endpoint, other) in rules:
            continue
        path = url(world, rule, endpoint, "anonymous")
        response = client.open(path, method=other)
        if response.status_code != 405:
            problems.append(f"{other} {path}: expected 405, got {response.status_code}")
    return problems
