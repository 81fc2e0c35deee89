"""Forms: a designer's SMTP settings, Send Test Email, the notification log filters."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, IntegerField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from proofdesk.forms import SelectChoice
from proofdesk.mail import SmtpSecurity

SECURITY_LABELS = [
    SelectChoice(SmtpSecurity.STARTTLS, "STARTTLS (usually port 587)"),
    SelectChoice(SmtpSecurity.SSL, "SSL/TLS (usually port 465)"),
    SelectChoice(SmtpSecurity.NONE, "None: unencrypted (only where the operator allows it)"),
]


PORT_HELP = "Enter a port between 1 and 65535 (usually 587 or 465)."


class PortField(IntegerField):
    """A port: a number longer than five digits is refused here, because NumberRange would
    overflow converting it to a float (an error page instead of a message)."""

    def process_formdata(self, valuelist: list[str]) -> None:
        if valuelist and len(valuelist[0].strip()) > 5:
            self.data = None
            raise ValueError(self.gettext("Not a valid integer value."))
        super().process_formdata(valuelist)


class SmtpSettingsForm(FlaskForm):
    host = StringField(
        "SMTP server",
        validators=[Optional(), Length(max=255)],
        description="e.g. smtp.yourstudio.com. Leave server and port empty to "
        "use the default mailer.",
    )
    port = PortField("Port", validators=[Optional(), NumberRange(1, 65535, message=PORT_HELP)])
    security = SelectField("Security", choices=SECURITY_LABELS, default=SmtpSecurity.STARTTLS)
    username = StringField("Username", validators=[Optional(), Length(max=255)])
    password = PasswordField(
        "Password",
        validators=[Optional(), Length(max=1024)],
        description="Stored encrypted and never shown again. Leave empty "
        "to keep the saved one; changing the server, port, "
        "username or security needs it again.",
    )
    from_name = StringField("From name", validators=[Optional(), Length(max=200)])
    from_address = EmailField("From address", validators=[Optional(), Length(max=320)])
    reply_to = EmailField("Reply-To", validators=[Optional(), Length(max=320)])

    def __init__(self, *args: object, allow_insecure: bool = False, **kwargs: object) -> None:
        kwargs.setdefault("prefix", "smtp")
        super().__init__(*args, **kwargs)
        if not allow_insecure:
            self.security.choices = SECURITY_LABELS[:2]


class TestEmailForm(FlaskForm):
    to = EmailField("Send a test to", validators=[DataRequired(), Length(max=320)])

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("prefix", "test")
        super().__init__(*args, **kwargs)
