"""What every HTML form view shares: reading the named fields, errors beside each field, and
where a redirect may go."""
import unicodedata
from urllib.parse import unquote

from flask import request
from marshmallow import ValidationError

from ..errors import DomainError
from ..fields import error_fields


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
    r"""`target` when it is a path on this site, else None (the caller redirects home instead).

    Decided on what a browser would make of it, not on the raw text: browsers drop tabs and line
    breaks anywhere in a URL and spaces and controls at its ends (so "/\t/evil.com" is
    "//evil.com", another host), read a backslash as a slash, and resolve "." and ".." segments;
    a proxy may decode %2F. So: no control, space or invisible character and no backslash, in the
    text or in its percent-decodings; a single leading slash; no empty, "." or ".." segment; no
    scheme, no host. Anything else is refused rather than repaired."""
    if not isinstance(target, str) or not 0 < len(target) <= 2000:
        return None
    seen = target
    for _ in range(3):  # the text and up to two rounds of percent-decoding ("%252F")
        if not _is_local_path(seen):
            return None
        decoded = unquote(seen)
        if decoded == seen:
            return target
        seen = decoded
    return None  # still encoded after three rounds: nobody writes a link like that


def _is_local_path(text: str) -> bool:
    if any(ch == "\\" or unicodedata.category(ch)[0] in "CZ" for ch in text):
        return False  # controls (tab, CR, LF, NUL...), spaces, invisible formatting, backslash
    path = text.split("?", 1)[0].split("#", 1)[0]
    if not path.startswith("/"):
        return False  # a scheme ("https:", "javascript:"), or relative to the login page
    segments = path.split("/")[1:]  # "//host" and "/a//b" have an empty one
    return all(seg not in ("", ".", "..") for seg in segments[:-1]) and segments[-1] not in (".", "..")
