"""Needs request (exercises.md section 3): Nonviolent Communication's observation, feeling, need
and request, one step each; mirrored (PREP, Imago: "Is there more?"), validated and empathised
(Imago); answered; a "no" mirrored back; a follow-up date.

The engine adds check-in (SUDS) from both, who speaks first, and check-out (SUDS) from both.
Bounds: the mirror is given at most 1 + MAX_LOOPS times ("let me clarify" past that notes the
request "to revisit"; "there's more" past that goes on to the validation, as the mirror stands);
the speaker's answer to an alternative goes back to the listener at most MAX_LOOPS times, then
"to revisit". After the follow-up date, round 1 offers the swap: each partner chooses, and a second
round happens only if both choose it.
"""
from marshmallow import ValidationError, validates_schema

from couples.fields import StrictSchema

from .declarations import (BOTH, EITHER, FINISH, LISTENER, SPEAKER, Exercise, Step, Swap,
                           register)
from .inputs import choice, date, date_within, feeling, need, schema, text
from .needs_list import ABOUT_THE_PARTNER, ABSOLUTE, DEMAND, JUDGEMENT, STRATEGY

MAX_LOOPS = 3
PARTS = ("observation", "feeling", "need", "request")  # NVC's four, one step each


def _need(data, when, field, msg):
    if data.get(field) is None and when:
        raise ValidationError(msg, field)


