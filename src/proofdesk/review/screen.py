"""The review screen, the same for staff, share-link reviewers and logged-in customers:
show a version with its threads, take comments and pins, resolve threads, decide, withdraw,
and compare versions. Each blueprint only says who is looking (an Audience)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request
from werkzeug.wrappers import Response

from proofdesk.accounts.models import User
from proofdesk.customers.models import Customer
from proofdesk.db import get_session
from proofdesk.errors import ServiceError
from proofdesk.pagination import id_arg
from proofdesk.proofs import serving
from proofdesk.proofs.models import Proof
from proofdesk.review import compare as comparing
from proofdesk.review import services, threads
from proofdesk.review.forms import CommentForm, DecisionForm, WithdrawForm
from proofdesk.review.models import DecisionKind
from proofdesk.review.urls import ReviewUrls
from proofdesk.storage import get_storage
from proofdesk.web import client_ip


@dataclass(frozen=True)
class Audience:
    urls: ReviewUrls
    template: str
    user: User | None = None  # staff
    customer: Customer | None = None  # a logged-in customer
    extra: Callable[[Proof], dict[str, Any]] = field(default=lambda proof: {})

    @property
    def can_decide(self) -> bool:
        return self.user is None

    def name(self, typed: str | None) -> str:
        if self.user is not None:
            return self.user.name
        if self.customer is not None:
            return self.customer.name
        return " ".join((typed or "").split())[:200] or "Share-link reviewer"


def page(
    proof: Proof,
    number: int | None,
    *,
    who: Audience,
    status: int = 200,
    comment_form: CommentForm | None = None,
    decision_form: DecisionForm | None = None,
    withdraw_form: WithdrawForm | None = None,
) -> tuple[str, int]:
    session = get_session()
    version = serving.version_or_404(session, proof, number or proof.current_version)
    shown = threads.threads_for(session, proof=proof, version=version)
    return render_template(
        who.template,
        proof=proof,
        version=version,
        versions=proof.versions,
        threads=shown,
        pins=[t for t in shown if t.number is not None],
        decisions=services.decisions(session, proof),
        urls=who.urls,
        comment_form=comment_form or CommentForm(),
        decision_form=decision_form or DecisionForm(),
        withdraw_form=withdraw_form or WithdrawForm(),
        staff=who.user is not None,
        reviewer=who.customer,
        can_decide=who.can_decide,
        approval_terms=current_app.config["APPROVAL_TERMS"],
        **who.extra(proof),
    ), status


def comment(proof: Proof, *, who: Audience) -> Response | tuple[str, int]:
    session = get_session()
    form = CommentForm()
    number = id_arg("version", form=True) or proof.current_version
    if form.validate_on_submit():
        version = serving.version_or_404(session, proof, number)
        try:
            pin = threads.parse_pin(
                request.form.get("page"),
                request.form.get("x"),
                request.form.get("y"),
                request.form.get("w"),
                request.form.get("h"),
                page_count=version.page_count,
            )
            services.add_comment(
                session,
                proof=proof,
                version=version,
                author_name=form.name.data,
                body=form.body.data,
                user=who.user,
                customer=who.customer,
                ip=client_ip(),
                pin=pin,
                reply_to=id_arg("reply_to", form=True),
            )
        except ServiceError as exc:
            session.rollback()
            form[exc.field if exc.field in {"name", "body"} else "body"].errors = [exc.message]
        else:
            reply = id_arg("reply_to", form=True)
            flash("Your reply is added." if reply else "Your comment is added.", "success")
            return redirect(who.urls.version(number) + "#comments")
    return page(proof, number, who=who, status=400, comment_form=form)


def resolve(proof: Proof, comment_id: int, *, who: Audience) -> Response:
    session = get_session()
    resolved = request.form.get("action") != "reopen"
    name = who.name(request.form.get("name"))
    try:
        root = threads.set_resolved(
            session,
            proof=proof,
            comment_id=comment_id,
            resolved=resolved,
            by_name=name,
            by_user_id=who.user.id if who.user else None,
            ip=client_ip(),
        )
    except ServiceError:
        abort(404)
    number = id_arg("version", form=True) or root.version.number
    return redirect(who.urls.version(number) + f"#thread-{root.id}")


def decision(proof: Proof, *, who: Audience) -> Response | tuple[str, int]:
    if not who.can_decide:
        abort(404)
    session = get_session()
    form = DecisionForm()
    if form.validate_on_submit():
        version = serving.version_or_404(session, proof, proof.current_version)
        try:
            services.decide(
                session,
                proof=proof,
                version=version,
                decision=form.decision.data,
                reviewer_name=form.name.data,
                comment=form.comment.data,
                customer=who.customer,
                ip=client_ip(),
                user_agent=request.user_agent.string,
                accepted_terms=bool(form.accept_terms.data),
                terms=current_app.config["APPROVAL_TERMS"],
            )
        except services.Locked as exc:
            session.rollback()
            flash(exc.message, "error")  # the decision form is not shown on a locked proof
        except ServiceError as exc:
            session.rollback()
            field_name = {"name": "name", "body": "comment", "accept_terms": "accept_terms"}.get(
                exc.field or "", "decision"
            )
            form[field_name].errors = [exc.message]
        else:
            flash(
                "Thank you: your approval is recorded."
                if form.decision.data == DecisionKind.APPROVED
                else "Thank you: your change request is sent to the designer.",
                "success",
            )
            return redirect(who.urls.show())
    return page(proof, None, who=who, status=400, decision_form=form)


def withdraw(proof: Proof, *, who: Audience) -> Response | tuple[str, int]:
    if not who.can_decide:
        abort(404)
    session = get_session()
    form = WithdrawForm()
    if form.validate_on_submit():
        try:
            services.withdraw_approval(
                session,
                proof=proof,
                reason=form.reason.data,
                by_name=who.name(form.name.data),
                ip=client_ip(),
            )
        except services.Locked as exc:
            session.rollback()
            flash(exc.message, "error")
        except ServiceError as exc:
            session.rollback()
            form.reason.errors = [exc.message]
        else:
            flash("Your approval is withdrawn; the designer is told why.", "success")
            return redirect(who.urls.show())
    return page(proof, None, who=who, status=400, withdraw_form=form)


def _version_arg(proof: Proof, name: str, default: int) -> int:
    value = request.args.get(name, "")
    number = int(value) if value.isascii() and value.isdigit() and len(value) < 6 else default
    return number if 1 <= number <= proof.current_version else default


def compare(proof: Proof, *, who: Audience) -> str:
    session = get_session()
    b_number = _version_arg(proof, "b", proof.current_version)
    a_number = _version_arg(proof, "a", max(1, b_number - 1))
    a = serving.version_or_404(session, proof, a_number)
    b = serving.version_or_404(session, proof, b_number)
    return render_template(
        "review/compare.html",
        proof=proof,
        a=a,
        b=b,
        pairs=comparing.page_pairs(a, b),
        versions=proof.versions,
        urls=who.urls,
        staff=who.user is not None,
    )


def diff(proof: Proof, a_number: int, b_number: int, page_number: int) -> Response:
    session = get_session()
    a = serving.version_or_404(session, proof, a_number)
    b = serving.version_or_404(session, proof, b_number)
    page_a = serving.page_or_render(a, page_number)
    page_b = serving.page_or_render(b, page_number)
    if page_a is None or page_b is None:
        abort(404)
    png = comparing.cached_diff(get_storage(), page_a, page_b)
    return Response(png, mimetype="image/png", headers={"Cache-Control": serving.IMMUTABLE})
