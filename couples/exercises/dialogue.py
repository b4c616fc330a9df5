"""Mirror, validate, empathise: a dialogue (exercises.md; research (b) 4, the intentional
dialogue). The sender speaks in short "I" messages; the receiver mirrors each ("If I got it, you
said ... Did I get it? Is there more?") until the sender says that is all; the receiver then
sums it all up, says how it makes sense, and imagines how the sender might feel, and the sender
confirms each of the three or corrects it. Then the roles swap.

The engine adds check-in (SUDS) from both, who sends first, and check-out from both.
Bounds: a message is at most MESSAGE_LENGTH characters; at most MAX_MIRRORS mirrors a round
("there's more" or "not quite" past that goes on to the summary, the last words standing); each
of summary, validation and empathy is tried at most 1 + MAX_RETRIES times (then the sender's
correction stands and the dialogue goes on).
"""
from marshmallow import ValidationError, validates_schema

from couples.fields import StrictSchema

from .declarations import FINISH, LISTENER, SPEAKER, Exercise, Step, Swap, register
from .inputs import choice, feeling, schema, text

MESSAGE_LENGTH = 300  # a sentence or two: the protocol's small parts
MAX_MIRRORS = 6
MAX_RETRIES = 2


def _needs_words(data, when, field, msg):
    if when and data.get(field) is None:
        raise ValidationError(msg, field)


class MirrorCheck(StrictSchema):
    verdict = choice(["more", "not_quite", "all"], "Did I get it? Is there more?",
                     labels={"more": "You got it, and there's more",
                             "not_quite": "Not quite",
                             "all": "You got it, and that's all"})
    words = text("What more I want to say, or what to correct", max_length=MESSAGE_LENGTH,
                 required=False)

    @validates_schema
    def _rules(self, data, **kwargs):
        _needs_words(data, data.get("verdict") in ("more", "not_quite"), "words",
                     "Say what more, or what to correct, in a sentence or two.")


class Confirm(StrictSchema):
    verdict = choice(["yes", "not_quite"], "Did I get it?",
                     labels={"yes": "Yes, that's it", "not_quite": "Not quite"})
    correction = text("What to correct", max_length=MESSAGE_LENGTH, required=False)

    @validates_schema
    def _rules(self, data, **kwargs):
        _needs_words(data, data.get("verdict") == "not_quite", "correction",
                     "Say gently what to correct.")


# --------------------------------------------------------------------------- transitions


def after_mirror_check(ctx):
    if ctx.input["verdict"] == "all" or ctx.visits("mirror") >= MAX_MIRRORS:
        return "summary"
    return "mirror"


def confirmed(step, then):
    """After the sender's check of `step`: on to `then`, or `step` once more (bounded)."""
    def nxt(ctx):
        if ctx.input["verdict"] == "not_quite" and ctx.visits(step) <= MAX_RETRIES:
            return step
        return then(ctx) if callable(then) else then
    return nxt


def after_empathy(ctx):
    return Swap("send") if ctx.round == 1 else FINISH


# --------------------------------------------------------------------------- words


def corrected(ctx, check):
    """Whether the sender has just asked for `check`'s step again ("not quite")."""
    return (ctx.run.get("last_completed") == check
            and ctx.data.get(check, {}).get("verdict") == "not_quite")


def mirror_prompt(ctx):
    if ctx.run.get("last_completed") == "mirror_check":
        head = {"more": "Your partner said more (just above). ",
                "not_quite": "Your partner corrected it (just above). "}[
            ctx.data["mirror_check"]["verdict"]]
    else:
        head = ""
    return (head + "Mirror it: \"If I got it, you said ...\", as close to their words as you "
            "can, without adding or answering. Then ask: \"Did I get it? Is there more?\"")


def mirror_check_prompt(ctx):
    last = (" This was the last mirror of this round: anything more now goes into the summary."
            if ctx.visits("mirror") >= MAX_MIRRORS else "")
    return ("Did your partner get it? Is there more you want them to hear? Add it, correct it "
            "gently, or say that is all." + last)


def heard(check):
    """What a receiver's step answers: the sender's message, what more they added, and their
    correction at `check` (not the sender's "you got it", which the room would show otherwise)."""
    return ("send", "mirror_check", check)


