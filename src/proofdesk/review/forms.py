"""Review forms: a comment, and a decision by a share-link reviewer."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, StringField, TextAreaField
from wtforms.validators import Length, Optional


class CommentForm(FlaskForm):
    """Prefixed, so its fields do not clash with the decision form on the same page."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("prefix", "comment")
        super().__init__(*args, **kwargs)

    name = StringField("Your name", validators=[Optional(), Length(max=200)])
    body = TextAreaField("Comment", validators=[Optional(), Length(max=5000)])


class DecisionForm(FlaskForm):
    decision = HiddenField()
    name = StringField("Your name", validators=[Optional(), Length(max=200)])
    comment = TextAreaField("What should change?", validators=[Optional(), Length(max=5000)])
    accept_terms = BooleanField("I accept the approval terms")


class WithdrawForm(FlaskForm):
    """Take back an approval, with a reason, until the proof is locked for production."""

    name = StringField("Your name", validators=[Optional(), Length(max=200)])
    reason = TextAreaField(
        "Why do you withdraw the approval?", validators=[Optional(), Length(max=5000)]
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("prefix", "withdraw")
        super().__init__(*args, **kwargs)
