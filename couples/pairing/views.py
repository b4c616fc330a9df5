"""HTML pages: the dashboard with the couple, its invitation, its therapists and consent.

Transport only: each view parses the form with a schema, calls `pairing`, then redirects with a
flash message (post/redirect/get) or shows the page again with the errors beside the fields.
"""
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from marshmallow import ValidationError

from ..errors import DomainError
from ..review import signals
from ..web.forms import form_errors, form_input
from ..web.links import public_url
from . import live, service as pairing
from .schemas import JoinSchema, TherapistInviteSchema

bp = Blueprint("pairing", __name__)


@bp.get("/")
def index():
    return redirect(url_for("pairing.dashboard" if current_user.is_authenticated else "accounts.login"))


@bp.get("/dashboard")
@login_required
def dashboard():
    return render_dashboard()


def render_dashboard(form: str | None = None, errors: dict | None = None, values: dict | None = None,
                     status: int = 200):
    """The partner's or the therapist's dashboard; `form` names the form whose `errors` to show."""
    if current_user.is_therapist:
        return render_template("dashboard_therapist.html", couples=pairing.therapist_couples(current_user),
                               unread=signals.unread_counts(current_user), live=live.status(current_user)), status
    state = pairing.couple_status(current_user)
    invite_url = public_url("pairing.join_page", code=state.invitation.code) if state.invitation else None
    return render_template("dashboard.html", state=state, invite_url=invite_url, form=form,
                           errors=errors or {}, values=values or {}, live=live.status(current_user)), status


def _done(action, message: str):
    """Run a pairing action without input; say how it went on the dashboard."""
    try:
        action(current_user)
    except DomainError as err:
        flash(err.message, "error")
    else:
        flash(message, "success")
    return redirect(url_for("pairing.dashboard"), 303)


def _filled(*names: str) -> dict:
    return {k: v for k, v in form_input(*names).items() if v.strip()}


@bp.post("/couple")
@login_required
def create_couple():
    return _done(pairing.create_couple, "Your couple is ready. Share the invitation with your partner.")


@bp.post("/couple/invitation")
@login_required
def new_invitation():
    return _done(pairing.new_invitation, "Here is a new invitation. The old one no longer works.")


@bp.get("/join/<code>")
@login_required
def join_page(code):
    return render_template("join.html", code=pairing.normalise_code(code)[:40], errors={})


@bp.post("/join")
@login_required
def join():
    values = form_input("code")
    try:
        data = JoinSchema().load(values)
        pairing.join(current_user, data["code"])
    except (ValidationError, DomainError) as err:
        status = getattr(err, "status", 422)
        if request.form.get("from") == "join":
            return render_template("join.html", code=values.get("code", ""), errors=form_errors(err)), status
        return render_dashboard("join", form_errors(err), values, status)
    flash("You have joined your partner.", "success")
    return redirect(url_for("pairing.dashboard"), 303)


@bp.route("/couple/leave", methods=["GET", "POST"])
@login_required
def leave():
    if request.method == "GET":
        return render_template("leave.html")
    return _done(pairing.leave, "The couple has ended for both of you. Your past sessions stay readable.")


@bp.post("/couple/therapists")
@login_required
def invite_therapist():
    values = _filled("email", "code")
    try:
        data = TherapistInviteSchema().load(values)
        pairing.invite_therapist(current_user, email=data["email"], code=data["code"])
    except (ValidationError, DomainError) as err:
        return render_dashboard("therapist", form_errors(err), values, getattr(err, "status", 422))
    flash("Therapist invited. They can see your couple once both of you have agreed.", "success")
    return redirect(url_for("pairing.dashboard"), 303)


@bp.post("/couple/therapists/<int:link_id>/consent")
@login_required
def consent(link_id):
    return _done(lambda user: pairing.consent(user, link_id), "You have agreed to share with this therapist.")


@bp.post("/couple/therapists/<int:link_id>/revoke")
@login_required
def revoke(link_id):
    return _done(lambda user: pairing.revoke(user, link_id), "This therapist can no longer see your couple.")
