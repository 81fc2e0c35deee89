"""Account → Notifications: how a staff user hears of what customers do."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField

from proofdesk.designer_notifications.models import Delivery
from proofdesk.forms import SelectChoice

DELIVERY_CHOICES = [
    SelectChoice(Delivery.INSTANT, "Instantly"),
    SelectChoice(Delivery.DIGEST, "In the daily digest"),
    SelectChoice(Delivery.OFF, "Not at all"),
]
HOUR_CHOICES = [SelectChoice(str(hour), f"{hour:02d}:00") for hour in range(24)]


class PreferencesForm(FlaskForm):
    decisions = SelectField(
        "Approvals, change requests and withdrawn approvals",
        choices=DELIVERY_CHOICES,
        validate_choice=False,  # the service says what is not a choice
    )
    comments = SelectField(
        "Comments and replies",
        choices=DELIVERY_CHOICES,
        description="Instantly means one email once the reviewer has paused, listing them all.",
        validate_choice=False,
    )
    first_views = SelectField(
        "A customer first opens a new version",
        choices=DELIVERY_CHOICES,
        validate_choice=False,
    )
    digest_hour = SelectField(
        "Send the daily digest at", choices=HOUR_CHOICES, validate_choice=False
    )
    all_proofs = BooleanField("Tell me about every proof, not only mine (admins)")
