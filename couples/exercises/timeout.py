"""De-escalation timeout (exercises.md section 2): a self-soothing break with an agreed return.

Called with start_exercise {"exercise": "timeout"} or, from any step of another exercise, with the
action "timeout" (whose payload is the `call` step's fields); the interrupted exercise resumes at
its step afterwards. No SUDS-before: the caller's and the other's arousal ratings are the "before"
ratings (asking both for a form first would slow down a flooded partner). No blame is asked for:
the caller gives a feeling word and a number only.

Agreeing: each proposes minutes and the longer wins (nobody is rushed back). Next step: each
chooses; if they differ the more careful one wins (reschedule > switch > resume).
"""

from couples.fields import StrictSchema

from .declarations import BOTH, CALLER, EITHER, FINISH, NOBODY, OTHER, Exercise, Step, register
from .inputs import boolean, choice, date, date_within, feeling, minutes, rating, schema, text

SUGGESTIONS = (
    "Breathe slowly: in for 4, out for 6, for a few minutes.",
    "Ground yourself with 5-4-3-2-1: five things you see, four you hear, three you can touch, "
    "two you smell, one you taste.",
    "Go for a short walk, or stretch your shoulders and jaw.",
    "Listen to music that calms you.",
    "Let the argument rest: try not to rehearse what you will say next.",
)
CAREFUL = ("reschedule", "switch", "resume")  # most careful first



def agreed_minutes(ctx):
    rc = ctx.data.get("return_check")
    if rc:  # an extension: the longest asked for by someone who is not ready yet
        return max(a["extend_minutes"] for a in rc.values() if not a["ready"])
    return max(a["minutes"] for a in ctx.data["return_time"].values())


def after_check(ctx):
    return "next_step" if all(a["ready"] for a in ctx.input.values()) else "break"


def extension_event(ctx):
    waiting = [a["extend_minutes"] for a in ctx.input.values() if not a["ready"]]
    return [("break_extended", {"minutes": max(waiting)})] if waiting else []


def chosen(ctx):
    picks = {a["choice"] for a in ctx.data["next_step"].values()}
    return next(c for c in CAREFUL if c in picks)


def after(ctx):
    pick = chosen(ctx) if "next_step" in ctx.data else None
    if pick == "switch":
        return {"start": "needs"}
    if pick == "reschedule":
        return {"end": "rescheduled"}
    return None


class ReturnCheck(StrictSchema):
    arousal = rating("How stirred up you feel now, 0 (calm) to 10")
    ready = boolean("I'm ready to come back")
    extend_minutes = minutes("If not yet: how many more minutes", lo=10, hi=1440, default=20)


register(Exercise(
    key="timeout",
    title="Time-out to calm down",
    summary="A break with an agreed time to come back, when things get too heated.",
    suds_before=False, choose_speaker=False, starter_role="caller", interrupts=True, after=after,
    steps=(
        Step("call", CALLER,
             "You called a time-out. That's a caring choice. "
             "Name what you feel and how strong it is.",
             title="Time-out called",
             wait="Your partner is calling a time-out. Please wait a moment.",
             schema=schema("call", feeling=feeling("What you feel"),
                           arousal=rating("How stirred up you feel, 0 (calm) to 10"))),
        Step("acknowledge", OTHER,
             "Your partner needs a break. By answering you agree to pause the talk. "
             "Name what you feel and how strong it is.",
             title="Acknowledge the time-out", wait="Your partner is acknowledging the time-out.",
             schema=schema("acknowledge", feeling=feeling("What you feel"),
                           arousal=rating("How stirred up you feel, 0 (calm) to 10"))),
        Step("return_time", BOTH,
             "How long a break do you need? At least 20 minutes helps the body settle; the longer "
             "of your two answers is the one you both keep.",
             title="Agree when to come back",
             schema=schema("return_time",
                           minutes=minutes("Minutes of break", lo=20, hi=1440, default=20)),
             emit=lambda c: [("return_time_agreed", {
                 "minutes": agreed_minutes(c),
                 "proposals": {p: a["minutes"] for p, a in c.input.items()}})]),
        Step("break", NOBODY, "", title="Break",
             # No minutes in the words: the view is pushed only when it changes, and the
             # countdown comes from deadline_at, so a number here would go stale.
             wait=("Take your break until the agreed time. Look after your body; you can note "
                   "what helped if you like."),
             timer=agreed_minutes, on_timer="return_check", suggestions=SUGGESTIONS,
             log=schema("break_log", activity=text("What you did (optional)", max_length=500))),
        Step("return_check", BOTH,
             "Welcome back. How stirred up do you feel now, and are you ready to continue?",
             title="Coming back", schema=ReturnCheck,
             emit=extension_event,
             next=after_check),
        Step("next_step", BOTH,
             "What would help most now: carry on where you were, talk it through with a needs "
             "request, or pick another time? If you choose differently, the gentler choice "
             "is kept.",
             title="Choose the next step",
             schema=schema("next_step", choice=choice(
                 ["resume", "switch", "reschedule"], "Next step",
                 labels={"resume": "Carry on", "switch": "Needs request",
                         "reschedule": "Another time"})),
             emit=lambda c: [("next_step_chosen", {
                 "choice": chosen(c), "choices": {p: a["choice"] for p, a in c.input.items()}})],
             next=lambda c: {"resume": "caller_part", "switch": FINISH,
                             "reschedule": "reschedule"}[chosen(c)]),
        Step("caller_part", CALLER,
             "In one sentence, name your own part in how things heated up, and one thing you "
             "will do differently.", title="My part",
             schema=schema("caller_part", part=text("My part, in one sentence", max_length=300),
                           differently=text("One thing I'll do differently", max_length=300))),
        Step("other_part", OTHER,
             "In one sentence, name your own part in how things heated up, and one thing you "
             "will do differently.", title="My part",
             schema=schema("other_part", part=text("My part, in one sentence", max_length=300),
                           differently=text("One thing I'll do differently", max_length=300))),
        Step("soft_startup", CALLER,
             "Start again gently: \"I feel ... about ... and I need ...\".", title="Gentle restart",
             schema=schema("soft_startup", feel=feeling("I feel"),
                           about=text("about", max_length=500),
                           need=text("and I need", max_length=500))),
        Step("acknowledge_startup", OTHER,
             "Let your partner know you heard them, in your own words.", title="I hear you",
             schema=schema("acknowledge_startup",
                           acknowledgement=text("What you heard", max_length=1000)),
             next=FINISH),
        Step("reschedule", EITHER, "Pick a day to come back to this together.",
             title="Another time",
             schema=schema("reschedule", date=date("Day", required=True),
                           note=text("A time or note (optional)", max_length=200, required=False)),
             check=date_within("date", 365), next=FINISH),
    ),
))
