"""The application factory."""

from __future__ import annotations

from typing import Any

from flask import Flask, abort, redirect, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from proofdesk.config import from_environment, settings
from proofdesk.db import register_db
from proofdesk.storage import register_storage
from proofdesk.unit_of_work import register_unit_of_work
from proofdesk.web import register_limiter, register_web


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app from the environment, or from a plain dict (tests)."""
    app = Flask(__name__)
    values = from_environment(config)
    app.extensions["settings"] = values  # what the code reads: config.settings()
    app.config.update(values)  # Flask's own keys, and the extensions' (e.g. RATELIMIT_*)
    app.instance_path = values.instance_path
    register_feature_flags(app)  # before CSRF, so a switched-off page is a 404 for any method
    register_web(app)
    register_db(app)
    register_limiter(app)  # after the database: rate limits are counted there by default
    register_unit_of_work(app)  # after the limiter: commits before a login failure is counted
    register_storage(app)  # after the database: files are cleaned up on its sessions
    register_blueprints(app)
    register_emails()
    register_templates(app)
    warn_about_risky_settings(app)
    return app


def warn_about_risky_settings(app: Flask) -> None:
    import logging

    if settings(app).ratelimit_storage_uri.startswith("memory://"):
        logging.getLogger("proofdesk").warning(
            "RATELIMIT_STORAGE_URI is memory://: each app server process counts login "
            "failures on its own, so with N processes (proofdesk run starts 2) N times the "
            "limit get through; leave it empty to count in the database"
        )


CUSTOMER_LOGIN_BLUEPRINTS = {"portal", "portal_auth", "customer_login"}


def register_feature_flags(app: Flask) -> None:
    @app.before_request
    def _customer_login_flag() -> None:
        if (
            request.blueprint in CUSTOMER_LOGIN_BLUEPRINTS
            and not settings(app).customer_login_enabled
        ):
            abort(404)


def register_blueprints(app: Flask) -> None:
    from proofdesk.accounts.views import bp as accounts
    from proofdesk.accounts.views import register_login
    from proofdesk.admin.views import bp as admin
    from proofdesk.customer_login.portal_views import bp as portal_auth
    from proofdesk.customer_login.staff_views import bp as customer_login
    from proofdesk.customers.views import bp as customers
    from proofdesk.designer_notifications.views import bp as designer_notifications
    from proofdesk.notifications.views import bp as notifications
    from proofdesk.portal.views import bp as portal
    from proofdesk.proofs.views import bp as proofs
    from proofdesk.review.views import bp as review

    register_login(app)
    for blueprint in (
        accounts,
        admin,
        customers,
        customer_login,
        proofs,
        review,
        portal_auth,
        portal,
        notifications,
        designer_notifications,
    ):
        app.register_blueprint(blueprint)

    @app.get("/")
    def home() -> Response:
        if current_user.is_authenticated:
            return redirect(url_for("proofs.dashboard"))
        return redirect(url_for("accounts.login"))

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}


def register_emails() -> None:
    """Each domain declares the emails it owns; notifications only queues and sends them."""
    from proofdesk.customer_login import emails as login_emails
    from proofdesk.designer_notifications import emails as designer_emails
    from proofdesk.designer_notifications import services as designer_notifications
    from proofdesk.notifications import content
    from proofdesk.proofs import emails as proof_emails
    from proofdesk.proofs import reminders

    proof_emails.register()
    reminders.register()  # the reminder email, and plans as proofs change
    login_emails.register()
    designer_emails.register()
    content.check_registered()
    designer_notifications.register()  # hears the review's events


def register_templates(app: Flask) -> None:
    from proofdesk import templating

    templating.register(app)
