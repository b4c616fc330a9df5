"""After a fight: processing a fight or a regrettable incident once both are calm (exercises.md,
"Aftermath of a fight or regrettable incident"; research (b) 8). The aim is to understand the fight,
not to have it again: both realities can be true.

It starts only when both partners' most recent distress rating is CALM_AT_MOST or below
(`Exercise.calm_at_most`: refused `calm_gate` otherwise, and set aside if its own check-in is
higher). The engine adds check-in (SUDS) from both, who goes first, and check-out from both.
Five stages, both partners in turn at each, the one who goes first ("first") before the other
("second"): feelings; each one's reality, summarised and validated by the other before any
disagreement; what made it hit harder; what each owns, with an apology the other accepts or
answers with what they still need (heard back); one thing each will do differently. At the end one
`after_fight_outcome` per partner records their apology's answer and their plan.
"""
from marshmallow import ValidationError, validates_schema

from couples.fields import StrictSchema

from .declarations import LISTENER, SPEAKER, Exercise, Step, register
from .inputs import choice, feeling as feeling_word, schema, text

CALM_AT_MOST = 5
ROLES = {"first": SPEAKER, "second": LISTENER}
OTHER = {"first": "second", "second": "first"}
WAIT = "Your partner is answering. Take a slow breath; your turn comes."


class Feelings(StrictSchema):
    feeling = feeling_word("A feeling I had")
    feeling_2 = feeling_word("Another feeling (optional)", required=False)
    feeling_3 = feeling_word("Another feeling (optional)", required=False)


class Owning(StrictSchema):
    set_up = text("What set me up for it, e.g. stress or tiredness (optional)", max_length=300,
                  required=False)
    part = text("My part in it", max_length=500)
    apology = text("My apology", max_length=500)


class ApologyAnswer(StrictSchema):
    answer = choice(["accept", "still_need"], "The apology",
                    labels={"accept": "I accept your apology",
                            "still_need": "I'd like to say what I still need"})
    still_need = text("What I still need", max_length=500, required=False)

    @validates_schema
    def _rules(self, data, **kwargs):
        if data.get("answer") == "still_need" and data.get("still_need") is None:
            raise ValidationError("Say what you still need.", "still_need")


class Plan(StrictSchema):
    differently = text("One thing I will do differently next time", max_length=300)
    you_could = text("One thing you could do next time that would help me (optional)",
                     max_length=300, required=False)


def turn(stage, who, prompt, title, step_schema, **extra):
    """One partner's step at a stage: `who` is "first" (the speaker) or "second"."""
    return Step(f"{stage}_{who}", ROLES[who], prompt, title=title, wait=WAIT, schema=step_schema,
                **extra)


FEELINGS = ("How did you feel during the fight? Choose words or write your own. Only the "
            "feelings: no reasons yet, and no comment on your partner's.")
REALITY = ("Describe what happened as you lived it: your own reality. Speak about what you saw, "
           "heard and felt, not about what your partner meant.")
SUMMARY = ("Say back your partner's reality in your own words, then what makes sense in it to you. "
           "No disagreeing: both of your realities can be true.")
TRIGGER = ("What made it hit harder for you? Perhaps a past experience, from this relationship or "
           "long before it, or a sensitivity it touched.")
OWNING = ("What do you own in how it went? Name what set you up for it if you like, your own part, "
          "and your apology.")
PLAN = "One thing you will do differently next time, and, if you like, one thing your partner could do."


def reality_summary(who):
    """The other partner summarises and validates the reality just told."""
    return Step(f"summary_{who}", ROLES[OTHER[who]], SUMMARY, title="What I heard", wait=WAIT,
                schema=schema(f"summary_{who}",
                              summary=text("What I heard is ...", max_length=1000),
                              validation=text("It makes sense to me that ...", max_length=500)))


def apology_answer(who):
    """The other partner answers `who`'s apology: accepted, or what they still need."""
    return Step(f"apology_{who}", ROLES[OTHER[who]],
                "Your partner apologised. Accept the apology if you can, or say what you still "
                "need before you can.",
                title="The apology", wait="Your partner is taking in your apology.",
                schema=ApologyAnswer,
                next=lambda c: f"heard_{who}" if c.input["answer"] == "still_need"
                else ("own_second" if who == "first" else "plan_first"))


def heard(who):
    """`who` says back what the other still needs (only after a "what I still need")."""
    def prompt(ctx):
        need = ctx.data[f"apology_{who}"]["still_need"]
        return (f"Your partner still needs: \u201c{need}\u201d. Let them know you heard it, in "
                "your own words.")
    return Step(f"heard_{who}", ROLES[who], prompt, title="Hearing what is needed", wait=WAIT,
                schema=schema(f"heard_{who}", heard=text("What I heard you need is ...",
                                                         max_length=500)),
                next="own_second" if who == "first" else "plan_first")


def outcome(ctx):
    """One per partner: how their apology was answered, and what they will do differently."""
    out = []
    for who in ("first", "second"):
        seat = ctx.speaker if who == "first" else ctx.listener
        answer = ctx.data[f"apology_{who}"]
        plan = ctx.data[f"plan_{who}"]
        out.append(("after_fight_outcome", {
            "partner": seat, "apology": answer["answer"],
            "answered_by": ctx.listener if who == "first" else ctx.speaker,
            "still_need": answer.get("still_need"), "differently": plan["differently"],
            "you_could": plan.get("you_could")}))
    return out


register(Exercise(
    key="after_fight",
    title="After a fight",
    summary="Once you are both calm, look back at a fight or a hurtful moment together, to "
            "understand it rather than have it again.",
    minutes=45,
    not_when="While either of you is still upset (a distress above 5), or during the fight "
             "itself: take a time-out first. Not for deciding who was right.",
    calm_at_most=CALM_AT_MOST,
    steps=(
        # (b) 8.1: feelings, from the feelings list, without reasons or comment.
        turn("feelings", "first", FEELINGS, "Feelings", Feelings),
        turn("feelings", "second", FEELINGS, "Feelings", Feelings),
        # (b) 8.2: each one's reality; the other summarises and validates before any disagreement.
        turn("reality", "first", REALITY, "My reality",
             schema("reality_first", reality=text("What happened, as I lived it"))),
        reality_summary("first"),
        turn("reality", "second", REALITY, "My reality",
             schema("reality_second", reality=text("What happened, as I lived it"))),
        reality_summary("second"),
        # (b) 8.3: triggers, the memories or sensitivities that escalated it.
        turn("trigger", "first", TRIGGER, "What made it hit harder",
             schema("trigger_first", trigger=text("What made it hit harder for me", max_length=500))),
        turn("trigger", "second", TRIGGER, "What made it hit harder",
             schema("trigger_second", trigger=text("What made it hit harder for me", max_length=500))),
        # (b) 8.4: responsibility: set-up, own part, apology; accepted or "what I still need".
        turn("own", "first", OWNING, "What I own", Owning),
        apology_answer("first"),
        heard("first"),
        turn("own", "second", OWNING, "What I own", Owning),
        apology_answer("second"),
        heard("second"),
        # (b) 8.5: constructive plans, one thing each will do differently.
        turn("plan", "first", PLAN, "Next time", Plan),
        turn("plan", "second", PLAN, "Next time", Plan, emit=outcome),
    ),
))
