"""marshmallow schemas of the review API: its queries (unknown keys rejected) and the signals it returns."""
from marshmallow import fields, validate

from ..fields import StrictSchema


class EventsQuery(StrictSchema):
    after = fields.Integer(load_default=0, validate=validate.Range(min=0))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))


# --- safety signals (review/signals.py) -------------------------------------------------------

class SignalsQuery(StrictSchema):
    couple_id = fields.Integer(load_default=None, validate=validate.Range(min=1))
    state = fields.String(load_default="unread", validate=validate.OneOf(("unread", "read", "all")))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))


class SignalPartnerOut(StrictSchema):
    seat = fields.String()
    display_name = fields.String()


class SignalOut(StrictSchema):
    id = fields.Integer()
    couple_id = fields.Integer()
    session_id = fields.String()
    at = fields.DateTime()
    type = fields.String()
    partners = fields.List(fields.Nested(SignalPartnerOut))
    text = fields.String()
    words = fields.String(allow_none=True)
    rating = fields.Integer(allow_none=True)
    return_at = fields.String(allow_none=True)
    read_at = fields.DateTime(allow_none=True)


class UnreadOut(StrictSchema):
    couple_id = fields.Integer()
    unread = fields.Integer()


class SignalsOut(StrictSchema):
    signals = fields.List(fields.Nested(SignalOut))
    unread = fields.List(fields.Nested(UnreadOut))


class SignalMarkedOut(StrictSchema):
    signal = fields.Nested(SignalOut)


class SignalsMarkedOut(StrictSchema):
    marked = fields.Integer()


# --- a therapist's hold on joint practice (room/holds.py) -------------------------------------

class HoldOut(StrictSchema):
    couple_id = fields.Integer()
    held = fields.Boolean()
    held_at = fields.DateTime(allow_none=True)
