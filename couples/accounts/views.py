"""Register, log in and log out: the HTML pages. Transport only (parse, call the service, render)."""
from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from marshmallow import ValidationError

from ..errors import DomainError
from ..web.forms import form_errors, form_input, safe_next
from . import service as accounts
from .schemas import LoginSchema, RegisterSchema
from .throttle import login_limits

bp = Blueprint("accounts", __name__)


def log_in(user) -> None:
    """A fresh login: the old one in this browser ends, and the session starts empty."""
    previous = session.get("_user_id")
    if previous:
        accounts.end_login(previous)
    session.clear()
    accounts.start_login(user)
    login_user(user)


# --- pages ----------------------------------------------------------------------------------

@bp.route("/register", methods=["GET", "POST"])
def register():
    if current_user.is_authenticated:
        return redirect(url_for("pairing.dashboard"))
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
            return redirect(url_for("pairing.dashboard"))
    return render_template("auth/register.html", values=values, errors=errors), status


@bp.route("/login", methods=["GET", "POST"])
@login_limits
def login():
    if current_user.is_authenticated and request.method == "GET":
        return redirect(url_for("pairing.dashboard"))
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
            return redirect(safe_next(request.args.get("next")) or url_for("pairing.dashboard"))
    return render_template("auth/login.html", values=values, errors=errors), status


@bp.post("/logout")
def logout():
    if current_user.is_authenticated:
        accounts.end_login(current_user.auth_session_id)
    logout_user()
    session.clear()
    flash("You have logged out.", "success")
    return redirect(url_for("accounts.login"))
