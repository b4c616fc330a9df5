"""The input vocabulary of exercise steps: field helpers that carry a label and a kind, and
`describe`, which turns a step schema into the `view.input` list a client renders as a form."""
from __future__ import annotations

import datetime as dt
import functools
import re

from marshmallow import ValidationError, fields as mfields, missing, validate

from couples.fields import Choice, PlainText, Rating, StrictSchema, Text

from .feelings import COMMON as COMMON_FEELINGS, FEELINGS
from .needs_list import COMMON as COMMON_NEEDS, NEEDS

MAX_TEXT = 1000


# Each helper is a marshmallow field carrying metadata for describe().


def text(label, *, max_length=MAX_TEXT, required=True, hints=()):
    """`hints`: gentle hint rules shown while typing (see hints_for); never a refusal."""
    return Text(max_length=max_length, required=required,
                metadata={"kind": "text", "label": label, "hints": list(hints)})


def feeling(label="One feeling word", *, required=True, hints=()):
    """One word, from our feelings list or one's own (`options` are suggestions)."""
    return PlainText(max_length=40, required=required,
                     metadata={"kind": "feeling", "label": label, "options": FEELINGS,
                               "common": COMMON_FEELINGS, "hints": list(hints)})


def need(label="What I need", *, required=True, hints=()):
    """A need, from our needs list or in one's own words (`options` are suggestions)."""
    return PlainText(max_length=80, required=required,
                     metadata={"kind": "need", "label": label, "options": NEEDS,
                               "common": COMMON_NEEDS, "hints": list(hints)})


def rating(label, *, required=True, distress=False):
    """A 0-10 rating; `distress` ones (SUDS, arousal) at FLOODED or more flag the partner."""
    return Rating(required=required, allow_none=not required,
                  metadata={"kind": "rating", "label": label, "distress": distress})


def choice(options, label, *, required=True, labels=None):
    return Choice(options, required=required,
                  metadata={"kind": "choice", "label": label, "labels": labels or {}})


def minutes(label, *, lo, hi, default=None):
    """Whole minutes in [lo, hi]; with no default the field is optional and absent means none."""
    return mfields.Integer(strict=True, validate=validate.Range(min=lo, max=hi),
                           load_default=default if default is not None else missing,
                           metadata={"kind": "minutes", "label": label})


class StrictBool(mfields.Field):
    """true or false, nothing else ("true", 1 and "yes" are errors)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if value is True or value is False:
            return value
        raise ValidationError("Must be true or false.")


def boolean(label, *, required=True, default=None):
    if default is not None:
        return StrictBool(load_default=default, metadata={"kind": "bool", "label": label})
    return StrictBool(required=required, metadata={"kind": "bool", "label": label})


def share(default, label="Share with my partner"):
    """Whether this answer's ratings and feeling words reach the partner (never the other way:
    the therapist, when linked, always sees them). The default follows the protocol."""
    return boolean(label, default=default)


def distress_fields(schema_cls) -> tuple:
    """The names of a schema's distress ratings (cached on the class)."""
    names = schema_cls.__dict__.get("_distress")
    if names is None:
        names = tuple(n for n, f in schema_cls._declared_fields.items()
                      if f.metadata.get("distress"))
        schema_cls._distress = names
    return names


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
    """The input description for a schema: what a client needs to render the form. Built once
    per schema and shared by every view that shows it: read it, never change it."""
    return [] if schema_cls is None else _described(schema_cls)


@functools.cache
def _described(schema_cls) -> list:
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
        if md.get("options"):  # suggestions (feeling, need): an own word is accepted too
            d["options"] = list(md["options"])
        if md.get("common"):  # the few of those suggestions to show first
            d["common"] = list(md["common"])
        if md.get("hints"):
            d["hints"] = [{"words": list(h["words"]), "hint": h["hint"]} for h in md["hints"]]
        if f.load_default is not missing:
            d["default"] = f.load_default
        out.append(d)
    return out


# --------------------------------------------------------------------------- gentle hints

# A word is letters and digits, with inner apostrophes ("you'd"); static/js/room/hints.js splits
# alike.
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")


def words_of(text: str) -> list:
    return _WORD.findall((text or "").lower().replace("\u2019", "'"))


def hints_for(field, text: str) -> list:
    """The hints whose words appear in `text` as whole words, in the field's order of rules.

    `field` is a described field (a dict with `hints`) or a field helper's marshmallow field.
    A phrase matches when its words follow each other in the text. The room shows these as the
    person types; the same rule, here, is what the tests and the transcript can use."""
    rules = field.get("hints") if isinstance(field, dict) else field.metadata.get("hints")
    said = words_of(text)
    found = []
    for rule in rules or ():
        for phrase in rule["words"]:
            want = words_of(phrase)
            n = len(want)
            if n and any(said[i:i + n] == want for i in range(len(said) - n + 1)):
                found.append(rule["hint"])
                break
    return found
