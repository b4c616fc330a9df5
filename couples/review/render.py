"""Reading an event in the vocabulary's words (review/vocabulary.py): as parts, as the API's plain
line, and as the transcript page's Markup (names and words escaped inside `<bdi>`)."""
from __future__ import annotations

import re

from markupsafe import Markup, escape

from ..web.filters import bdi
from .vocabulary import (ANSWER_EVENTS, ANSWERS, NAME, NOBODY, QUIET, SENTENCES, SLOTS, STEP, UNNAMED, VALUES,
                         WORDS, answers, step_title)

_SLOT = re.compile(r"\{(\w+)\}")


class Isolated(str):
    """A part of a sentence shown isolated: a name or a person's words."""


def _key(value) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    return "" if value is None else str(value)


def _source(d: dict, slot: str):
    kind, fields = SLOTS[slot]
    if kind == STEP:
        return d.get("step")
    if kind == ANSWERS:
        texts, marks = answers(d.get("exercise"), d.get("step"), d.get("data"))
        return texts + marks
    return next((d[f] for f in fields if d.get(f) not in (None, "")), None)


def _choose(template, d: dict, viewer: str) -> list[str]:
    """The template strings that apply to this event and viewer, in order."""
    if isinstance(template, str):
        return [template]
    if isinstance(template, list):
        return [t for part in template for t in _choose(part, d, viewer)]
    if "viewer" in template:
        return _choose(template["viewer"]["therapist" if viewer == "therapist" else "partner"], d, viewer)
    if "field" in template:
        cases = template["cases"]
        key = _key(d.get(template["field"]))
        return _choose(cases[key] if key in cases else template.get("else", ""), d, viewer)
    if "if" in template:
        present = _source(d, template["if"]) not in (None, "", [])
        return _choose(template["then"] if present else template.get("else", ""), d, viewer)
    raise ValueError(f"not a template: {template!r}")


def _fill(text: str, d: dict, names: dict) -> list:
    parts = []
    for i, piece in enumerate(_SLOT.split(text)):
        if i % 2 == 0:
            parts.append(piece)
            continue
        kind, _ = SLOTS[piece]
        value = _source(d, piece)
        if kind == NAME:
            parts.append(Isolated(names.get(value) or UNNAMED.format(seat=value.upper())) if value else NOBODY)
        elif kind == WORDS:
            parts.append(Isolated("" if value is None else str(value)))
        elif kind == STEP:
            parts.append(step_title(d.get("exercise"), d.get("step")))
        elif kind == ANSWERS:
            parts.append(VALUES["separator"].join(VALUES["pair"].format(label=k, value=v) for k, v in value))
        else:
            parts.append(_key(value))
    return [p for p in parts if p != ""]


def parts(ev: dict, names: dict, viewer: str) -> list | None:
    """The sentence of an event as parts: plain strings and `Isolated` names and words. None for
    an event type the vocabulary does not know."""
    template = SENTENCES.get(ev["type"])
    if template is None:
        return None
    d = ev.get("data") or {}
    return [p for t in _choose(template, d, viewer) for p in _fill(t, d, names)]


def text(sentence: list) -> str:
    return "".join(sentence)


def markup(sentence: list) -> Markup:
    """Names and words escaped inside `<bdi>`, everything else escaped."""
    return Markup("").join(bdi(p) if isinstance(p, Isolated) else escape(p) for p in sentence)


def line(ev: dict, names: dict, viewer: str) -> str:
    """The API transcript's line: one sentence for every event (answers included)."""
    sentence = parts(ev, names, viewer)
    if sentence is None:
        return ev["type"].replace("_", " ").capitalize() + "."
    return text(sentence)


def describe_event(ev: dict, names: dict, viewer: str) -> dict | None:
    """One entry of the transcript page: who, a short sentence (Markup), answers and ratings;
    None to leave it out (a quiet or unknown event)."""
    d, kind = ev["data"] or {}, ev["type"]
    entry = {"seq": ev["seq"], "at": ev["at"], "who": None, "seat": ev["actor"], "kind": kind,
             "text": "", "answers": [], "ratings": []}
    if kind in ANSWER_EVENTS:
        seat = d.get("by")
        entry["who"] = (names.get(seat) or UNNAMED.format(seat=seat.upper())) if seat else NOBODY
        entry["seat"] = seat
        entry["text"] = step_title(d.get("exercise"), d.get("step"))
        entry["answers"], entry["ratings"] = answers(d.get("exercise"), d.get("step"), d.get("data"))
        return entry
    if kind in QUIET:
        return None
    sentence = parts(ev, names, viewer)
    if sentence is None:
        return None
    entry["text"] = markup(sentence)  # the sentence names whoever acted
    return entry
