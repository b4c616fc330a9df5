"""The login throttle shared by the login page and the token endpoint."""
from flask import current_app, request
from flask_limiter.util import get_remote_address

from ..extensions import limiter


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _login_email_key() -> str:
    """Throttle guesses at one account from many addresses, too."""
    if request.is_json:
        data = request.get_json(silent=True)
        email = data.get("email") if isinstance(data, dict) else None
    else:
        email = request.form.get("email")
    return "login-email:" + (email.strip().lower()[:254] if isinstance(email, str) else "")


def login_limits(view):
    """LOGIN_RATE_LIMIT per remote address and per email, on POST only."""
    view = limiter.limit(_login_limit, key_func=_login_email_key, methods=["POST"])(view)
    return limiter.limit(_login_limit, key_func=get_remote_address, methods=["POST"])(view)
