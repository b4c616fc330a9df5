"""Needs request (exercises.md section 3): observation, feeling, need, request; mirrored; answered.

The engine adds check-in (SUDS) from both, who speaks first, and check-out (SUDS) from both.
Branches: "clarify" goes back to the mirror (at most MAX_LOOPS clarifications, then the request is
noted "to revisit"); the speaker's answer to an alternative goes back to the listener (at most
MAX_LOOPS answers, then "to revisit"). After the follow-up date, round 1 offers the swap.
"""
from marshmallow import ValidationError, validates_schema

from couples.fields import StrictSchema

from .declarations import EITHER, FINISH, LISTENER, SPEAKER, Exercise, Step, Swap, register
from .inputs import choice, date, date_within, feeling, schema, text

MAX_LOOPS = 3


def _need(data, when, field, msg):
    if data.get(field) is None and when:
        raise ValidationError(msg, field)


class Check(StrictSchema):
    verdict = choice(["accurate", "clarify"], "Did your partner get it?",
                     labels={"accurate": "Yes, that's it", "clarify": "Let me clarify"})
    clarification = text("What to add or correct", required=False)

    @validates_schema
    def _rules(self, data, **kwargs):
        _need(data, data.get("verdict") == "clarify", "clarification",
              "Say what to add or correct.")


class Answer(StrictSchema):
    answer = choice(["yes", "no", "alternative"], "Your answer",
                    labels={"yes": "Yes", "no": "Not this time",
                            "alternative": "I can offer something else"})
    reason = text("A kind reason (for no)", required=False)
    alternative = text("What you can offer instead", required=False)

    @validates_schema
    def _rules(self, data, **kwargs):
        _need(data, data.get("answer") == "no", "reason", "A kind reason helps your partner.")
        _need(data, data.get("answer") == "alternative", "alternative", "Say what you can offer.")


class Respond(StrictSchema):
    response = choice(["accept", "answer"], "The alternative",
                      labels={"accept": "I accept it", "answer": "I'd like to answer it"})
    text = text("Your answer", required=False)

    @validates_schema
    def _rules(self, data, **kwargs):
        _need(data, data.get("response") == "answer", "text", "Write your answer.")


def after_check(ctx):
    if ctx.input["verdict"] == "accurate":
        return "answer"
    return "mirror" if ctx.visits("mirror") <= MAX_LOOPS else "follow_up"


def after_respond(ctx):
    if ctx.input["response"] == "accept":
        return "follow_up"
    return "answer" if ctx.visits("answer") < MAX_LOOPS else "follow_up"


def outcome(ctx):
    """What this round came to: agreed, declined or to_revisit (and the agreement's text)."""
    d = ctx.data
    ans = d.get("answer")
    if d["check"]["verdict"] != "accurate" or ans is None:
        return "to_revisit", None
    if ans["answer"] == "yes":
        return "agreed", d["statement"]["request"]
    if ans["answer"] == "no":
        return "declined", None
    if d.get("respond", {}).get("response") == "accept" and "respond" in d:
        return "agreed", ans["alternative"]
    return "to_revisit", None


def record(ctx):
    result, agreement = outcome(ctx)
    return [("needs_outcome", {
        "round": ctx.round, "speaker": ctx.speaker, "request": ctx.data["statement"],
        "outcome": result, "agreement": agreement,
        "follow_up_date": ctx.input.get("follow_up_date")})]


def follow_prompt(ctx):
    result, agreement = outcome(ctx)
    head = {"agreed": f"You agreed: \"{agreement}\".",
            "declined": "This request was declined kindly, and that is allowed.",
            "to_revisit": "This one is noted to revisit another time."}[result]
    return head + " If you like, pick a day to check in on how it went."


SPEAKER_WAIT = "Your partner is putting their words together. Get ready to listen."
LISTENER_WAIT = "Your partner is taking in what you said."

register(Exercise(
    key="needs",
    title="Needs request",
    summary="Ask for one thing you need, gently, and hear each other out.",
    steps=(
        Step("statement", SPEAKER,
             "Describe what happened as a camera would see it, how you felt, what you need, and "
             "one specific, doable request, asked for rather than demanded.",
             title="Your request", wait=SPEAKER_WAIT,
             schema=schema("statement",
                           observation=text("What happened (just the facts)"),
                           feeling=feeling("How I felt"),
                           need=text("What I need"),
                           request=text("My request"))),
        Step("mirror", LISTENER,
             "Say back what you heard, in your own words: \"What I heard is ...\". "
             "No answer yet, just show you understood.",
             title="Mirror", wait=LISTENER_WAIT,
             schema=schema("mirror", mirror=text("What I heard is ..."))),
        Step("check", SPEAKER, "Did your partner get it? If something is missing, add it gently.",
             title="Did I get it?", wait=LISTENER_WAIT, schema=Check, next=after_check),
        Step("answer", LISTENER,
             "Now answer the request: yes; no, with a kind reason; or something else you "
             "can offer.",
             title="Answer", wait=SPEAKER_WAIT, schema=Answer,
             next=lambda c: "respond" if c.input["answer"] == "alternative" else "follow_up"),
        Step("respond", SPEAKER, "Your partner offered something else. Accept it, or answer it.",
             title="The alternative", wait=LISTENER_WAIT, schema=Respond, next=after_respond),
        Step("follow_up", EITHER, follow_prompt, title="Follow-up",
             schema=schema("follow_up", follow_up_date=date("Day to check how it went (optional)")),
             check=date_within("follow_up_date", 365), emit=record,
             next=lambda c: "offer_swap" if c.round == 1 else FINISH),
        Step("offer_swap", EITHER,
             "Would you like to swap, so the other partner makes a request too?", title="Swap?",
             schema=schema("offer_swap", choice=choice(
                 ["swap", "finish"], "Swap or finish",
                 labels={"swap": "Swap roles", "finish": "Finish here"})),
             next=lambda c: Swap("statement") if c.input["choice"] == "swap" else FINISH),
    ),
))
