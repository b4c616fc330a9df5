"""Greeting ritual (exercises.md section 1): a reunion or morning ritual of connection.

The engine adds around these steps: check-in from both (distress + how connected), who goes
first, and check-out from both (distress + how connected).
"""
from couples.fields import StrictSchema

from .declarations import LISTENER, SPEAKER, Exercise, Step, register
from .inputs import choice, rating, schema, text


class Options(StrictSchema):
    moment = choice(["reunion", "morning"], "Which moment is it?", required=False,
                    labels={"reunion": "Coming back together after time apart",
                            "morning": "A morning greeting"})


def morning(ctx):
    return ctx.options.get("moment") == "morning"


def day(ctx):
    if morning(ctx):
        return "Share one thing that is happening in your day ahead."
    return "Share one thing about how your day went."


WAIT = "Your partner is writing to you. Get ready to take it in."

register(Exercise(
    key="greeting",
    title="Greeting ritual",
    summary="A few warm minutes to greet each other, share the day and one appreciation.",
    options=Options,
    check_fields={"connected": rating("How connected you feel, 0 (not at all) to 10")},
    steps=(
        Step("greet", SPEAKER,
             lambda c: ("Good morning! Greet your partner in your own words." if morning(c)
                        else "You're back together. Greet your partner in your own words."),
             title="Greeting", wait=WAIT,
             schema=schema("greet", greeting=text("Your greeting", max_length=500))),
        Step("greet_back", LISTENER, "Your partner greeted you. Answer their greeting warmly.",
             title="Greeting back", wait=WAIT,
             schema=schema("greet_back", greeting=text("Your greeting", max_length=500))),
        Step("day_speaker", SPEAKER, day, title="Your day", wait=WAIT,
             schema=schema("day_speaker", day=text("One thing about your day", max_length=1000))),
        Step("day_listener", LISTENER,
             lambda c: "Thank you for listening. Now your turn: " + day(c).lower(),
             title="Your day", wait=WAIT,
             schema=schema("day_listener", day=text("One thing about your day", max_length=1000))),
        Step("appreciation_speaker", SPEAKER,
             "Name one specific thing you appreciate about your partner: something they did, "
             "or something they are.",
             title="Appreciation", wait=WAIT,
             schema=schema("appreciation_speaker",
                           appreciation=text("One specific appreciation", max_length=1000))),
        Step("appreciation_listener", LISTENER,
             "Take in your partner's appreciation. Now name one specific thing you "
             "appreciate about them.",
             title="Appreciation", wait=WAIT,
             schema=schema("appreciation_listener",
                           appreciation=text("One specific appreciation", max_length=1000))),
    ),
))
