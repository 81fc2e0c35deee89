"""Upload forms: a new proof and a new version."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

FILE_HELP = "PNG, JPEG, WebP, TIFF or PDF (several pages welcome)."
NOTIFY_HELP = (
    "Email the customer a link as soon as the upload is done. Your message above "
    "becomes the email's text; without one, the standard text is used."
)


REMINDERS_HELP = (
    "Counted from the due date: -2, 0, 2 reminds the customer two days before, on the day "
    "and two days after, at the studio's hour, until they decide. Empty: no reminders."
)


class ProofForm(FlaskForm):
    customer_id = SelectField(
        "Customer",
        coerce=int,
        validate_choice=False,
        validators=[DataRequired(message="Choose a customer.")],
        description="Not in the list? Open the customer under Customers "
        "and choose “Upload a proof” there.",
    )
    title = StringField("Title", validators=[DataRequired(), Length(max=200)])
    message = TextAreaField("Message to the customer", validators=[Optional(), Length(max=5000)])
    due_date = DateField("Due date", validators=[Optional()])
    reminder_days = StringField(
        "Reminder days",
        validators=[Length(max=60)],
        description=REMINDERS_HELP,
    )
    file = FileField(
        "Artwork file", validators=[FileRequired("Choose the artwork file.")], description=FILE_HELP
    )
    notify = BooleanField("Notify customer now", description=NOTIFY_HELP)
    require_terms = BooleanField(
        "Ask the customer to tick the approval terms",
        description="They confirm the studio's terms (set by the "
        "operator) before they can approve.",
    )


class VersionForm(FlaskForm):
    message = TextAreaField("What changed (optional)", validators=[Optional(), Length(max=5000)])
    file = FileField(
        "Artwork file", validators=[FileRequired("Choose the artwork file.")], description=FILE_HELP
    )
    notify = BooleanField("Notify customer now", description=NOTIFY_HELP)


class RemindersForm(FlaskForm):
    """The proof page's "Due date and reminders"."""

    due_date = DateField("Due date", validators=[Optional()])
    reminder_days = StringField(
        "Reminder days",
        validators=[Length(max=60)],
        description=REMINDERS_HELP,
    )


class RemindNowForm(FlaskForm):
    """ "Send reminder now": the CSRF token only."""
