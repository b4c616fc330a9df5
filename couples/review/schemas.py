"""marshmallow schemas of the review API's queries (unknown keys rejected)."""
from marshmallow import fields, validate

from ..fields import StrictSchema


class EventsQuery(StrictSchema):
    after = fields.Integer(load_default=0, validate=validate.Range(min=0))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))
