"""The one vocabulary of a session's log: what each event reads as, step titles, answers, ratings.

Every place that shows the log reads it from here: the API transcript's `line` (plain text) and
the HTML transcript page (Markup), both rendered by review/render.py, and the live room
(`export()` goes into its config, and static/js/vocabulary.js renders the same table).

The table is data, so that the browser can read it too:

- `SENTENCES`: event type -> a template. A template is a string with named slots (`{speaker}`),
  or a choice between templates (below), or a list of templates said one after the other.
- `SLOTS`: what each slot holds and where it comes from in the event's data. `name` is a partner
  (the seat in that field: their name), `words` is a person's own words, `value` is a plain value
  (minutes, a date, the engine's own message), `step` the step's title, `answers` the answers
  given. Names and words are shown isolated (`<bdi>`): a right-to-left name cannot reorder the
  sentence around it, and a person's words are never markup.
- Choices: `{"viewer": {"therapist": t, "partner": t}}` by who reads it (the observer is not one
  of "you both"); `{"field": f, "cases": {value: t}, "else": t}` by the value of a data field
  (true/false for yes-no fields); `{"if": slot, "then": t, "else": t}` by whether a slot has
  something to show.

Tense: a sentence tells what happened, in the past tense ("Kim went first.", "Kim paused the
session.", "the session continued"), whether it is read live or in the transcript later. What a
person said keeps their own words ("You said it feels safe."), and the engine's messages
(`not_today`, `safety_waiting`) are shown as written.
"""
from __future__ import annotations

from ..exercises import engine

# --------------------------------------------------------------------------- the table

NAME, WORDS, VALUE, STEP, ANSWERS = "name", "words", "value", "step", "answers"

# slot -> (kind, the data fields it is read from, the first one set)
SLOTS = {
    "speaker": (NAME, ("speaker",)),
    "by": (NAME, ("by",)),
    "partner": (NAME, ("partner",)),
    "reason": (WORDS, ("reason",)),
    "agreement": (WORDS, ("agreement",)),
    "topic": (WORDS, ("topic",)),
    "title": (VALUE, ("title", "exercise")),
    "minutes": (VALUE, ("minutes",)),
    "choice": (VALUE, ("choice",)),
    "date": (VALUE, ("follow_up_date",)),
    "rating": (VALUE, ("rating",)),
    "feeling": (WORDS, ("feeling",)),
    "message": (VALUE, ("message",)),
    "agreed_by": (NAME, ("agreed_by",)),
    "when": (WORDS, ("when",)),
    "what": (WORDS, ("what",)),
    "gesture": (WORDS, ("gesture",)),
    "answered_by": (NAME, ("answered_by",)),
    "still_need": (WORDS, ("still_need",)),
    "differently": (WORDS, ("differently",)),
    "you_could": (WORDS, ("you_could",)),
    "do": (WORDS, ("do",)),
    "feel": (WORDS, ("feel",)),
    "fear": (WORDS, ("fear",)),
    "need": (WORDS, ("need",)),
    "name": (WORDS, ("name",)),
    "sign": (WORDS, ("sign",)),
    "step": (STEP, ("exercise", "step")),
    "answers": (ANSWERS, ("data",)),
}

NOBODY = "The session"  # a name slot with no seat: the session itself did it
UNNAMED = "Partner {seat}"  # a seat without a name (never, with partner_names; kept for safety)


def by_viewer(therapist, partner) -> dict:
    return {"viewer": {"therapist": therapist, "partner": partner}}


def by_field(name, cases: dict, otherwise="") -> dict:
    return {"field": name, "cases": cases, "else": otherwise}


def when(slot, then, otherwise="") -> dict:
    return {"if": slot, "then": then, "else": otherwise}


ANSWERED = when("answers", "{by} ({step}): {answers}", "{by} ({step}).")

