"""Speaker and listener, "the floor" (exercises.md; research (b) 3, the speaker-listener
technique): only the partner who holds the floor speaks, in short pieces; the listener says each
piece back; the speaker confirms it or corrects it, and says whether there is more before the
floor passes. Solving comes after both have held the floor, if at all: one topic, ideas from both
without judging them, one idea agreed to try, and a day to check how it went.

The engine adds check-in (SUDS) from both, who holds the floor first, and check-out from both.
What the steps themselves enforce: a piece is at most PIECE_LENGTH characters; the speaker's next
piece is not asked for until the listener's paraphrase of this one is confirmed (the floor is the
speaker's step only); the listener cannot take the floor; there is no step that proposes a
solution until the floor has passed in both directions (round 2).
Bounds: a turn on the floor holds at most MAX_PIECES pieces and MAX_PARAPHRASES paraphrases
(pieces and corrections together); past either the floor passes, a last correction standing as
said. The floor changes hands at most MAX_ROUNDS - 1 times; a plan is written at most MAX_DRAFTS
times.
"""
from marshmallow import ValidationError, validates_schema

from couples.fields import StrictSchema

from .declarations import (BOTH, EITHER, FINISH, LISTENER, SPEAKER, Exercise, Step, Swap,
                           answered_by, other, register)
from .inputs import choice, date, date_within, schema, text

PIECE_LENGTH = 300  # "a sentence or two"
MAX_PIECES = 5
MAX_PARAPHRASES = 10
MAX_ROUNDS = 4
MAX_DRAFTS = 3


class Confirm(StrictSchema):
    verdict = choice(["yes", "not_quite"], "Did your partner get it?",
                     labels={"yes": "Yes, that's it", "not_quite": "Not quite"})
    correction = text("What to correct", max_length=PIECE_LENGTH, required=False)

    @validates_schema
    def _rules(self, data, **kwargs):
        if data.get("verdict") == "not_quite" and data.get("correction") is None:
            raise ValidationError("Say gently what to correct.", "correction")


class Plan(StrictSchema):
    agree = choice(["yes", "change"], "The idea to try",
                   labels={"yes": "Yes, let's try it", "change": "Let's change it"})


def turn_full(ctx) -> bool:
    """Whether this turn on the floor has used up its pieces or its paraphrases."""
    return ctx.visits("piece") >= MAX_PIECES or ctx.visits("paraphrase") >= MAX_PARAPHRASES


# --------------------------------------------------------------------------- words


def piece_prompt(ctx):
    if ctx.visits("piece") == 1 and ctx.round == 1:
        head = "You have the floor. "
    elif ctx.visits("piece") == 1:
        head = "The floor is yours now. "
    else:
        head = "Go on: "
    last = (" This is the last piece of this turn; then the floor passes."
            if ctx.visits("piece") >= MAX_PIECES else "")
    return (head + "Say one piece of what you think or feel about it, a sentence or two, speaking "
            "for yourself (\"I feel ...\", \"I think ...\"), not for your partner. Then stop, so "
            "your partner can say it back." + last)


def paraphrase_prompt(ctx):
    again = ("Your partner corrected it (just above). Say it back once more, with the correction. "
             if ctx.data.get("confirm", {}).get("verdict") == "not_quite"
             and ctx.run.get("last_completed") == "confirm" else "")
    return (again + "Say back what you heard, in your own words, without answering it, "
            "disagreeing or giving advice: the floor is your partner's for now. Your turn comes.")


def confirm_prompt(ctx):
    if ctx.visits("paraphrase") >= MAX_PARAPHRASES:
        last = (" This is the last try of this turn: a correction now stands as you say it, and "
                "the floor passes.")
    elif ctx.visits("piece") >= MAX_PIECES:
        last = " This is the last piece of this turn: once your partner has it, the floor passes."
    else:
        last = ""
    return ("Did your partner get it? If something is off, correct it gently, in a sentence." + last)


def after_confirm(ctx):
    if ctx.input["verdict"] == "not_quite" and ctx.visits("paraphrase") < MAX_PARAPHRASES:
        return "paraphrase"
    return pass_floor(ctx) if turn_full(ctx) else "more"


def pass_floor(ctx):
    """Round 1: the floor goes to the listener. After both held it: what next."""
    return Swap("piece") if ctx.round == 1 else "after_floor"


GENTLEST = ("finish", "floor", "solve")  # solving asks the most of both: only if both want it


def chosen(ctx):
    picks = {a["choice"] for a in ctx.input.values()}
    return next(c for c in GENTLEST if c in picks)


def after_floor(ctx):
    return {"floor": Swap("piece"), "solve": "agenda", "finish": FINISH}[chosen(ctx)]


def floor_back_check(ctx, data):
    if data["choice"] == "floor" and ctx.round >= MAX_ROUNDS:
        return {"choice": "You have each held the floor twice: solve one thing, or finish here."}
    return {}


def writer_reviews(run):
    """The partner who did not write the plan down agrees to it, or not."""
    return [other(answered_by(run, "agree"))]


def after_plan(ctx):
    if ctx.input[ctx.actor]["agree"] == "change" and ctx.visits("agree") < MAX_DRAFTS:
        return "agree"
    return "follow_up"


def agreed(ctx):
    plan = ctx.data.get("plan")
    if plan and next(iter(plan.values()))["agree"] == "yes":
        return ctx.data["agree"]["idea"]
    return None


