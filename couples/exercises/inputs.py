"""The input vocabulary of exercise steps: field helpers that carry a label and a kind, and
`describe`, which turns a step schema into the `view.input` list a client renders as a form."""
from __future__ import annotations

import datetime as dt

from marshmallow import ValidationError, fields as mfields, missing, validate

from couples.fields import Choice, PlainText, Rating, StrictSchema, Text

from .feelings import FEELINGS

MAX_TEXT = 1000


# Each helper is a marshmallow field carrying metadata for describe().


def text(label, *, max_length=MAX_TEXT, required=True):
    return Text(max_length=max_length, required=required,
                metadata={"kind": "text", "label": label})


def feeling(label="One feeling word", *, required=True):
    return PlainText(max_length=40, required=required, metadata={"kind": "feeling", "label": label})


def rating(label):
    return Rating(required=True, metadata={"kind": "rating", "label": label})


def choice(options, label, *, required=True, labels=None):
    return Choice(options, required=required,
                  metadata={"kind": "choice", "label": label, "labels": labels or {}})


def minutes(label, *, lo, hi, default):
    return mfields.Integer(strict=True, validate=validate.Range(min=lo, max=hi),
                           load_default=default, metadata={"kind": "minutes", "label": label})


class StrictBool(mfields.Field):
    """true or false, nothing else ("true", 1 and "yes" are errors)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if value is True or value is False:
            return value
        raise ValidationError("Must be true or false.")


def boolean(label, *, required=True):
    return StrictBool(required=required, metadata={"kind": "bool", "label": label})


class IsoDate(mfields.Field):
    """A calendar date as "YYYY-MM-DD"; kept as that string (state stays JSON)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or len(value) != 10:
            raise ValidationError("Must be a date like 2026-05-31.")
        try:
            dt.date.fromisoformat(value)
        except ValueError:
            raise ValidationError("Must be a date like 2026-05-31.") from None
        return value


def date(label, *, required=False):
    return IsoDate(required=required, metadata={"kind": "date", "label": label})


def date_within(name, days=365):
    """A Step.check: the date `name` (if given) is today or later and at most `days` ahead."""

    def check(ctx, data):
        value = data.get(name)
        if value is None:
            return {}
        day, today = dt.date.fromisoformat(value), ctx.now.date()
        if day < today:
            return {name: "Must be today or later."}
        if day > today + dt.timedelta(days=days):
            return {name: f"Must be within {days} days."}
        return {}

    return check


def schema(name, **declared):
    """A StrictSchema subclass from fields (for steps that need no cross-field rules)."""
    return StrictSchema.from_dict(declared, name=name)


def describe(schema_cls) -> list | None:
    """The input description for a schema: what a client needs to render the form."""
    if schema_cls is None:
        return []
    out = []
    for name, f in schema_cls._declared_fields.items():
        md = f.metadata
        d = {"name": name, "kind": md.get("kind", "text"), "label": md.get("label", name),
             "required": bool(f.required)}
        for v in f.validators:
            if isinstance(v, validate.Range):
                d["min"], d["max"] = v.min, v.max
            elif isinstance(v, validate.OneOf):
                labels = md.get("labels") or {}
                d["options"] = list(v.choices)
                d["labels"] = {c: labels.get(c, c) for c in v.choices}
            elif isinstance(v, validate.Length) and v.max is not None:
                d["max_length"] = v.max
        if d["kind"] == "rating":
            d["min"], d["max"] = 0, 10
        if d["kind"] == "feeling":
            d["options"] = list(FEELINGS)
        if f.load_default is not missing:
            d["default"] = f.load_default
        out.append(d)
    return out
