"""The share link (the legacy public link): view a proof, comment, approve, request changes."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)

from proofdesk.db import get_session
from proofdesk.errors import ServiceError
from proofdesk.proofs import serving
from proofdesk.proofs.access import proof_or_404
from proofdesk.proofs.models import Proof
from proofdesk.review import services
from proofdesk.review.forms import CommentForm, DecisionForm
from proofdesk.review.models import ShareLink
from proofdesk.review.urls import ReviewUrls
from proofdesk.web import client_ip, limiter

bp = Blueprint("review", __name__, url_prefix="/s/<token>")

TOKEN_HEADERS = {"Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex, nofollow"}


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
    """Share links are switched off (LEGACY_PUBLIC_LINKS_ENABLED=false)."""


class UnknownLink(Exception):
    """Revoked, unknown or mistyped: all answer alike."""


def _link() -> tuple[ShareLink, Proof]:
    if not current_app.config["LEGACY_PUBLIC_LINKS_ENABLED"]:
        raise Retired
    session = get_session()
    link = services.find_share_link(session, g.share_token)
    if link is None:
        raise UnknownLink
    return link, proof_or_404(session, viewer=link, proof_id=link.proof_id)


@bp.errorhandler(Retired)
def _retired(_exc: Retired) -> tuple[str, int]:
    return render_template("review/retired.html"), 410


@bp.errorhandler(UnknownLink)
def _unknown(_exc: UnknownLink) -> tuple[str, int]:
    return render_template("review/unknown.html"), 404


def _page(number: int | None, *, status: int = 200, comment_form: CommentForm | None = None,
          decision_form: DecisionForm | None = None) -> tuple[str, int]:
    link, proof = _link()
    session = get_session()
    version = serving.version_or_404(session, proof, number or proof.current_version)
    if number is None and request.method == "GET":
        services.record_link_view(session, link=link, ip=client_ip())
        session.commit()
    return render_template(
        "review/share.html", proof=proof, version=version, versions=proof.versions,
        comments=services.thread(session, proof), decisions=services.decisions(session, proof),
        urls=ReviewUrls("review"), comment_form=comment_form or CommentForm(),
        decision_form=decision_form or DecisionForm(), staff=False,
    ), status


@bp.get("")
def show() -> tuple[str, int]:
    return _page(None)


@bp.get("/v/<int:number>")
def version(number: int) -> tuple[str, int]:
    return _page(number)


@bp.post("/comments")
@limiter.limit("30 per minute")
def comment() -> Response | tuple[str, int]:
    link, proof = _link()
    session = get_session()
    form = CommentForm()
    if form.validate_on_submit():
        version = serving.version_or_404(session, proof, proof.current_version)
        try:
            services.add_comment(session, proof=proof, version=version,
                                 author_name=form.name.data, body=form.body.data, ip=client_ip())
            session.commit()
        except ServiceError as exc:
            session.rollback()
            form[exc.field or "body"].errors = [exc.message]
            return _page(None, status=400, comment_form=form)
        flash("Your comment is added.", "success")
        return redirect(url_for("review.show") + "#comments")
    return _page(None, status=400, comment_form=form)


@bp.post("/decision")
@limiter.limit("30 per minute")
def decision() -> Response | tuple[str, int]:
    link, proof = _link()
    session = get_session()
    form = DecisionForm()
    if form.validate_on_submit():
        version = serving.version_or_404(session, proof, proof.current_version)
        try:
            services.decide(session, proof=proof, version=version, decision=form.decision.data,
                            reviewer_name=form.name.data, comment=form.comment.data,
                            ip=client_ip(), user_agent=request.user_agent.string)
            session.commit()
        except ServiceError as exc:
            session.rollback()
            field = {"name": "name", "body": "comment"}.get(exc.field or "", "decision")
            form[field].errors = [exc.message]
            return _page(None, status=400, decision_form=form)
        flash("Thank you: your approval is recorded." if form.decision.data == "approved"
              else "Thank you: your change request is sent to the designer.", "success")
        return redirect(url_for("review.show"))
    return _page(None, status=400, decision_form=form)


@bp.get("/v/<int:number>/pages/<int:page>")
def page_image(number: int, page: int) -> Response:
    _link_, proof = _link()
    return serving.send_page(serving.version_or_404(get_session(), proof, number), page,
                             thumb=False)


@bp.get("/v/<int:number>/thumbs/<int:page>")
def page_thumb(number: int, page: int) -> Response:
    _link_, proof = _link()
    return serving.send_page(serving.version_or_404(get_session(), proof, number), page,
                             thumb=True)


@bp.get("/v/<int:number>/file")
def original(number: int) -> Response:
    _link_, proof = _link()
    return serving.send_original(serving.version_or_404(get_session(), proof, number))


@bp.get("/v/<int:number>/status")
def render_status(number: int) -> Response:
    _link_, proof = _link()
    return serving.render_status(serving.version_or_404(get_session(), proof, number))