def follow_prompt(ctx):
    idea = agreed(ctx)
    head = (f"You agreed to try: \"{idea}\"." if idea else
            "No idea agreed yet, and that is all right: it is noted to come back to.")
    return head + " Pick a day to check how it went."


def record(ctx):
    """One floor_plan when a problem-solving phase ends: the topic, the idea agreed (null when
    none was) and the day to check how it went."""
    return [("floor_plan", {"topic": ctx.data["agenda"]["topic"], "agreement": agreed(ctx),
                            "follow_up_date": ctx.input["follow_up_date"]})]


SPEAKER_WAIT = "Your partner has the floor. Listen for what matters to them; you will say it back."
LISTENER_WAIT = "Your partner is saying back what they heard."

register(Exercise(
    key="speaker_listener",
    title="Speaker and listener",
    summary=("Take turns holding the floor: say a little at a time, hear it said back, and only "
             "then, if you both want, solve one thing together."),
    minutes=30,
    not_when=("When either of you is flooded (a distress of 7 or more): take a time-out first. "
              "Not for an emergency decision that cannot wait."),
    demanding=True,
    steps=(
        # Research (b) 3.1-3.2: one subject at a time, named by whoever takes the floor first.
        Step("topic", SPEAKER,
             "You hold the floor first. Name the one subject you would like to talk about, in a "
             "few words. One subject at a time.",
             title="Our subject", wait="Your partner is naming the subject.",
             schema=schema("floor_topic", topic=text("The subject", max_length=200))),
        # (b) 3.3: the speaker talks in small chunks, speaking for themselves.
        Step("piece", SPEAKER, piece_prompt, title="Holding the floor",
             wait=SPEAKER_WAIT,
             schema=schema("floor_piece", piece=text("What I want to say (a sentence or two)",
                                                    max_length=PIECE_LENGTH))),
        # (b) 3.4: the listener paraphrases, no rebuttal, no advice.
        Step("paraphrase", LISTENER, paraphrase_prompt, title="Saying it back",
             wait=LISTENER_WAIT,
             schema=schema("floor_paraphrase", paraphrase=text("What I heard is ...",
                                                              max_length=600))),
        # (b) 3.5: the speaker confirms or corrects ("Not exactly ...").
        Step("confirm", SPEAKER, confirm_prompt, title="Did I get it?",
             wait="Your partner is checking what you said back.", schema=Confirm,
             next=after_confirm),
        # The guide: "Is there more?" before the floor passes; (b) 3.6: the speaker passes it.
        Step("more", SPEAKER, "Is there more you want your partner to hear, or are you ready to "
             "pass the floor?", title="Is there more?",
             wait="Your partner is deciding whether there is more.",
             schema=schema("floor_more", more=choice(
                 ["more", "pass"], "Is there more?",
                 labels={"more": "Yes, there's more", "pass": "That's all: pass the floor"})),
             next=lambda c: "piece" if c.input["more"] == "more" else pass_floor(c)),
        # Only after both held the floor: (b) 3.6 "problem solving is a separate, later step".
        Step("after_floor", BOTH,
             "You have both held the floor. Pass it back for another turn each, solve one thing "
             "together, or finish here, having been heard. You each choose; if you choose "
             "differently, the gentler choice is kept (finishing, then another turn).",
             title="What next", wait="Thank you. Waiting for your partner's choice.",
             schema=schema("floor_after", choice=choice(
                 ["floor", "solve", "finish"], "What next",
                 labels={"floor": "Another turn each", "solve": "Solve one thing together",
                         "finish": "Finish here"})),
             check=floor_back_check, next=after_floor),
        # PREP's problem solving: agenda (one topic), brainstorm, agree, follow up.
        Step("agenda", EITHER,
             "Put one thing on the agenda: the part of this you want to solve now. Keep it "
             "small enough to solve today.",
             title="Agenda", wait="Your partner is writing the agenda.",
             schema=schema("floor_agenda", topic=text("The one thing we'll solve", max_length=200))),
        Step("brainstorm", BOTH,
             "Add your ideas, as many as come: one per line. Any idea is welcome; nobody judges "
             "or answers them yet.",
             title="Ideas", wait="Thank you. Your partner is still adding ideas.",
             schema=schema("floor_brainstorm", ideas=text("My ideas (one per line)"))),
        Step("agree", EITHER,
             "Look at both lists of ideas. Together, pick one idea, or a mix, to try, and either "
             "of you writes it down. Your partner is asked to agree before it is kept.",
             title="One idea to try", wait="Your partner is writing down the idea to try.",
             schema=schema("floor_agree", idea=text("What we'll try", max_length=300)),
             next="plan"),
        Step("plan", writer_reviews,
             lambda c: ("Your partner wrote down the idea to try (just above). Shall you try it?"
                        + (" This is the last draft for today: \"change\" notes it to come back "
                           "to." if c.visits("agree") >= MAX_DRAFTS else "")),
             title="Agree to try it", wait="Your partner is reading the idea you wrote.",
             schema=Plan, next=after_plan),
        Step("follow_up", EITHER, follow_prompt, title="Follow-up",
             wait="Your partner is picking the day.",
             schema=schema("floor_follow_up",
                           follow_up_date=date("Day to check how it went", required=True)),
             check=date_within("follow_up_date", 365), emit=record, next=FINISH),
    ),
))