class Check(StrictSchema):
    verdict = choice(["accurate", "more", "clarify"], "Did your partner get it?",
                     labels={"accurate": "Yes, that's it", "more": "There's more",
                             "clarify": "Let me clarify"})
    clarification = text("What to add or correct", required=False)

    @validates_schema
    def _rules(self, data, **kwargs):
        _need(data, data.get("verdict") in ("more", "clarify"), "clarification",
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


def mirror_prompt(ctx):
    again = {"more": "Your partner added more. ", "clarify": "Your partner clarified. "}
    verdict = ctx.data.get("check", {}).get("verdict") if ctx.visits("mirror") > 1 else None
    head = again.get(verdict, "")
    return (head + "Say back what you heard, in your own words: what happened, how your partner "
            "felt and what they need. No answer yet; just show you understood.")


def check_prompt(ctx):
    last = (" This was the last mirror for this request: anything more can wait for another time."
            if ctx.visits("mirror") > MAX_LOOPS else "")
    return ("Did your partner get it? If something is missing or not quite right, say so gently. "
            "Is there more you want them to hear?" + last)


def after_check(ctx):
    verdict = ctx.input["verdict"]
    if verdict == "accurate":
        return "validate"
    if ctx.visits("mirror") <= MAX_LOOPS:
        return "mirror"
    return "validate" if verdict == "more" else "follow_up"


def after_answer(ctx):
    nxt = {"yes": "follow_up", "no": "mirror_reason", "alternative": "respond"}
    return nxt[ctx.input["answer"]]


def after_respond(ctx):
    if ctx.input["response"] == "accept":
        return "follow_up"
    return "answer" if ctx.visits("answer") < MAX_LOOPS else "follow_up"


def outcome(ctx):
    """What this round came to: agreed, declined or to_revisit (and the agreement's text)."""
    d = ctx.data
    ans = d.get("answer")
    if ans is None:  # the mirror never got there
        return "to_revisit", None
    if ans["answer"] == "yes":
        return "agreed", d["request"]["request"]
    if ans["answer"] == "no":
        return "declined", None
    if d.get("respond", {}).get("response") == "accept":
        return "agreed", ans["alternative"]
    return "to_revisit", None


def record(ctx):
    """One needs_outcome per round, whatever the outcome: the between-session check-in reads
    its follow_up_date (null when none was chosen)."""
    result, agreement = outcome(ctx)
    return [("needs_outcome", {
        "round": ctx.round, "speaker": ctx.speaker,
        "request": {part: ctx.data[part][part] for part in PARTS},
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


def speaker_step(name, title, prompt, field):
    return Step(name, SPEAKER, prompt, title=title, wait=SPEAKER_WAIT,
                schema=schema(name, **{name: field}))


register(Exercise(
    key="needs",
    title="Needs request",
    summary="Ask for one thing you need, gently, and hear each other out.",
    minutes=20,
    not_when="When either of you is flooded (a distress of 7 or more): calm down first.",
    demanding=True,
    steps=(
        # NVC observation: what a camera would record, without evaluation.
        speaker_step("observation", "What happened",
                     "Start with what happened, as a camera would have seen it: what was said or "
                     "done, and when. One moment is enough; leave out what it meant.",
                     text("What happened (just the facts)", hints=[ABSOLUTE, DEMAND])),
        # NVC feeling: an emotion in me, not a thought about what my partner did.
        speaker_step("feeling", "How I felt",
                     "How did you feel when it happened? Choose a word or write your own. A "
                     "feeling is something inside you, like sad, worried or lonely.",
                     feeling("How I felt", hints=[JUDGEMENT, ABOUT_THE_PARTNER])),
        # NVC need: a universal need, not a strategy for the partner.
        speaker_step("need", "What I need",
                     "What did you need then, that was missing? Something everyone needs, like "
                     "rest, closeness or fairness. Choose one or write your own.",
                     need("What I need", hints=[STRATEGY])),
        # NVC request: specific, doable, positive, open to a no.
        speaker_step("request", "My request",
                     "Now one request: something specific your partner could do, said as what "
                     "to do rather than what to stop, and asked so that a no is possible: "
                     "\"Would you be willing to ...?\"",
                     text("My request", hints=[ABSOLUTE, DEMAND])),
        # PREP / Imago mirroring, with the feeling and the need (Rosenberg: reflect all four).
        Step("mirror", LISTENER, mirror_prompt, title="Mirror", wait=LISTENER_WAIT,
             schema=schema("mirror", mirror=text("What I heard is ..."),
                           feeling=feeling("The feeling I heard"),
                           need=need("The need I heard"))),
        # Imago: "Did I get it? Is there more?", until the sender says that's it.
        Step("check", SPEAKER, check_prompt, title="Did I get it?", wait=LISTENER_WAIT,
             schema=Check, next=after_check),
        # Imago validation and empathy, before any answer.
        Step("validate", LISTENER,
             "Before you answer, let your partner know it makes sense: \"It makes sense that "
             "you ... because ...\". Then imagine how it is for them: \"I imagine you feel "
             "...\". You can understand without agreeing.",
             title="It makes sense", wait=SPEAKER_WAIT,
             schema=schema("validate", makes_sense=text("It makes sense that you ... because ..."),
                           imagine=text("I imagine you feel ..."))),
        Step("answer", LISTENER,
             "Now answer the request: yes; no, with a kind reason; or something else you "
             "can offer.",
             title="Answer", wait=SPEAKER_WAIT, schema=Answer, next=after_answer),
        # NVC: a no is heard too; the speaker mirrors the reason before the round ends.
        Step("mirror_reason", SPEAKER,
             "Your partner said no this time. Say back their reason in your own words, so they "
             "know it was heard.",
             title="Hearing the no", wait=LISTENER_WAIT,
             schema=schema("mirror_reason",
                           heard=text("What I heard is that you can't because ...")),
             next="follow_up"),
        Step("respond", SPEAKER, "Your partner offered something else. Accept it, or answer it.",
             title="The alternative", wait=LISTENER_WAIT, schema=Respond, next=after_respond),
        # Adaptation: a follow-up date to check how it went (read by the between-session check-in).
        Step("follow_up", EITHER, follow_prompt, title="Follow-up",
             schema=schema("follow_up", follow_up_date=date("Day to check how it went (optional)")),
             check=date_within("follow_up_date", 365), emit=record,
             next=lambda c: "offer_swap" if c.round == 1 else FINISH),
        # A second round asks as much of both: each chooses, and it happens only if both want it.
        Step("offer_swap", BOTH,
             "Would you like to swap, so the other partner makes a request too? You each "
             "choose; you swap only if you both want to.", title="Swap?",
             wait="Thank you. Waiting for your partner's choice: you swap only if you both "
                  "want to.",
             schema=schema("offer_swap", choice=choice(
                 ["swap", "finish"], "Swap or finish",
                 labels={"swap": "Swap roles", "finish": "Finish here"})),
             next=lambda c: (Swap("observation")
                             if all(v["choice"] == "swap" for v in c.input.values())
                             else FINISH)),
    ),
))
