"""Stress-reducing conversation (exercises.md, "Stress-reducing conversation"; research (b) 5):
each partner in turn talks about a stress from outside the relationship while the other listens on
their side, then the listener closes with one line of support and the speaker says how supported
they felt.

The engine adds check-in (SUDS) from both, who talks first, and check-out from both.
Each turn is timed by the engine's durable timer (TURN_MINUTES by default, chosen at the start
between MIN_TURN and MAX_TURN): the speaker may finish early; when the time is up the turn ends
on its own. The view carries the turn's `deadline_at`, so the room shows the countdown. After the
first speaker's turn the roles swap once; after the second, the check-out.
"""
from couples.fields import StrictSchema

from .declarations import FINISH, LISTENER, SPEAKER, Exercise, Step, Swap, register
from .inputs import minutes, rating, schema, text

TURN_MINUTES, MIN_TURN, MAX_TURN = 10, 5, 20

# Hints shown while typing (never a refusal): the listener's one line is support, not advice; the
# topic is a stress from outside the two of you.
ADVICE = {"words": ["you should", "you need to", "why don't you", "why not", "have you tried",
                    "if i were you"],
          "hint": "This may sound like advice. Unless your partner asked for it, say you are on "
                  "their side instead: \u201cThat sounds so hard. I'm with you.\u201d"}
ABOUT_US = {"words": ["our relationship", "between us", "you always", "you never"],
            "hint": "This conversation is for a stress from outside your relationship: work, "
                    "family, friends, health. Things between you two can have a talk of their own."}

# Research (b) 5, step 3: what the listener does while the speaker talks.
LISTENING = (
    "Take your partner's side, even if you see it differently: it is them and you against the "
    "stress.",
    "Show you understand: \u201cThat sounds so frustrating.\u201d \u201cNo wonder you're tired.\u201d",
    "Ask questions to understand more: \u201cWhat was the hardest part?\u201d",
    "No advice unless your partner asks for it. Listening is the help.",
)


class Options(StrictSchema):
    turn_minutes = minutes("Minutes for each turn", lo=MIN_TURN, hi=MAX_TURN, default=TURN_MINUTES)


def turn_minutes(ctx) -> int:
    return ctx.options.get("turn_minutes", TURN_MINUTES)


def talk_prompt(ctx):
    return (f"Talk about it for up to {turn_minutes(ctx)} minutes, out loud, together. Say as "
            "much or as little as you like. When you have said what you needed to, finish early "
            "with the button below; the turn also ends on its own when the time is up.")


LISTEN_WAIT = ("Listen, and be on your partner's side. Show you understand, ask questions to "
               "understand more, and hold back advice unless they ask for it.")

register(Exercise(
    key="stress",
    title="Stress-reducing conversation",
    summary="Each of you talks about a stress from outside your relationship while the other "
            "listens on your side.",
    minutes=25,
    not_when="For a problem between the two of you: this talk is about stress from outside. "
             "Choose the needs request or the after-a-fight talk for that.",
    options=Options,
    steps=(
        # (b) 5.2: the speaker names a stress from outside the relationship (the topic recorded).
        Step("topic", SPEAKER,
             "What stress from outside your relationship would you like to talk about? Work, "
             "family, friends, health: a few words are enough.",
             title="My stress", wait="Your partner is choosing what to talk about.",
             schema=schema("topic", topic=text("What it is about", max_length=200,
                                               hints=[ABOUT_US]))),
        # (b) 5.2-5.3: a timed turn; the listener takes the speaker's side, asks, gives no advice.
        Step("talk", SPEAKER, talk_prompt, title="Talking it through", wait=LISTEN_WAIT,
             timer=turn_minutes, on_timer="support", suggestions=LISTENING),
        # (b) 5.3: affection and validation, in one line ("we against others").
        Step("support", LISTENER,
             "Close with one line of support: that you are on their side, or how it sounds to "
             "you. No advice.",
             title="One line of support", wait="Your partner is writing a line of support.",
             schema=schema("support", support=text("My line of support", max_length=300,
                                                   hints=[ADVICE]))),
        # Adaptation (exercises.md: "a rating of how supported each partner felt").
        Step("supported", SPEAKER, "How supported did you feel while you talked?",
             title="Feeling supported", wait="Your partner is saying how it felt.",
             schema=schema("supported",
                           supported=rating("How supported I felt, 0 (not at all) to 10"),
                           helped=text("What helped most (optional)", max_length=300,
                                       required=False)),
             # (b) 5.4: both swap roles; after the second turn, the check-out.
             next=lambda c: Swap("topic") if c.round == 1 else FINISH),
    ),
))
