"""The JSON API under /api/v1: transport only (authenticate, parse with a schema, call, dump).

Authentication is a bearer token (`Authorization: Bearer ...`) or the browser's login cookie;
a state-changing call made with the cookie must carry the CSRF token in `X-CSRFToken`.
Tokens are never read from the URL.
"""
import json

from flask import Blueprint, current_app, g, request, url_for
from flask_login import current_user

from . import accounts, pairing
from .errors import DomainError
from .extensions import csrf, login_manager
from .schemas import (CoupleStatusOut, EmptySchema, InvitationOut, JoinSchema, RegisterSchema,
                      TherapistCoupleOut, TherapistCouplesOut, TherapistInviteSchema, TherapistLinkOut,
                      TokenOut, TokenRequestSchema, UserOut)
from .auth import login_limits

bp = Blueprint("api", __name__, url_prefix="/api/v1")

_PUBLIC = set()  # endpoints that need no login


def public(view):
    _PUBLIC.add(f"{bp.name}.{view.__name__}")
    return view


@bp.before_request
def authenticate():
    """Bearer token first (and only, when one is sent); else the login cookie plus CSRF."""
    header = request.headers.get("Authorization")
    if header is not None:
        token = header[7:].strip() if header.startswith("Bearer ") else None
        user = accounts.load_user(token, "token")
        login_manager._update_request_context_with_user(user)  # the token decides, not a cookie
        g.auth_kind = "token" if user else None
    elif current_user.is_authenticated:
        g.auth_kind = "cookie"
        if current_app.config.get("WTF_CSRF_ENABLED", True):
            csrf.protect()
    if request.endpoint not in _PUBLIC and not current_user.is_authenticated:
        raise DomainError("unauthenticated", "Please log in, or send a valid bearer token.", 401)


def body(schema_cls) -> dict:
    """The request's JSON body loaded by `schema_cls` (400 bad_json, 415, or 422 invalid_input)."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        data = {}
    elif request.mimetype != "application/json":
        raise DomainError("unsupported_media_type", "Send JSON with Content-Type: application/json.", 415)
    else:
        try:
            data = json.loads(raw, parse_constant=_no_constants)
        except (ValueError, RecursionError):
            raise DomainError("bad_json", "The request body is not valid JSON.", 400) from None
    return schema_cls().load(data)


def _no_constants(name):
    raise ValueError(f"{name} is not JSON")


def reply(schema_cls, obj, status: int = 200):
    return schema_cls().dump(obj), status


def _invitation_body(invitation):
    if invitation is None:
        return None
    return {"code": invitation.code, "expires_at": invitation.expires_at,
            "url": url_for("views.join_page", code=invitation.code, _external=True)}


def _status_body(user):
    status = pairing.couple_status(user)
    return {**vars(status), "invitation": _invitation_body(status.invitation)}


# --- accounts and tokens --------------------------------------------------------------------

@bp.post("/accounts")
@public
def create_account():
    data = body(RegisterSchema)
    user = accounts.register(data["email"], data["password"], data["display_name"], data["role"])
    return reply(UserOut, user, 201)


@bp.post("/tokens")
@public
@login_limits
def create_token():
    data = body(TokenRequestSchema)
    user = accounts.authenticate(data["email"], data["password"])
    secret = accounts.start_login(user, "token", data["label"])
    row = accounts.find_login(secret, "token")
    return reply(TokenOut, {"token": secret, "expires_at": row.expires_at, "user": user}, 201)


@bp.delete("/tokens/current")
def revoke_token():
    if g.get("auth_kind") != "token":
        raise DomainError("not_a_token", "This call needs the bearer token it revokes.", 400)
    accounts.end_login(current_user.auth_session_id, "token")
    return "", 204


@bp.get("/me")
def me():
    return reply(UserOut, current_user)


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

