"""Register, log in and log out (HTML pages), and the login throttle shared with the API."""
from flask import (Blueprint, current_app, flash, redirect, render_template, request, session,
                   url_for)
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_user, logout_user
from marshmallow import ValidationError

from . import accounts
from .errors import DomainError
from .extensions import limiter
from .fields import error_fields
from .schemas import LoginSchema, RegisterSchema

bp = Blueprint("auth", __name__)


# --- shared by the HTML pages and the API ----------------------------------------------------

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


def log_in(user) -> None:
    """A fresh login: the old one in this browser ends, and the session starts empty."""
    previous = session.get("_user_id")
    if previous:
        accounts.end_login(previous)
    session.clear()
    accounts.start_login(user)
    login_user(user)


def form_input(*names: str) -> dict:
    """The submitted form fields named (the CSRF token and buttons are not the schema's business)."""
    return {name: request.form[name] for name in names if name in request.form}


def form_errors(err: Exception) -> dict:
    """Field name -> message, for showing beside each field and in the summary."""
    if isinstance(err, ValidationError):
        return error_fields(err)
    if isinstance(err, DomainError):
        return err.fields or {"_form": err.message}
    return {"_form": str(err)}


def safe_next(target: str | None) -> str | None:
    """Only a path on this site (never //host or a full URL) may be a redirect target."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return None


# --- pages ----------------------------------------------------------------------------------

@bp.route("/register", methods=["GET", "POST"])
def register():
    if current_user.is_authenticated:
        return redirect(url_for("views.dashboard"))
    values, errors, status = {"role": "partner"}, {}, 200
    if request.method == "POST":
        values = form_input("email", "display_name", "role")
        try:
            data = RegisterSchema().load(form_input("email", "password", "display_name", "role"))
            user = accounts.register(data["email"], data["password"], data["display_name"], data["role"])
        except (ValidationError, DomainError) as err:
            errors, status = form_errors(err), getattr(err, "status", 422)
        else:
            log_in(user)
            flash("Welcome. Your account is ready.", "success")
            return redirect(url_for("views.dashboard"))
    return render_template("auth/register.html", values=values, errors=errors), status


@bp.route("/login", methods=["GET", "POST"])
@login_limits
def login():
    if current_user.is_authenticated and request.method == "GET":
        return redirect(url_for("views.dashboard"))
    values, errors, status = {}, {}, 200
    if request.method == "POST":
        values = form_input("email")
        try:
            data = LoginSchema().load(form_input("email", "password"))
            user = accounts.authenticate(data["email"], data["password"])
        except (ValidationError, DomainError) as err:
            errors, status = form_errors(err), getattr(err, "status", 422)
        else:
            log_in(user)
            return redirect(safe_next(request.args.get("next")) or url_for("views.dashboard"))
    return render_template("auth/login.html", values=values, errors=errors), status


@bp.post("/logout")
def logout():
    if current_user.is_authenticated:
        accounts.end_login(current_user.auth_session_id)
    logout_user()
    session.clear()
    flash("You have logged out.", "success")
    return redirect(url_for("auth.login"))
