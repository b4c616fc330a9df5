"""What every JSON API blueprint (/api/v1) shares: authentication, the body parser, the reply.

Authentication is a bearer token (`Authorization: Bearer ...`) or the browser's login cookie;
a state-changing call made with the cookie must carry the CSRF token in `X-CSRFToken`.
Tokens are never read from the URL.
"""
import json

from flask import Blueprint, current_app, g, request
from flask_login import current_user

from ..errors import DomainError
from ..extensions import csrf, login_manager

PREFIX = "/api/v1"


def api_blueprint(name: str, import_name: str) -> Blueprint:
    """A feature's API blueprint: under /api/v1, authenticated before every route, and exempt
    from the form CSRF check (cookie calls are checked here; bearer tokens need none)."""
    bp = Blueprint(f"{name}_api", import_name, url_prefix=PREFIX)
    bp.before_request(authenticate)
    csrf.exempt(bp)
    return bp


def public(view):
    """Mark a route that needs no login (registering, asking for a token)."""
    view.public = True
    return view


def authenticate():
    """Bearer token first (and only, when one is sent); else the login cookie plus CSRF."""
    from ..accounts import service as accounts
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
    view = current_app.view_functions.get(request.endpoint)
    if not getattr(view, "public", False) and not current_user.is_authenticated:
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


def caller():
    """The authenticated user object itself (not Flask-Login's proxy)."""
    return current_user._get_current_object()
