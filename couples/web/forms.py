"""What every HTML form view shares: reading the named fields, errors beside each field, and
where a redirect may go."""
from flask import request
from marshmallow import ValidationError

from ..errors import DomainError
from ..fields import error_fields


def form_input(*names: str) -> dict:
    """The submitted form fields named (the CSRF token and buttons are not the schema's business)."""
    return {name: request.form[name] for name in names if name in request.form}


def form_errors(err: Exception) -> dict:
    """Field name -> message, for showing beside each field and in the summary."""
    if isinstance(err, ValidationError):
        return error_fields(err)
    if isinstance(err, DomainError):
        return err.fields or {"_form": err.message}
    return {"_form": str(err)}


def safe_next(target: str | None) -> str | None:
    """Only a path on this site (never //host or a full URL) may be a redirect target."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return None
