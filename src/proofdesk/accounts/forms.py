"""Forms for staff login, passwords, setup and Admin → Users."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length

from proofdesk.accounts.models import Role
from proofdesk.forms import SelectChoice
from proofdesk.passwords import MAX_LENGTH

# SelectChoice, not (value, label) tuples: WTForms 3.3 deprecates tuples given to SelectField.
ROLE_CHOICES = [SelectChoice(Role.DESIGNER, "Designer"), SelectChoice(Role.ADMIN, "Admin")]


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=320)])
    password = PasswordField(
        "Password",
        validators=[DataRequired(), Length(max=MAX_LENGTH)],
        render_kw={"autocomplete": "current-password"},
    )


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(
        "Current password",
        validators=[DataRequired()],
        render_kw={"autocomplete": "current-password"},
    )
    new_password = PasswordField(
        "New password",
        validators=[DataRequired()],
        description="At least 8 characters; a passphrase is best.",
        render_kw={"autocomplete": "new-password"},
    )


class SetupForm(FlaskForm):
    name = StringField("Your name", validators=[DataRequired(), Length(max=200)])
    email = EmailField("Email", validators=[DataRequired(), Length(max=320)])
    password = PasswordField(
        "Password",
        validators=[DataRequired()],
        description="At least 8 characters; a passphrase is best.",
        render_kw={"autocomplete": "new-password"},
    )


class UserForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    email = EmailField("Email", validators=[DataRequired(), Length(max=320)])
    role = SelectField("Role", choices=ROLE_CHOICES)
    active = BooleanField("Active (can log in)", default=True)


class NewUserForm(UserForm):
    password = PasswordField(
        "Initial password",
        validators=[DataRequired()],
        description="At least 8 characters. Share it with the person "
        "safely; they can change it after logging in.",
    )