def retry_note(ctx, check):
    return "Your partner corrected it (just above): try once more. " if corrected(ctx, check) else ""


def check_prompt(what):
    def prompt(ctx):
        return (f"Your partner {what} (just above). Did they get it? If not quite, say what "
                "to correct, in a sentence.")
    return prompt


SEND_WAIT = "Your partner is sending. Get ready to mirror it."
RECEIVE_WAIT = "Your partner is putting what they heard into words."
CHECK_WAIT = "Your partner is checking what you said."

register(Exercise(
    key="dialogue",
    title="Mirror, validate, empathise",
    summary=("One of you speaks and the other mirrors, makes sense of it and imagines how it "
             "feels, until the speaker feels heard; then you swap."),
    minutes=40,
    not_when=("When either of you is flooded (a distress of 7 or more): take a time-out first. "
              "Not to settle a decision: it is for understanding, not agreeing."),
    demanding=True,
    steps=(
        # (b) 4.2: the sender sends a small part, in "I" language.
        Step("send", SPEAKER,
             lambda c: ("You are the sender. " if c.round == 1 else
                        "Now the roles swap: you are the sender. ")
             + "Say what is on your mind in a sentence or two, starting from yourself: "
               "\"I feel ...\", \"I'd like ...\". You can add more after your partner mirrors it.",
             title="Sending", wait=SEND_WAIT,
             schema=schema("dialogue_send", message=text("My message (a sentence or two)",
                                                        max_length=MESSAGE_LENGTH))),
        # (b) 4.3: "If I got it, you said ... Did I get it? Is there more?"
        Step("mirror", LISTENER, mirror_prompt, title="Mirroring", wait=RECEIVE_WAIT,
             schema=schema("dialogue_mirror", mirror=text("If I got it, you said ...",
                                                         max_length=600))),
        Step("mirror_check", SPEAKER, mirror_check_prompt, title="Did I get it?",
             wait=CHECK_WAIT, schema=MirrorCheck, next=after_mirror_check),
        # (b) 4.4: the receiver sums up all of it.
        Step("summary", LISTENER,
             lambda c: retry_note(c, "summary_check") + "Sum up all your partner said: \"Let "
             "me see if I got all of it ...\". Then ask: \"Did I get it all?\"",
             title="Summing up", wait=RECEIVE_WAIT, responds_to=heard("summary_check"),
             schema=schema("dialogue_summary", summary=text("Let me see if I got all of it ..."))),
        Step("summary_check", SPEAKER, check_prompt("summed it up"), title="Did I get it all?",
             wait=CHECK_WAIT, schema=Confirm, next=confirmed("summary", "validate")),
        # (b) 4.5: validation, which is understanding, not agreeing.
        Step("validate", LISTENER,
             lambda c: retry_note(c, "validate_check") + "Say how it makes sense from where "
             "your partner stands: \"That makes sense, because ...\". You can understand "
             "without agreeing.",
             title="It makes sense", wait=RECEIVE_WAIT, responds_to=heard("validate_check"),
             schema=schema("dialogue_validate", makes_sense=text("That makes sense, because ..."))),
        Step("validate_check", SPEAKER, check_prompt("said how it makes sense"),
             title="Does it make sense?", wait=CHECK_WAIT, schema=Confirm,
             next=confirmed("validate", "empathise")),
        # (b) 4.6: empathy, checked with the sender.
        Step("empathise", LISTENER,
             lambda c: retry_note(c, "empathise_check") + "Imagine how it is for your partner: "
             "\"I imagine you might be feeling ...\". Choose a feeling word, or write your own, "
             "and add a few words if you like.",
             title="Imagining the feeling", wait=RECEIVE_WAIT, responds_to=heard("empathise_check"),
             schema=schema("dialogue_empathise",
                           feeling=feeling("I imagine you might be feeling ..."),
                           words=text("More of what I imagine (optional)", max_length=500,
                                      required=False))),
        # (b) 4.7: then the roles swap.
        Step("empathise_check", SPEAKER, check_prompt("imagined how you feel"),
             title="Is that the feeling?", wait=CHECK_WAIT, schema=Confirm,
             next=confirmed("empathise", after_empathy)),
    ),
))