SENTENCES = {
    "exercise_started": "{title} started.",
    "step_started": "Step: {step}.",
    "step_submitted": ANSWERED,
    "step_logged": ANSWERED,
    "speaker_chosen": "{speaker} went first.",
    "roles_swapped": "Roles swapped: {speaker} became the speaker.",
    # The time-out's other timers are not breaks: each says what it waits for.
    "timer_started": by_field("step", {"break": "Break of {minutes} minutes started.",
                                       "return_check": "Up to {minutes} minutes to come back.",
                                       "not_back": "Up to {minutes} minutes to choose whether to wait.",
                                       "waiting_return": "Up to {minutes} more minutes to come back.",
                                       "talk": "A turn of up to {minutes} minutes started."},
                              "A timer of {minutes} minutes started."),
    "timer_changed": "The time to come back changed: {minutes} minutes in all.",
    "timer_fired": by_field("step", {"break": "The agreed break time was reached.",
                                     "talk": "The turn's time was up."},
                            "The time was up."),
    "return_time_agreed": "Agreed break: {minutes} minutes.",
    "return_missed": when("partner", "{partner} had not come back 15 minutes after the agreed time.",
                          "Neither partner had come back 15 minutes after the agreed time."),
    "distress_flagged": "{partner} rated their distress {rating} of 10.",
    "started_anyway": "{partner} chose to start anyway, after a high distress rating.",
    "break_extended": "The break was extended by {minutes} minutes.",
    "next_step_chosen": by_field("choice", {"resume": "Next step chosen: carry on.",
                                            "switch": "Next step chosen: talk it through, "
                                                      "as speaker and listener.",
                                            "reschedule": "Next step chosen: another time."},
                                 "Next step chosen: {choice}."),
    "needs_outcome": [by_field("outcome", {"agreed": "Agreed: \u201c{agreement}\u201d.",
                                           "declined": "The request was declined kindly.",
                                           "to_revisit": "Noted to revisit another time."},
                               "Recorded."),
                      when("date", " Check in on {date}.")],
    # Speaker and listener: what the problem-solving phase came to.
    "floor_plan": ["On \u201c{topic}\u201d: ",
                   when("agreement", "agreed to try \u201c{agreement}\u201d.",
                        "no idea agreed yet; noted to come back to."),
                   when("date", " Check in on {date}.")],
    "ritual_saved": ["{by} wrote down a greeting ritual and {agreed_by} agreed to keep it. "
                     "When: {when}. What: {what}.", when("gesture", " Gesture: {gesture}.")],
    # After a fight: how each partner's apology was answered, and their plan for next time.
    "after_fight_outcome": ["{partner} apologised, and ",
                            by_field("apology", {"accept": "{answered_by} accepted the apology.",
                                                 "still_need": "{answered_by} said what they still "
                                                               "need: \u201c{still_need}\u201d."}),
                            " Next time {partner} will: \u201c{differently}\u201d.",
                            when("you_could", " {partner} asked: \u201c{you_could}\u201d.")],
    # Our cycle: each map, once both chose to share; the cycle's name, once agreed.
    "map_shared": "{partner}'s side of the cycle. When we get stuck: {do}. Underneath: {feel}. "
                  "The fear: {fear}. The need: {need}.",
    "cycle_named": "{by} named the cycle \u201c{name}\u201d and {agreed_by} agreed to keep it. "
                   "Early sign: {sign}.",
    "exercise_completed": "Exercise completed.",
    "exercise_interrupted": "{by} called a time-out.",
    "exercise_resumed": "Back to the exercise.",
    # Set aside by a therapist's hold ("held"), or an earlier exercise a time-out had interrupted.
    "exercise_abandoned": by_field("reason", {"held": "The exercise was set aside for now.",
                                              "not_calm": "The exercise was set aside for now: it "
                                                          "needs both partners calm (a distress "
                                                          "of 5 or below). A time-out or a pause "
                                                          "can help first."},
                                   "The earlier exercise was set aside."),
    # A therapist's hold on joint practice: that it happened, never why.
    "practice_held": by_viewer("Joint practice was put on hold.",
                               "Your therapist paused joint practice for now."),
    "practice_released": by_viewer("Joint practice was opened again.",
                                   "Your therapist opened joint practice again."),
    "paused": "{by} paused the session.",
    "pause_checked": ["{by} took a moment in the pause.", when("feeling", " Feeling: {feeling}."),
                      when("rating", " Strength: {rating} of 10."),
                      by_field("next", {"breathe": " Next: breathe together.",
                                        "timeout": " Next: a time-out.",
                                        "carry_on": " Next: carry on.",
                                        "end": " Next: end for today."})],
    "breathing_started": "{by} started two minutes of breathing together.",
    "pause_ended": "{by} turned the pause into a time-out.",
    "pause_reason": "Private reason for the pause: {reason}",
    "partner_ready": "{partner} was ready to continue.",
    "resumed": by_viewer("Both partners were ready; the session continued.",
                         "You were both ready; the session continued."),
    "session_ready": by_viewer("Both partners answered the private question. Ready to begin.",
                               "You both answered the private question. Ready to begin."),
    "not_today": by_viewer("The session did not go ahead today. The partners were shown where "
                           "to find help, and that you can help them decide what comes next.",
                           "{message}"),
    "safety_waiting": "{message}",
    "safety_answered": by_field("safe", {"true": "You said it feels safe.",
                                         "false": "You said it does not feel safe right now."}),
    "safety_concern": "{partner} said it does not feel safe right now.",
    "safety_checked": "{partner} said it feels safe.",
    "session_ended": by_field("reason", {"rescheduled": "The session ended, to continue another time.",
                                         "continue_another_day": "The session was set aside, to "
                                                                 "continue another day."},
                              when("by", "{by} ended the session.", "The session ended.")),
    "end_reason": "Private reason for ending: {reason}",
}

