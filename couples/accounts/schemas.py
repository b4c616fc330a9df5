"""What enters and leaves the accounts API and forms: registration, login, tokens, the user.

Request schemas reject unknown keys and wrong types (StrictSchema); response schemas decide
exactly which attributes leave the server, so a new model column never leaks by accident.
"""
from marshmallow import fields, validate

from ..fields import PlainText, StrictSchema, Text, valid_unicode, visible_only

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

class RegisterSchema(StrictSchema):
    email = Email(required=True)
    password = Password(required=True)
    display_name = PlainText(max_length=80, required=True)
    role = fields.String(required=True, validate=validate.OneOf(ROLES, error="Choose partner or therapist."))


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


class TokenOut(StrictSchema):
    token = fields.String()
    expires_at = fields.DateTime()
    user = fields.Nested(UserOut)
