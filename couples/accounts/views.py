"""Register, log in and log out: the HTML pages. Transport only (parse, call the service, render)."""
from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from marshmallow import ValidationError

from ..errors import DomainError
from ..web.forms import form_errors, form_input, safe_next
from . import service as accounts
from .schemas import LoginSchema, RegisterSchema
from .throttle import login_limits, register_limits, stranger_limits

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

# The same answer whether or not the email already had an account (docs/security.md): nobody can
# learn from this page who uses Couples. The new account is not logged in; its owner logs in next.
REGISTERED = ("Thank you. If this email was new, your account is ready: log in with it now. If it "
              "already had an account, nothing was changed: log in with that account's password.")


def next_page() -> str | None:
    """Where the person was going (an invitation link, say), if it is a path on this site: kept
    through register -> log in -> there, and never a way off the site (safe_next)."""
    return safe_next(request.args.get("next"))


@bp.route("/register", methods=["GET", "POST"])
@register_limits
def register():
    if current_user.is_authenticated:
        return redirect(next_page() or url_for("pairing.dashboard"))
    values, errors, status = {"role": "partner"}, {}, 200
    if request.method == "POST":
        values = form_input("email", "display_name", "role")
        try:
            data = RegisterSchema().load(form_input("email", "password", "display_name", "role"))
            accounts.register(data["email"], data["password"], data["display_name"], data["role"])
        except (ValidationError, DomainError) as err:
            errors, status = form_errors(err), getattr(err, "status", 422)
        else:
            session["login_email"] = data["email"].strip().lower()  # filled in on the login page
            flash(REGISTERED, "success")
            return redirect(url_for("accounts.login", next=next_page()), 303)
    return render_template("auth/register.html", values=values, errors=errors, next=next_page(),
                           invited=is_invitation(next_page())), status


@bp.route("/login", methods=["GET", "POST"])
@login_limits
def login():
    if current_user.is_authenticated and request.method == "GET":
        return redirect(next_page() or url_for("pairing.dashboard"))
    values, errors, status = {}, {}, 200
    if request.method == "GET" and session.get("login_email"):
        values = {"email": session.pop("login_email")}
    if request.method == "POST":
        values = form_input("email")
        try:
            data = LoginSchema().load(form_input("email", "password"))
            user = accounts.authenticate(data["email"], data["password"])
        except (ValidationError, DomainError) as err:
            errors, status = form_errors(err), getattr(err, "status", 422)
        else:
            log_in(user)
            return redirect(next_page() or url_for("pairing.dashboard"))
    return render_template("auth/login.html", values=values, errors=errors, next=next_page(),
                           invited=is_invitation(next_page())), status


def is_invitation(path: str | None) -> bool:
    """The page after logging in is a partner's invitation (/join/<code>): say so on the way."""
    return bool(path) and path.startswith(url_for("pairing.join_page", code="x")[:-1])


@bp.post("/logout")
@stranger_limits
def logout():
    if current_user.is_authenticated:
        accounts.end_login(current_user.auth_session_id)
    logout_user()
    session.clear()
    flash("You have logged out.", "success")
    return redirect(url_for("accounts.login"))