# Events whose entry is the answers themselves (a heading, then the answers as a list).
ANSWER_EVENTS = ("step_submitted", "step_logged")
# Events in the API's transcript only: the answers that follow already name their step.
QUIET = ("step_started",)
# What the live room reads out to a screen reader as it happens (besides a partner's answers).
ANNOUNCED = ("paused", "resumed", "session_ended", "exercise_started", "not_today",
             "session_ready", "timer_fired", "return_missed", "breathing_started", "pause_ended",
             "practice_held", "practice_released", "ritual_saved", "floor_plan", "map_shared",
             "cycle_named", "after_fight_outcome")
ANNOUNCE_ANSWER = "{by} answered: {step}."

# How an answer is shown: yes-no fields, minutes, and one answer in a line of text.
VALUES = {"true": "Yes", "false": "No", "minutes": "{value} minutes",
          "pair": "{label}: {value}", "separator": "; "}

# Fields that say who may read an answer, not part of it.
HIDDEN = ("share",)

# The 0-10 ratings, by field name: what each measures.
MEASURES = {"suds": "Distress", "connected": "Connection", "arousal": "Stirred up",
            "supported": "Felt supported"}


def export() -> dict:
    """The table for the live room's config (JSON): static/js/vocabulary.js renders from it."""
    return {"sentences": SENTENCES, "slots": {k: {"kind": kind, "from": list(src)} for k, (kind, src) in SLOTS.items()},
            "nobody": NOBODY, "unnamed": UNNAMED, "answer_events": list(ANSWER_EVENTS), "quiet": list(QUIET),
            "announced": list(ANNOUNCED), "announce_answer": ANNOUNCE_ANSWER, "values": VALUES,
            "hidden": list(HIDDEN)}


# --------------------------------------------------------------------------- steps and answers


def step_info(exercise, step) -> dict:
    """A step's title, its fields in order, and their labels, kinds and option labels (the room's
    catalogue entry). The order is a list: JSON objects do not keep theirs everywhere."""
    fallback = (step or "").replace("_", " ").capitalize()
    ex = engine.EXERCISES.get(exercise)
    try:
        s = ex.step(step)
    except (AttributeError, KeyError, TypeError):
        return {"title": fallback, "order": [], "labels": {}, "kinds": {}, "options": {}}
    fields = engine.describe(s.schema) + (engine.describe(s.log) if s.log else [])
    return {"title": s.title or fallback, "order": [f["name"] for f in fields],
            "labels": {f["name"]: f["label"] for f in fields},
            "kinds": {f["name"]: f["kind"] for f in fields},
            "options": {f["name"]: f["labels"] for f in fields if f.get("labels")}}


def catalogue() -> dict:
    """exercise -> {title, steps: {step: step_info}}: every step, for the live room."""
    return {ex.key: {"title": ex.title, "steps": {name: step_info(ex.key, name) for name in ex._order}}
            for ex in engine.EXERCISES.values()}


def step_title(exercise, step) -> str:
    return step_info(exercise, step)["title"]


def answers(exercise, step, data: dict) -> tuple[list, list]:
    """(texts, ratings): each answer as (label, shown value), the 0-10 ratings apart from words
    as (what it measures, value); in the step's order of fields (stored JSON may reorder keys)."""
    info = step_info(exercise, step)
    data = data or {}
    texts, marks = [], []
    for name in [n for n in info["order"] if n in data] + sorted(n for n in data if n not in info["order"]):
        value = data[name]
        if value is None or value == "" or name in HIDDEN:
            continue
        label = info["labels"].get(name) or name.replace("_", " ").capitalize()
        kind = info["kinds"].get(name)
        if kind == "rating":
            marks.append((MEASURES.get(name, label), value))
            continue
        if isinstance(value, bool):
            value = VALUES["true" if value else "false"]
        elif name in info["options"]:
            value = info["options"][name].get(value, value)
        elif kind == "minutes":
            value = VALUES["minutes"].format(value=value)
        texts.append((label, value))
    return texts, marks


def ratings(data: dict) -> list[tuple[str, int]]:
    """(measure, value) for each 0-10 rating among one step's answers, in the order of MEASURES."""
    data = data or {}
    return [(k, data[k]) for k in MEASURES
            if isinstance(data.get(k), int) and not isinstance(data.get(k), bool)]
