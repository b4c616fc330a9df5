"""HTML pages for privacy: who can see and who viewed our sessions, export, delete account."""
import json

from flask import Blueprint, Response, render_template, request, session
from flask_login import current_user, login_required, logout_user
from marshmallow import ValidationError

from ..errors import DomainError
from ..pairing import service as pairing
from ..web.forms import form_errors, form_input
from . import service as privacy

bp = Blueprint("privacy", __name__)


@bp.get("/privacy")
@login_required
def privacy_page():
    """Who can see this couple's sessions, who viewed them and when, and the data rights."""
    views = [] if current_user.is_therapist else privacy.views_of_my_sessions(current_user)
    status = None if current_user.is_therapist else pairing.couple_status(current_user)
    return render_template("privacy/index.html", views=views, status=status)


@bp.get("/privacy/export")
@login_required
def privacy_export():
    data = json.dumps(privacy.export(current_user._get_current_object()), ensure_ascii=False, indent=2)
    return Response(data, mimetype="application/json",
                    headers={"Content-Disposition": 'attachment; filename="couples-export.json"'})


@bp.route("/privacy/delete", methods=["GET", "POST"])
@login_required
def privacy_delete():
    """Explain what deleting does, in the person's own situation; delete only once confirmed."""
    errors, status = {}, 200
    if request.method == "POST":
        values = form_input("password", "confirm")
        try:
            privacy.delete_account(current_user._get_current_object(), values.get("password", ""),
                                   values.get("confirm", ""))
        except (ValidationError, DomainError) as err:
            errors, status = form_errors(err), getattr(err, "status", 422)
            if getattr(err, "code", None) == "bad_credentials":
                errors = {"password": err.message}
        else:
            logout_user()
            session.clear()
            return render_template("privacy/deleted.html")
    preview = privacy.deletion_preview(current_user)
    return render_template("privacy/delete.html", preview=preview, errors=errors,
                           phrase=privacy.CONFIRM_PHRASE), status
