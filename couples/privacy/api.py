"""The data-rights API: export, delete, who viewed."""
import json

from flask import Response
from marshmallow import fields, validate

from ..fields import StrictSchema, valid_unicode
from ..web.api import api_blueprint, body, caller
from . import service as privacy

bp = api_blueprint("privacy", __name__)


class DeleteAccountBody(StrictSchema):
    password = fields.String(required=True, validate=[validate.Length(min=1, max=1000), valid_unicode])
    confirm = fields.String(required=True, validate=[validate.Length(max=100), valid_unicode])


@bp.get("/me/export")
def export_my_data():
    """Everything about the caller, as a JSON download."""
    data = json.dumps(privacy.export(caller()), ensure_ascii=False, indent=2)
    return Response(data, mimetype="application/json",
                    headers={"Content-Disposition": 'attachment; filename="couples-export.json"'})


@bp.post("/me/delete")
def delete_my_account():
    """Delete (anonymise) the caller's account; needs the password and the phrase "delete my account"."""
    data = body(DeleteAccountBody)
    privacy.delete_account(caller(), data["password"], data["confirm"])
    return {"deleted": True}


@bp.get("/couple/audit")
def who_viewed():
    """Each time a therapist observed or read one of the caller's couple's sessions."""
    return {"entries": privacy.views_of_my_sessions(caller())}
