"""What enters and leaves the accounts API and forms: registration, login, tokens, the user.

Request schemas reject unknown keys and wrong types (StrictSchema); response schemas decide
exactly which attributes leave the server, so a new model column never leaks by accident.
"""
from marshmallow import ValidationError, fields, validate, validates_schema

from ..fields import PlainText, StrictSchema, Text, valid_unicode, visible_only
from .passwords import weakness

ROLES = ("partner", "therapist")
PASSWORD_MIN = 10


def Email(**kwargs):
    """An email address; a therapist's is shown to the couples who invite them."""
    return fields.Email(validate=[validate.Length(max=254, error="Use at most 254 characters."), visible_only],
                        error_messages={"invalid": "Enter an email address like name@example.com."}, **kwargs)


def Password(**kwargs):
    return fields.String(validate=[validate.Length(
        min=PASSWORD_MIN, max=1024, error=f"Use at least {PASSWORD_MIN} characters (and at most 1024)."),
        valid_unicode], **kwargs)


# --- requests -------------------------------------------------------------------------------

def check_new_password(data: dict, field: str = "password") -> None:
    """Refuse a new password that is easy to guess (passwords.weakness), beside its field. Every
    schema that sets a password calls it (registration; a future password change too)."""
    password = data.get(field)
    if isinstance(password, str):
        reason = weakness(password, email=data.get("email"), display_name=data.get("display_name"))
        if reason:
            raise ValidationError({field: [reason]})


class RegisterSchema(StrictSchema):
    email = Email(required=True)
    password = Password(required=True)
    display_name = PlainText(max_length=80, required=True)
    role = fields.String(required=True, validate=validate.OneOf(ROLES, error="Choose partner or therapist."))

    @validates_schema(skip_on_field_errors=False)
    def _password_is_not_easy_to_guess(self, data, **kwargs):
        check_new_password(data)


class LoginSchema(StrictSchema):
    email = fields.String(required=True, validate=[validate.Length(min=1, max=254), valid_unicode])
    password = fields.String(required=True, validate=[validate.Length(min=1, max=1024), valid_unicode])


class TokenRequestSchema(LoginSchema):
    label = Text(max_length=80, load_default=None)


# --- responses ------------------------------------------------------------------------------

class UserOut(StrictSchema):
    id = fields.Integer()
    email = fields.String()
    display_name = fields.String()
    role = fields.String()
    therapist_code = fields.String(allow_none=True)


class RegisteredOut(StrictSchema):
    """The answer to a registration: the same whether or not the email already had an account."""
    message = fields.String()


class TokenOut(StrictSchema):
    token = fields.String()
    expires_at = fields.DateTime()
    user = fields.Nested(UserOut)
