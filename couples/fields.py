"""Strict marshmallow field types shared by HTTP bodies, socket payloads and exercise steps.

Pure marshmallow: no Flask, no database, so the exercise engine can use them too.
"""
import re
import unicodedata

from marshmallow import Schema, ValidationError, fields, validate, RAISE

# Control characters other than newline and tab are never meaningful in a person's text.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

# Invisible characters that change how the text around them looks: bidirectional overrides,
# embeddings, isolates and marks, zero-width spaces, line separators and other controls.
_INVISIBLE = {"Cc", "Cf", "Zl", "Zp"}
# The joiners stay: Persian and Indic names and emoji sequences need them, and they reorder nothing.
_JOINERS = {"\u200c", "\u200d"}
_CONTROL_NAMES = {"\n": "line break", "\r": "line break", "\t": "tab"}


def is_unicode(value: str) -> bool:
    """False for text with lone surrogates (JSON "\\ud800"), which no database or hash can store."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def valid_unicode(value: str) -> None:
    """A marshmallow validator: refuse lone surrogates (for fields that are not `Text`, e.g. passwords)."""
    if isinstance(value, str) and not is_unicode(value):
        raise ValidationError("Contains characters that are not valid Unicode.")


def invisible_character(value: str) -> str | None:
    """The first control or format character in `value` that a reader would not see, or None."""
    return next((ch for ch in value if unicodedata.category(ch) in _INVISIBLE and ch not in _JOINERS), None)


def visible_only(value) -> None:
    """A marshmallow validator: refuse text that could be shown to someone else misleadingly."""
    ch = invisible_character(value) if isinstance(value, str) else None
    if ch is not None:
        name = _CONTROL_NAMES.get(ch) or unicodedata.name(ch, "control character").lower()
        raise ValidationError(f"Remove the invisible character U+{ord(ch):04X} ({name}): "
                              "it can change how this text looks to other people.")


class StrictSchema(Schema):
    """Rejects unknown keys (marshmallow's default, stated so it cannot drift)."""

    class Meta:
        unknown = RAISE


class Text(fields.String):
    """A person's words: NFC-normalised, trimmed, never empty, bounded, no control characters."""

    def __init__(self, *, max_length=2000, min_length=1, **kwargs):
        super().__init__(validate=validate.Length(min=min_length, max=max_length), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise ValidationError("Must be text.")
        if _CONTROL.search(value):
            raise ValidationError("Contains control characters.")
        if not is_unicode(value):
            raise ValidationError("Contains characters that are not valid Unicode.")
        return unicodedata.normalize("NFC", value).strip()


class PlainText(Text):
    """Short one-line text shown to someone else (a name): `Text` without invisible characters,
    so nobody can make it read differently (a right-to-left override, a hidden line break)."""

    def _deserialize(self, value, attr, data, **kwargs):
        visible_only(value)
        return super()._deserialize(value, attr, data, **kwargs)


def Rating(**kwargs):
    """A 0-10 whole-number rating: 7.9, "7" and true are errors, not 7."""
    return fields.Integer(strict=True, validate=validate.Range(min=0, max=10), **kwargs)


def Choice(options, **kwargs):
    """One of a fixed set of strings."""
    return fields.String(validate=validate.OneOf(list(options)), **kwargs)


def error_fields(err: ValidationError) -> dict:
    """Flatten marshmallow's messages to {"field.path": "message"} for the one error shape."""
    out = {}

    def walk(prefix, msgs):
        if isinstance(msgs, dict):
            for key, val in msgs.items():
                walk(f"{prefix}.{key}" if prefix else str(key), val)
        elif isinstance(msgs, list):
            if all(isinstance(m, str) for m in msgs):
                out[prefix or "_schema"] = " ".join(msgs)
            else:
                for i, m in enumerate(msgs):
                    walk(f"{prefix}.{i}", m)
        else:
            out[prefix or "_schema"] = str(msgs)

    walk("", err.messages)
    return out


class EmptySchema(StrictSchema):
    """For actions that take no body: `{}` or nothing at all."""
