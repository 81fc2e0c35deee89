"""The review screen's routes, declared once. Staff (`proofs`), share link (`review`) and
portal (`portal`) each add them to their blueprint, saying only what differs: where the proof
sits in the URL, how it is loaded (and who may see it), who is looking, the guard in front,
the rate limit on forms, whether the audience decides, and what opening (or looking at) the
screen records.

Endpoint names are the same in every blueprint: `ReviewUrls` links by them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint
from werkzeug.wrappers import Response

from proofdesk.db import get_session
from proofdesk.proofs import serving
from proofdesk.proofs.models import Proof, ProofVersion
from proofdesk.review import screen
from proofdesk.web import limiter

View = Callable[..., Any]

# (endpoint, rule after the prefix, methods): what `review_routes` adds, in this order.
# `decision` and `withdraw` only for an audience that decides.
ROUTES = (
    ("show", "", ["GET"]),
    ("version", "/v/<int:number>", ["GET"]),
    ("comment", "/comments", ["POST"]),
    ("resolve", "/threads/<int:comment_id>", ["POST"]),
    ("decision", "/decision", ["POST"]),
    ("withdraw", "/decision/withdraw", ["POST"]),
    ("compare", "/compare", ["GET"]),
    ("diff", "/compare/<int:a>/<int:b>/pages/<int:page>", ["GET"]),
    ("page_image", "/v/<int:number>/pages/<int:page>", ["GET"]),
    ("page_thumb", "/v/<int:number>/thumbs/<int:page>", ["GET"]),
    ("original", "/v/<int:number>/file", ["GET"]),
    ("render_status", "/v/<int:number>/status", ["GET"]),
)
FORMS = {"comment", "resolve", "decision", "withdraw"}  # rate-limited with `form_limit`
DECIDING = {"decision", "withdraw"}


def review_routes(
    bp: Blueprint,
    *,
    prefix: str,
    load_proof: Callable[..., Proof],
    audience: Callable[[Proof], screen.Audience],
    guard: Callable[[View], View] | None = None,
    form_limit: str | None = None,
    decides: bool = True,
    on_open: Callable[[Proof], None] | None = None,
    on_look: Callable[[Proof], None] | None = None,
) -> None:
    """Add the review screen's endpoints to `bp`, each at `prefix` + its rule.

    `load_proof` takes the URL values of the prefix (`proof_id`, or none for a share link,
    whose token the blueprint handles) and returns the proof or aborts. `guard` wraps every
    view (a login check); `form_limit` is a Flask-Limiter limit on each form POST, checked
    after the guard and before the proof is loaded; `on_open` runs when the screen opens
    (not on another version), `on_look` on the screen of any version."""

    def version_of(number: int, ids: dict[str, Any]) -> ProofVersion:
        return serving.version_or_404(get_session(), load_proof(**ids), number)

    def show(**ids: Any) -> tuple[str, int]:
        proof = load_proof(**ids)
        if on_open is not None:
            on_open(proof)
        if on_look is not None:
            on_look(proof)
        return screen.page(proof, None, who=audience(proof))

    def version(number: int, **ids: Any) -> tuple[str, int]:
        proof = load_proof(**ids)
        if on_look is not None:
            on_look(proof)
        return screen.page(proof, number, who=audience(proof))

    def comment(**ids: Any) -> Response | tuple[str, int]:
        proof = load_proof(**ids)
        return screen.comment(proof, who=audience(proof))

    def resolve(comment_id: int, **ids: Any) -> Response:
        proof = load_proof(**ids)
        return screen.resolve(proof, comment_id, who=audience(proof))

    def decision(**ids: Any) -> Response | tuple[str, int]:
        proof = load_proof(**ids)
        return screen.decision(proof, who=audience(proof))

    def withdraw(**ids: Any) -> Response | tuple[str, int]:
        proof = load_proof(**ids)
        return screen.withdraw(proof, who=audience(proof))

    def compare(**ids: Any) -> str:
        proof = load_proof(**ids)
        return screen.compare(proof, who=audience(proof))

    def diff(a: int, b: int, page: int, **ids: Any) -> Response:
        return screen.diff(load_proof(**ids), a, b, page)

    def page_image(number: int, page: int, **ids: Any) -> Response:
        return serving.send_page(version_of(number, ids), page, thumb=False)

    def page_thumb(number: int, page: int, **ids: Any) -> Response:
        return serving.send_page(version_of(number, ids), page, thumb=True)

    def original(number: int, **ids: Any) -> Response:
        return serving.send_original(version_of(number, ids))

    def render_status(number: int, **ids: Any) -> Response:
        return serving.render_status(version_of(number, ids))

    views: dict[str, View] = {
        view.__name__: view
        for view in (show, version, comment, resolve, decision, withdraw, compare, diff)
        + (page_image, page_thumb, original, render_status)
    }
    for endpoint, rule, methods in ROUTES:
        if endpoint in DECIDING and not decides:
            continue
        view = views[endpoint]
        # Flask-Limiter files a limit under the function's qualified name, the same closure
        # name in every blueprint: give each its own, or audiences would share their limits.
        view.__qualname__ = f"{bp.name}.{endpoint}"
        if form_limit is not None and endpoint in FORMS:
            view = limiter.limit(form_limit)(view)
        if guard is not None:
            view = guard(view)
        bp.add_url_rule(prefix + rule, endpoint, view, methods=methods)
