"""Helpers shared by every form."""

from __future__ import annotations

from flask_wtf import FlaskForm

from proofdesk.errors import ServiceError


def apply_error(form: FlaskForm, exc: ServiceError) -> None:
    """Show a service's message next to its field, or at the top of the form."""
    field = getattr(form, exc.field, None) if exc.field else None
    if field is not None:
        field.errors = [*field.errors, exc.message]
    else:
        form.form_errors.append(exc.message)
