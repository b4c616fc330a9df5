"""The accounts API: register, ask for a bearer token, revoke it, read oneself."""
from flask import g
from flask_login import current_user

from ..errors import DomainError
from ..web.api import api_blueprint, body, public, reply
from . import service as accounts
from .schemas import RegisteredOut, RegisterSchema, TokenOut, TokenRequestSchema, UserOut
from .throttle import login_limits, register_limits

bp = api_blueprint("accounts", __name__)


# 202 and the same words whether or not the email already had an account (docs/security.md).
REGISTERED = ("If this email was new, the account is ready: ask for a token (POST /api/v1/tokens) to "
              "log in. If it already had an account, nothing was changed.")


@bp.post("/accounts")
@public
@register_limits
def create_account():
    data = body(RegisterSchema)
    accounts.register(data["email"], data["password"], data["display_name"], data["role"])
    return reply(RegisteredOut, {"message": REGISTERED}, 202)


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
