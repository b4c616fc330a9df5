"""marshmallow schemas for every socket payload and the sessions API body (unknown keys rejected).

A step's own input (`data`) is validated by the exercise engine against the step's schema.
"""
from marshmallow import fields, validate

from ..fields import StrictSchema
from .turns import USER_KINDS

CLIENT_ID = validate.Regexp(r"^[A-Za-z0-9_-]{8,64}$", error="8 to 64 letters, digits, _ or -.")
PUBLIC_ID = validate.Regexp(r"^[A-Za-z0-9_-]{1,36}$", error="Not a session id.")
STEP = validate.Regexp(r"^[a-z0-9_]{1,40}$", error="Not a step name.")


def _session_id(**kwargs):
    return fields.String(validate=PUBLIC_ID, **kwargs)


class JoinSchema(StrictSchema):
    session_id = _session_id(required=True)
    last_seq = fields.Integer(strict=True, load_default=0, validate=validate.Range(min=0))


class ActionSchema(StrictSchema):
    session_id = _session_id(required=True)
    id = fields.String(required=True, validate=CLIENT_ID)
    kind = fields.String(required=True, validate=validate.OneOf(USER_KINDS))
    step = fields.String(load_default=None, allow_none=True, validate=STEP)
    data = fields.Dict(keys=fields.String(), load_default=dict)


class HeartbeatSchema(StrictSchema):
    session_id = _session_id(load_default=None, allow_none=True)


class LeaveSchema(StrictSchema):
    session_id = _session_id(required=True)


class StartSessionBody(StrictSchema):
    """POST /api/v1/sessions takes no fields (the couple is the caller's own)."""
