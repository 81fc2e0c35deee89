"""The review screen's routes are declared once, in review/routes.py, and every audience has
them: staff under /proofs/<id>, a share link under /s/<token>, a customer under
/portal/proofs/<id>. Staff do not decide; the share link and the portal limit their forms."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest
from flask import Flask

from proofdesk.review import routes
from proofdesk.review.urls import ReviewUrls
from tests.conftest import csrf_token, login
from tests.customer_login.helpers import customer_with_login
from tests.review.test_share_link import form_token, share_path

SRC = Path(routes.__file__).resolve().parent.parent

# The review screen, written out: endpoint and rule after the audience's prefix.
SCREEN = {
    "show": "",
    "version": "/v/<int:number>",
    "comment": "/comments",
    "resolve": "/threads/<int:comment_id>",
    "decision": "/decision",
    "withdraw": "/decision/withdraw",
    "compare": "/compare",
    "diff": "/compare/<int:a>/<int:b>/pages/<int:page>",
    "page_image": "/v/<int:number>/pages/<int:page>",
    "page_thumb": "/v/<int:number>/thumbs/<int:page>",
    "original": "/v/<int:number>/file",
    "render_status": "/v/<int:number>/status",
}
DECIDING = {"decision", "withdraw"}
FORMS = {"comment", "resolve", "decision", "withdraw"}
# Blueprint: (its view module, the prefix in the URL map, the prefix its module would write).
AUDIENCES = {
    "proofs": ("proofs/views.py", "/proofs/<int:proof_id>", "/<int:proof_id>"),
    "review": ("review/views.py", "/s/<token>", ""),
    "portal": ("portal/views.py", "/portal/proofs/<int:proof_id>", "/proofs/<int:proof_id>"),
}


@pytest.fixture
def app(make_app):
    return make_app(CUSTOMER_LOGIN_ENABLED="true")


def _written_in(view) -> Path:
    return Path(inspect.unwrap(view).__code__.co_filename).resolve()


def screen_rules(app: Flask, blueprint: str) -> dict[str, str]:
    """The blueprint's endpoints whose view is written in review/routes.py, with their rules."""
    found = {}
    for rule in app.url_map.iter_rules():
        name, _, endpoint = rule.endpoint.partition(".")
        if (
            name == blueprint
            and _written_in(app.view_functions[rule.endpoint]) == Path(routes.__file__).resolve()
        ):
            found[endpoint] = rule.rule
    return found


def test_every_audience_has_the_review_screen_at_its_prefix(app):
    for blueprint, (_module, prefix, _local) in AUDIENCES.items():
        expected = {
            endpoint: prefix + rule
            for endpoint, rule in SCREEN.items()
            if blueprint != "proofs" or endpoint not in DECIDING
        }
        assert screen_rules(app, blueprint) == expected, blueprint
    assert not any(f"proofs.{endpoint}" in app.view_functions for endpoint in DECIDING)


def test_no_view_module_declares_a_review_route(app):
    """The view modules say only what differs; no endpoint of the screen is written twice."""
    for blueprint, (module, _prefix, local) in AUDIENCES.items():
        source = (SRC / module).read_text()
        declared = re.findall(r'(?:\.(?:get|post|route)|add_url_rule)\(\s*"([^"]*)"', source)
        assert declared, f"the pattern finds no route in {module}"
        assert not {local + rule for rule in SCREEN.values()} & set(declared), module
        for endpoint in SCREEN:
            view = app.view_functions.get(f"{blueprint}.{endpoint}")
            if view is not None:
                assert _written_in(view) == Path(routes.__file__).resolve(), endpoint


def test_review_urls_link_only_to_the_screen():
    linked = set(re.findall(r'_url\("(\w+)"', inspect.getsource(ReviewUrls)))
    assert linked == set(SCREEN)


def test_forms_are_rate_limited_for_share_links_and_customers_only(app, client, factory):
    designer = factory.user()
    customer = factory.customer()
    proof = factory.proof(designer, customer)
    login(client, designer)
    link = share_path(client, proof)
    visitor = app.test_client()
    portal = customer_with_login(app, client, customer)
    clients = {
        "proofs": (client, f"/proofs/{proof.id}", csrf_token(client, f"/proofs/{proof.id}")),
        "review": (visitor, link, form_token(visitor.get(link).get_data(as_text=True))),
        "portal": (portal, f"/portal/proofs/{proof.id}", csrf_token(portal, "/portal")),
    }

    def post(blueprint: str, endpoint: str):
        who, base, token = clients[blueprint]
        path = base + SCREEN[endpoint].replace("<int:comment_id>", "999999")
        return who.post(path, data={"csrf_token": token, "comment-csrf_token": token})

    for blueprint, (who, base, _token) in clients.items():
        page = who.get(base)
        assert page.status_code == 200 and "X-RateLimit-Limit" not in page.headers, blueprint
        for endpoint in sorted(FORMS):
            if blueprint == "proofs" and endpoint in DECIDING:
                continue
            response = post(blueprint, endpoint)
            assert response.status_code in {400, 404}, (blueprint, endpoint)
            limit = response.headers.get("X-RateLimit-Limit")
            assert limit == (None if blueprint == "proofs" else "30"), (blueprint, endpoint)

    # Each audience's endpoint counts on its own (one resolve above already counted).
    codes = [post("portal", "resolve").status_code for _ in range(30)]
    assert codes == [404] * 29 + [429]
    assert post("review", "resolve").status_code == 404
    assert [post("proofs", "resolve").status_code for _ in range(31)] == [404] * 31
