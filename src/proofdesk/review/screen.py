"""The review screen shared by share-link reviewers and logged-in customers: show a version,
take a comment, take a decision."""

from __future__ import annotations

from flask import flash, redirect, render_template, request
from werkzeug.wrappers import Response

from proofdesk.customers.models import Customer
from proofdesk.db import get_session
from proofdesk.errors import ServiceError
from proofdesk.proofs import serving
from proofdesk.proofs.models import Proof
from proofdesk.review import services
from proofdesk.review.forms import CommentForm, DecisionForm
from proofdesk.review.urls import ReviewUrls
from proofdesk.web import client_ip


def page(proof: Proof, number: int | None, *, urls: ReviewUrls, reviewer: Customer | None,
         status: int = 200, comment_form: CommentForm | None = None,
         decision_form: DecisionForm | None = None) -> tuple[str, int]:
    session = get_session()
    version = serving.version_or_404(session, proof, number or proof.current_version)
    return render_template(
        "review/share.html", proof=proof, version=version, versions=proof.versions,
        comments=services.thread(session, proof), decisions=services.decisions(session, proof),
        urls=urls, comment_form=comment_form or CommentForm(),
        decision_form=decision_form or DecisionForm(), staff=False, reviewer=reviewer,
    ), status


def comment(proof: Proof, *, urls: ReviewUrls, reviewer: Customer | None
            ) -> Response | tuple[str, int]:
    session = get_session()
    form = CommentForm()
    if form.validate_on_submit():
        version = serving.version_or_404(session, proof, proof.current_version)
        try:
            services.add_comment(session, proof=proof, version=version,
                                 author_name=form.name.data, body=form.body.data,
                                 customer=reviewer, ip=client_ip())
            session.commit()
        except ServiceError as exc:
            session.rollback()
            form[exc.field or "body"].errors = [exc.message]
        else:
            flash("Your comment is added.", "success")
            return redirect(urls.show() + "#comments")
    return page(proof, None, urls=urls, reviewer=reviewer, status=400, comment_form=form)


def decision(proof: Proof, *, urls: ReviewUrls, reviewer: Customer | None
             ) -> Response | tuple[str, int]:
    session = get_session()
    form = DecisionForm()
    if form.validate_on_submit():
        version = serving.version_or_404(session, proof, proof.current_version)
        try:
            services.decide(session, proof=proof, version=version, decision=form.decision.data,
                            reviewer_name=form.name.data, comment=form.comment.data,
                            customer=reviewer, ip=client_ip(),
                            user_agent=request.user_agent.string)
            session.commit()
        except ServiceError as exc:
            session.rollback()
            field = {"name": "name", "body": "comment"}.get(exc.field or "", "decision")
            form[field].errors = [exc.message]
        else:
            flash("Thank you: your approval is recorded." if form.decision.data == "approved"
                  else "Thank you: your change request is sent to the designer.", "success")
            return redirect(urls.show())
    return page(proof, None, urls=urls, reviewer=reviewer, status=400, decision_form=form)
