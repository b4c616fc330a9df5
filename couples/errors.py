"""The one error shape, `{"error": {"code", "message", "fields"}}`, and the domain's exception."""
from flask import jsonify, render_template, request
from marshmallow import ValidationError
from sqlalchemy.exc import InterfaceError, OperationalError, TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from .fields import error_fields


class DomainError(Exception):
    """A refused request: a stable `code` for clients, a `message` for people, an HTTP status."""

    def __init__(self, code: str, message: str, status: int = 400, fields: dict | None = None):
        super().__init__(message)
        self.code, self.message, self.status, self.fields = code, message, status, fields or {}

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "fields": self.fields}


def invalid(err: ValidationError) -> DomainError:
    """A marshmallow failure as the one error shape (422, each field with its reason)."""
    return DomainError("invalid_input", "Some fields need another look.", 422, error_fields(err))


def error_response(err: DomainError):
    return jsonify({"error": err.to_dict()}), err.status


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


# Stable codes for the HTTP errors the framework raises before our code runs.
_HTTP_CODES = {400: "bad_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 413: "too_large", 415: "unsupported_media_type",
               429: "rate_limited", 500: "server_error", 503: "unavailable"}


def register_error_handlers(app):
    @app.errorhandler(DomainError)
    def on_domain_error(err):
        if _wants_json():
            return error_response(err)
        return render_template("error.html", error=err), err.status

    @app.errorhandler(ValidationError)
    def on_validation_error(err):
        return on_domain_error(invalid(err))

    @app.errorhandler(HTTPException)
    def on_http_error(err):
        code = _HTTP_CODES.get(err.code, "http_error")
        message = err.description or err.name
        if err.code == 400 and "CSRF" in (err.description or ""):
            code, message = "csrf_failed", "This form expired or was sent from another site. Please try again."
        return on_domain_error(DomainError(code, message, err.code))

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    @app.errorhandler(PoolTimeout)
    def on_database_unavailable(err):
        """The database is unreachable: a clear 503, nothing was changed, try again."""
        app.logger.warning("database unavailable on %s %s (%s)", request.method, request.path,
                           type(err).__name__)
        try:
            from .extensions import db
            db.session.rollback()
        except Exception:  # noqa: BLE001 - the connection may be gone with the database
            pass
        return on_domain_error(DomainError(
            "unavailable", "The service is briefly unavailable. Nothing was changed; please try again.", 503))

    @app.errorhandler(Exception)
    def on_unexpected(err):  # pragma: no cover - the last line of defence, logged without user text
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return on_domain_error(DomainError("server_error", "Something went wrong on our side.", 500))
