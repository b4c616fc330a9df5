"""The couples API: the couple, its invitation, joining and leaving, therapists and consent."""
from flask import request
from flask_login import current_user

from ..fields import EmptySchema
from ..web.links import public_url
from ..web.api import api_blueprint, body, reply
from . import live, service as pairing
from .schemas import (CoupleStatusOut, InvitationOut, JoinSchema, TherapistCoupleOut, TherapistCouplesOut,
                      TherapistInviteSchema, TherapistLinkOut)

bp = api_blueprint("pairing", __name__)


def _invitation_body(invitation):
    if invitation is None:
        return None
    return {"code": invitation.code, "expires_at": invitation.expires_at,
            "url": public_url("pairing.join_page", code=invitation.code)}


def _status_body(user):
    status = pairing.couple_status(user)
    return {**vars(status), "invitation": _invitation_body(status.invitation)}


# --- the couple -----------------------------------------------------------------------------

@bp.get("/couple")
def couple_status():
    return reply(CoupleStatusOut, _status_body(current_user))


@bp.post("/couple")
def create_couple():
    body(EmptySchema)
    pairing.create_couple(current_user)
    return reply(CoupleStatusOut, _status_body(current_user), 201)


@bp.post("/couple/invitations")
def new_invitation():
    body(EmptySchema)
    return reply(InvitationOut, _invitation_body(pairing.new_invitation(current_user)), 201)


@bp.post("/couple/join")
def join_couple():
    data = body(JoinSchema)
    pairing.join(current_user, data["code"])
    return reply(CoupleStatusOut, _status_body(current_user))


@bp.post("/couple/leave")
def leave_couple():
    body(EmptySchema)
    pairing.leave(current_user)
    return reply(CoupleStatusOut, _status_body(current_user))


# --- therapists and consent -----------------------------------------------------------------

@bp.post("/couple/therapists")
def invite_therapist():
    data = body(TherapistInviteSchema)
    link = pairing.invite_therapist(current_user, email=data["email"], code=data["code"])
    return reply(TherapistLinkOut, pairing.link_view(link), 201)


@bp.post("/couple/therapists/<int:link_id>/consent")
def consent(link_id):
    body(EmptySchema)
    return reply(TherapistLinkOut, pairing.link_view(pairing.consent(current_user, link_id)))


@bp.post("/couple/therapists/<int:link_id>/revoke")
def revoke(link_id):
    body(EmptySchema)
    return reply(TherapistLinkOut, pairing.link_view(pairing.revoke(current_user, link_id)))


@bp.get("/therapist/couples")
def therapist_couples():
    return reply(TherapistCouplesOut, {"couples": pairing.therapist_couples(current_user)})


@bp.get("/therapist/couples/<int:couple_id>")
def therapist_couple(couple_id):
    return reply(TherapistCoupleOut, pairing.therapist_view(current_user, couple_id))


# --- what a dashboard shows live ---------------------------------------------------------------

@bp.get("/dashboard")
def dashboard():
    """The caller's live status (pairing/live.py); 304 while its version is unchanged."""
    found = live.status(current_user)
    if request.if_none_match.contains(found["version"]):
        return "", 304, {"ETag": f'"{found["version"]}"', "Cache-Control": "no-store"}
    return found, 200, {"ETag": f'"{found["version"]}"', "Cache-Control": "no-store"}
