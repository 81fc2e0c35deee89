"""The share link (the legacy public link): view a proof, comment, approve, request changes.

How a link behaves depends on the two flags: with LEGACY_PUBLIC_LINKS_ENABLED it shows the
proof (a logged-in customer opening their own proof's link lands in the portal); without it,
the link leads to the customer login when CUSTOMER_LOGIN_ENABLED, or to a "retired" page."""

from __future__ import annotations

from flask import Blueprint, current_app, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from proofdesk.customer_login.session import current_customer, login_enabled
from proofdesk.db import get_session
from proofdesk.proofs.access import proof_or_404
from proofdesk.proofs.models import Proof
from proofdesk.review import screen, services
from proofdesk.review.routes import review_routes
from proofdesk.review.urls import ReviewUrls
from proofdesk.web import client_ip

bp = Blueprint("review", __name__, url_prefix="/s/<token>")

TOKEN_HEADERS = {"Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex, nofollow"}
WHO = screen.Audience(urls=ReviewUrls("review"), template="review/share.html")


@bp.after_request
def _token_headers(response: Response) -> Response:
    response.headers.update(TOKEN_HEADERS)
    return response


@bp.url_value_preprocessor
def _pull_token(_endpoint: str | None, values: dict[str, str] | None) -> None:
    g.share_token = (values or {}).pop("token", "")


@bp.url_defaults
def _add_token(_endpoint: str, values: dict[str, str]) -> None:
    values.setdefault("token", g.get("share_token", ""))


class Retired(Exception):
    """Share links are switched off and there is no customer login to send people to."""


class UnknownLink(Exception):
    """Revoked, unknown or mistyped: all answer alike."""


class GoTo(Exception):
    def __init__(self, url: str) -> None:
        self.url = url


def _link() -> Proof:
    """The proof behind the link, or the way the flags send the visitor elsewhere."""
    legacy = current_app.config["LEGACY_PUBLIC_LINKS_ENABLED"]
    customer = current_customer()
    if not legacy and not login_enabled():
        raise Retired
    session = get_session()
    link = services.find_share_link(session, g.share_token)
    own = link is not None and customer is not None and link.proof.customer_id == customer.id
    if own and request.endpoint in {"review.show", "review.version", "review.compare"}:
        assert link is not None
        raise GoTo(url_for("portal.show", proof_id=link.proof_id))
    if not legacy and not own:
        if customer is None:
            raise GoTo(url_for("portal_auth.login", next=f"/s/{g.share_token}"))
        raise UnknownLink
    if link is None:
        raise UnknownLink
    return proof_or_404(session, viewer=link, proof_id=link.proof_id)


@bp.errorhandler(Retired)
def _retired(_exc: Retired) -> tuple[str, int]:
    return render_template("review/retired.html"), 410


@bp.errorhandler(UnknownLink)
def _unknown(_exc: UnknownLink) -> tuple[str, int]:
    return render_template("review/unknown.html"), 404


@bp.errorhandler(GoTo)
def _go(exc: GoTo) -> Response:
    return redirect(exc.url)


def _record_view(proof: Proof) -> None:
    session = get_session()
    services.record_link_view(
        session, proof_id=proof.id, ip=client_ip(), email_token=request.args.get("n")
    )


# The token is pulled from the URL above, so the proof is loaded from `g`, not from the rule.
review_routes(
    bp,
    prefix="",
    load_proof=_link,
    audience=lambda _proof: WHO,
    form_limit="30 per minute",
    on_open=_record_view,
)
