"""Helpers shared by every form."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # not in types-WTForms 3.2

from proofdesk.errors import ServiceError

__all__ = ["SelectChoice", "apply_error", "filled"]


def apply_error(form: FlaskForm, exc: ServiceError) -> None:
    """Show a service's message next to its field, or at the top of the form."""
    field = getattr(form, exc.field, None) if exc.field else None
    if field is not None:
        field.errors = [*field.errors, exc.message]
    else:
        form.form_errors.append(exc.message)


def filled(field: StringField) -> str:
    """The text of a required field (DataRequired) of a form that validated. WTForms types
    every field's data as optional; the validator is what rules out None."""
    if field.data is None:
        raise ValueError(f"{field.name} is read before its form validated")
    return field.data
