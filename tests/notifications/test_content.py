"""The kinds of email the outbox carries: each registered by the domain that owns it."""

from __future__ import annotations

import pytest

from proofdesk.notifications import content
from proofdesk.notifications.models import CustomerNotification


def test_every_kind_the_table_takes_has_an_email_and_a_label(app):
    content.check_registered()
    assert {kind: content.label(kind) for kind in content.KINDS} == {
        "proof": "Proof ready",
        "invite": "Invitation",
        "password_reset": "Password reset",
        "reminder": "Reminder",
        "decision": "Customer decision (to staff)",
        "comments": "Customer comments (to staff)",
        "first_view": "First view (to staff)",
        "digest": "Daily digest (to staff)",
    }


def test_the_check_constraint_takes_exactly_the_registry_kinds():
    checks = {
        str(c.sqltext) for c in CustomerNotification.__table__.constraints if hasattr(c, "sqltext")
    }
    assert "kind IN ('proof', 'invite', 'password_reset', 'reminder')" in checks


def test_a_kind_the_table_does_not_take_cannot_be_registered():
    with pytest.raises(ValueError, match="does not take 'fax'"):
        content.register("fax", label="Fax", build=lambda session, note: ("fax", {}))
    assert "fax" not in content.KINDS


def test_the_app_does_not_start_while_a_kind_has_no_email(app, monkeypatch):
    monkeypatch.delitem(content._kinds, "invite")
    with pytest.raises(RuntimeError, match="no email registered for notification kind invite"):
        content.check_registered()


def test_a_notification_of_an_unknown_kind_is_not_sendable(app):
    note = CustomerNotification(kind="fax", subject="")
    with app.app_context(), pytest.raises(content.NotSendable, match="unknown kind fax"):
        content.content_for(None, note)  # type: ignore[arg-type]
