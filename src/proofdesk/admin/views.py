"""Admin → Users: list, create, edit, deactivate."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from proofdesk.accounts import services
from proofdesk.accounts.access import admin_required
from proofdesk.accounts.forms import NewUserForm, UserForm
from proofdesk.accounts.models import User
from proofdesk.db import get_or_404, get_session
from proofdesk.errors import ServiceError
from proofdesk.forms import apply_error, filled
from proofdesk.web import client_ip

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/customers")
@admin_required
def customers() -> str:
    from proofdesk.customers.views import listing

    return listing(with_readiness=True)


@bp.get("/users")
@admin_required
def users() -> str:
    rows = get_session().scalars(sa.select(User).order_by(User.active.desc(), User.name)).all()
    return render_template("admin/users.html", users=rows)


@bp.route("/users/new", methods=["GET", "POST"])
@admin_required
def new_user() -> str | Response:
    form = NewUserForm()
    if form.validate_on_submit():
        session = get_session()
        try:
            user = services.create_user(
                session,
                email=filled(form.email),
                name=filled(form.name),
                role=form.role.data,
                password=filled(form.password),
                created_by=current_user,
                ip=client_ip(),
            )
        except ServiceError as exc:
            session.rollback()
            apply_error(form, exc)
        else:
            flash(f"{user.name} can now log in as {user.role}.", "success")
            return redirect(url_for("admin.users"))
    return render_template("admin/user_form.html", form=form, user=None)


@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
@admin_required
def edit_user(user_id: int) -> str | Response:
    user = get_or_404(get_session(), User, user_id)
    form = UserForm(obj=user)
    if form.validate_on_submit():
        session = get_session()
        try:
            services.update_user(
                session,
                user=user,
                email=filled(form.email),
                name=filled(form.name),
                role=form.role.data,
                active=form.active.data,
                changed_by=current_user,
                ip=client_ip(),
            )
        except ServiceError as exc:
            session.rollback()
            apply_error(form, exc)
        else:
            flash(f"Saved {user.name}.", "success")
            return redirect(url_for("admin.users"))
    from proofdesk.notifications.views import email_forms

    return render_template("admin/user_form.html", form=form, user=user, **email_forms(user))


@bp.post("/users/<int:user_id>/deactivate")
@admin_required
def deactivate_user(user_id: int) -> Response:
    user = get_or_404(get_session(), User, user_id)
    session = get_session()
    try:
        services.update_user(
            session,
            user=user,
            email=user.email,
            name=user.name,
            role=user.role,
            active=False,
            changed_by=current_user,
            ip=client_ip(),
        )
    except ServiceError as exc:
        session.rollback()
        flash(exc.message, "error")
    else:
        flash(f"{user.name} is deactivated and logged out everywhere.", "success")
    return redirect(url_for("admin.users"))
