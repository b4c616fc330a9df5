"""Greeting ritual (exercises.md section 1): a reunion or morning ritual of connection.

The engine adds around these steps: check-in from both (how connected; the distress rating is
optional here), who goes first, and check-out from both (distress + how connected).
Branches: a turning-toward answer that asks a question gets a short reply before the next day is
shared; the ritual is written by either partner, and kept only when the other agrees ("change"
sends it back to be rewritten, at most MAX_DRAFTS drafts).
"""
from marshmallow import ValidationError, validates_schema

from couples.fields import StrictSchema

from .declarations import (EITHER, FINISH, LISTENER, SPEAKER, Exercise, Step, answered_by, other,
                           register)
from .inputs import choice, rating, schema, text

MAX_DRAFTS = 3


class Options(StrictSchema):
    moment = choice(["reunion", "morning"], "Which moment is it?", required=False,
                    labels={"reunion": "Coming back together after time apart",
                            "morning": "A morning greeting"})


class TurnToward(StrictSchema):
    way = choice(["ask", "reflect"], "How I turn toward it",
                 labels={"ask": "Ask one question about it",
                         "reflect": "Say back what I heard, and how it might feel"})
    words = text("My question or reflection", max_length=500)


class Ritual(StrictSchema):
    when = text("When we do it (e.g. when we get home, mornings)", max_length=200)
    what = text("What we do", max_length=500)
    gesture = text("Our gesture when we are together (optional, e.g. a six-second kiss, a long "
                   "hug)", max_length=200, required=False)


def morning(ctx):
    return ctx.options.get("moment") == "morning"


def day(ctx):
    if morning(ctx):
        return "Share one thing that is happening in your day ahead."
    return "Share one thing about how your day went."


def turn_toward(whose):
    return (f"Before anything else, turn toward {whose}: ask one curious question about it, or "
            "say back what you heard and how it might feel.")


def after_toward(reply, then):
    return lambda c: reply if c.input["way"] == "ask" else then


def reviewer(run):
    """The partner who did not write the ritual down: they agree to it, or not."""
    return [other(answered_by(run, "ritual"))]


def agreed(ctx):
    return ctx.input[ctx.actor]["agree"]


def saved(ctx):
    if agreed(ctx) != "keep":
        return []
    r = ctx.data["ritual"]
    return [("ritual_saved", {"when": r["when"], "what": r["what"], "gesture": r.get("gesture"),
                              "by": ctx.by("ritual"), "agreed_by": ctx.actor})]


def review_prompt(ctx):
    last = (" This is the last draft for today: \"change\" leaves it for another time."
            if ctx.visits("ritual") >= MAX_DRAFTS else "")
    return ("Your partner wrote down your greeting ritual (it is just above). Keep it as your "
            "ritual, change something, or leave it for now?" + last)


def after_review(ctx):
    if agreed(ctx) == "change" and ctx.visits("ritual") < MAX_DRAFTS:
        return "ritual"
    return FINISH


WAIT = "Your partner is writing to you. Get ready to take it in."
THANKS = ("Your partner named something they appreciate about you. Let it land, then thank them "
          "in your own words, without waving it away.")
APPRECIATE = ("Name one specific thing you appreciate about your partner: something they did, "
              "or something they are.")


def step_text(name, actor, prompt, title, field, label, max_length=1000):
    """A step that asks for one text, with the usual words for whoever waits."""
    return Step(name, actor, prompt, title=title, wait=WAIT,
                schema=schema(name, **{field: text(label, max_length=max_length)}))


register(Exercise(
    key="greeting",
    title="Greeting ritual",
    summary="A few warm minutes to greet each other, share the day and one appreciation.",
    minutes=10,
    not_when="Right after a hurtful argument: take a time-out first, then come back to it.",
    options=Options,
    checkin_optional=True,  # exercises.md 1.1: SUDS before is optional for this light exercise
    check_fields={"connected": rating("How connected you feel, 0 (not at all) to 10")},
    steps=(
        # 1.2-1.3: a greeting, and the greeting answered (Gottman's reunions and partings).
        step_text("greet", SPEAKER,
                  lambda c: ("Good morning! Greet your partner in your own words." if morning(c)
                             else "You're back together. Greet your partner in your own words."),
                  "Greeting", "greeting", "Your greeting", 500),
        step_text("greet_back", LISTENER, "Your partner greeted you. Answer their greeting warmly.",
                  "Greeting back", "greeting", "Your greeting", 500),
        # 1.4: each shares the day; the other turns toward it first (a bid met), then swap.
        step_text("day_speaker", SPEAKER, day, "Your day", "day", "One thing about your day"),
        Step("toward_listener", LISTENER, turn_toward("what your partner shared"),
             title="Turning toward", wait=WAIT, schema=TurnToward,
             next=after_toward("reply_speaker", "day_listener")),
        step_text("reply_speaker", SPEAKER, "Your partner asked about your day. Answer them in a "
                  "sentence or two.", "Your answer", "reply", "My answer", 500),
        step_text("day_listener", LISTENER,
                  lambda c: "Thank you for listening. Now your turn: " + day(c).lower(),
                  "Your day", "day", "One thing about your day"),
        Step("toward_speaker", SPEAKER, turn_toward("your partner's day"),
             title="Turning toward", wait=WAIT, schema=TurnToward,
             next=after_toward("reply_listener", "appreciation_speaker")),
        step_text("reply_listener", LISTENER, "Your partner asked about your day. Answer them in "
                  "a sentence or two.", "Your answer", "reply", "My answer", 500),
        # 1.5: each names one specific appreciation; the other receives it with thanks.
        step_text("appreciation_speaker", SPEAKER, APPRECIATE, "Appreciation", "appreciation",
                  "One specific appreciation"),
        step_text("thanks_listener", LISTENER, THANKS, "Receiving it", "thanks",
                  "Thank you, in my words", 500),
        step_text("appreciation_listener", LISTENER, "Now it's your turn. " + APPRECIATE,
                  "Appreciation", "appreciation", "One specific appreciation"),
        step_text("thanks_speaker", SPEAKER, THANKS, "Receiving it", "thanks",
                  "Thank you, in my words", 500),
        # Designing the ritual (rituals of connection): when, what, and the physical ritual.
        Step("ritual_offer", EITHER,
             "Would you like to keep this greeting as your ritual? Decide together; either of "
             "you can answer.",
             title="Our ritual", wait="Your partner is answering for you both.",
             schema=schema("ritual_offer", decision=choice(
                 ["save", "skip"], "Keep this greeting as our ritual?",
                 labels={"save": "Yes, let's write it down", "skip": "Not now"})),
             next=lambda c: "ritual" if c.input["decision"] == "save" else FINISH),
        Step("ritual", EITHER,
             "Either of you writes it down: when you greet each other like this, what you do, "
             "and, if you like, a gesture for when you are together. Your partner is asked to "
             "agree before it is kept.",
             title="Our ritual", wait="Your partner is writing down your ritual.", schema=Ritual,
             next="ritual_agree"),
        Step("ritual_agree", reviewer, review_prompt,
             title="Agree our ritual", wait="Your partner is reading the ritual you wrote.",
             schema=schema("ritual_agree", agree=choice(
                 ["keep", "change", "skip"], "Our ritual",
                 labels={"keep": "Keep it", "change": "Let's change something",
                         "skip": "Not now"})),
             emit=saved, next=after_review),
    ),
))
