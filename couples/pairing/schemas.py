"""What enters and leaves the couples API and forms: joining, inviting a therapist, the status.

Request schemas reject unknown keys and wrong types (StrictSchema); response schemas decide
exactly which attributes leave the server, so a new model column never leaks by accident.
"""
from marshmallow import ValidationError, fields, validates_schema

from ..accounts.schemas import Email
from ..fields import StrictSchema, Text


def Code(**kwargs):
    """An invitation or therapist code as typed by a person (spaces and case do not matter)."""
    return Text(max_length=40, **kwargs)


# --- requests -------------------------------------------------------------------------------

class JoinSchema(StrictSchema):
    code = Code(required=True)


class TherapistInviteSchema(StrictSchema):
    """Exactly one of the therapist's account email and their share code."""
    email = Email(load_default=None)
    code = Code(load_default=None)

    @validates_schema
    def exactly_one(self, data, **_kwargs):
        if (data.get("email") is None) == (data.get("code") is None):
            raise ValidationError("Give either the therapist's email or their code, not both.", "_schema")


# --- responses ------------------------------------------------------------------------------
class InvitationOut(StrictSchema):
    code = fields.String()
    url = fields.String()
    expires_at = fields.DateTime()


class PartnerOut(StrictSchema):
    seat = fields.String()
    display_name = fields.String()
    joined_at = fields.DateTime()
    is_me = fields.Boolean()


class TherapistBriefOut(StrictSchema):
    display_name = fields.String()
    email = fields.String()


class TherapistLinkOut(StrictSchema):
    id = fields.Integer()
    therapist = fields.Nested(TherapistBriefOut)
    invited_at = fields.DateTime()
    consent_a_at = fields.DateTime(allow_none=True)
    consent_b_at = fields.DateTime(allow_none=True)
    active = fields.Boolean()
    revoked_at = fields.DateTime(allow_none=True)


class ViewerOut(StrictSchema):
    display_name = fields.String()
    role = fields.String()
    since = fields.DateTime()


class CoupleOut(StrictSchema):
    id = fields.Integer()
    created_at = fields.DateTime()
    ended_at = fields.DateTime(allow_none=True)
    active = fields.Boolean()


class CoupleStatusOut(StrictSchema):
    couple = fields.Nested(CoupleOut, allow_none=True)
    my_seat = fields.String(allow_none=True)
    partners = fields.List(fields.Nested(PartnerOut))
    invitation = fields.Nested(InvitationOut, allow_none=True)
    therapists = fields.List(fields.Nested(TherapistLinkOut))
    can_see_our_data = fields.List(fields.Nested(ViewerOut))
    past_couples = fields.List(fields.Nested(CoupleOut))


class TherapistCoupleOut(StrictSchema):
    couple_id = fields.Integer()
    partners = fields.List(fields.String())
    invited_at = fields.DateTime()
    linked_at = fields.DateTime()


class TherapistCouplesOut(StrictSchema):
    couples = fields.List(fields.Nested(TherapistCoupleOut))
