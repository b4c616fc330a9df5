"""JSON API for data rights (routes on the /api/v1 blueprint): export, delete, who viewed."""
import json

from flask import Response
from flask_login import current_user
from marshmallow import fields, validate

from . import privacy
from .api import body, bp
from .fields import StrictSchema, valid_unicode


class DeleteAccountBody(StrictSchema):
    password = fields.String(required=True, validate=[validate.Length(min=1, max=1000), valid_unicode])
    confirm = fields.String(required=True, validate=[validate.Length(max=100), valid_unicode])


def _user():
    return current_user._get_current_object()


@bp.get("/me/export")
def export_my_data():
    """Everything about the caller, as a JSON download."""
    data = json.dumps(privacy.export(_user()), ensure_ascii=False, indent=2)
    return Response(data, mimetype="application/json",
                    headers={"Content-Disposition": 'attachment; filename="couples-export.json"'})


@bp.post("/me/delete")
def delete_my_account():
    """Delete (anonymise) the caller's account; needs the password and the phrase "delete my account"."""
    data = body(DeleteAccountBody)
    privacy.delete_account(_user(), data["password"], data["confirm"])
    return {"deleted": True}


@bp.get("/couple/audit")
def who_viewed():
    """Each time a therapist observed or read one of the caller's couple's sessions."""
    return {"entries": privacy.views_of_my_sessions(_user())}
