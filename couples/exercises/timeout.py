"""De-escalation time-out (exercises.md section 2): a self-soothing break with a return time.

One press starts it, from any step, a waiting screen or a pause (action "timeout"; or
start_exercise {"exercise": "timeout"}), and the break begins at once for DEFAULT_MINUTES: a
flooded partner is asked for nothing first, and the other partner's answer is not needed.
During the break either may log a feeling word, a rating (private unless shared) and a proposed
length; the longest proposal is the return time. At the return time both are asked back; one who
is not ready may extend, up to CAP from the start, after which the session is set aside for
another day. A partner still missing NO_SHOW minutes after the return time is flagged to the
therapist, and the present partner chooses to keep waiting or to stop for today: the session never
waits on someone who is not there. Then both choose what next: carry on (the interrupted
exercise resumes), talk it through taking turns ("switch": the speaker and listener, floor.py, as
PREP follows its time-out), or another time.
"""
import datetime as dt

from couples.fields import StrictSchema

from .declarations import (BOTH, CALLER, EITHER, FINISH, NOBODY, OTHER, PARTNERS, End, Exercise,
                           Step, register)
from .inputs import boolean, choice, date, date_within, feeling, minutes, rating, schema, share, text
from .state import parse_time

DEFAULT_MINUTES = 20
CAP = dt.timedelta(hours=24)  # the whole break, extensions included
NO_SHOW = 15  # minutes after the return time before a missing partner is flagged
DECIDE = 60  # minutes the present partner has to choose before the session is set aside
ANOTHER_DAY = "continue_another_day"

SUGGESTIONS = (
    "Go somewhere separate, where you cannot see or hear each other.",
    "Breathe slowly: in for 4, out for 6, for a few minutes.",
    "Try not to rehearse the argument or what you will say next; let it rest.",
    "Do something soothing: a short walk, music, a shower, stretching your shoulders and jaw.",
    "Ground yourself with 5-4-3-2-1: five things you see, four you hear, three you can touch, "
    "two you smell, one you taste.",
)
CAREFUL = ("reschedule", "switch", "resume")  # most careful first


# --------------------------------------------------------------------------- time


def _left(ctx, since=None) -> int:
    """Whole minutes from `since` (an ISO time; default: now) until the cap."""
    started = parse_time(ctx.run["started_at"])
    at = parse_time(since) if since else ctx.now
    return max(0, int((started + CAP - at).total_seconds() // 60))


def _answers(ctx) -> dict:
    """Each partner's latest return check: both at once, or the present one's (kept when the
    timer fired) and then the late one's."""
    if ctx.run.get("last_completed") == "waiting_return":
        return {**ctx.data.get("return_check", {}), **ctx.data["waiting_return"]}
    return dict(ctx.data["return_check"])


def break_minutes(ctx):
    """First break: the longest proposal (at least the default). After a return check: the
    longest extension asked for by someone not ready. Never past the cap."""
    if ctx.visits("break") == 1:
        proposals = [v["minutes"] for v in ctx.logs("break").values() if v.get("minutes")]
        wanted = max([DEFAULT_MINUTES, *proposals])
    else:
        wanted = max(a["extend_minutes"] for a in _answers(ctx).values() if not a["ready"])
    # Counted from the break's start (its timer is), so a log later in it never shortens it.
    return max(1, min(wanted, _left(ctx, ctx.run["entered_at"])))


def proposals_event(ctx):
    if ctx.input.get("minutes") is None or ctx.visits("break") != 1:
        return []  # an extension's length is the return check's, not a proposal's
    props = {p: v["minutes"] for p, v in ctx.logs("break").items() if v.get("minutes")}
    return [("return_time_agreed", {"minutes": max([DEFAULT_MINUTES, *props.values()]),
                                    "proposals": props})]


def after_return(ctx):
    answers = _answers(ctx)
    if all(a["ready"] for a in answers.values()):
        return "next_step"
    return "break" if _left(ctx) >= 1 else End(ANOTHER_DAY)


def extension_event(ctx):
    waiting = [a["extend_minutes"] for a in _answers(ctx).values() if not a["ready"]]
    if not waiting or _left(ctx) < 1:
        return []
    return [("break_extended", {"minutes": min(max(waiting), _left(ctx))})]


# --------------------------------------------------------------------------- who is back


def present(run) -> list:
    return [p for p in PARTNERS if p in run["data"].get("return_check", {})]


def missing(run) -> list:
    return [p for p in PARTNERS if p not in run["data"].get("return_check", {})]


def missed_event(ctx):
    """The therapist (and whoever came back) learns who has not returned; the late partner is
    not told off."""
    gone = missing(ctx.run)
    return [("return_missed", {"missing": gone, "partner": gone[0] if len(gone) == 1 else None,
                                "return_at": ctx.run["entered_at"]},
             present(ctx.run) + ["therapist"])]


def after_no_show(ctx):
    return "not_back" if present(ctx.run) else End(ANOTHER_DAY)


# --------------------------------------------------------------------------- next step


def chosen(ctx):
    picks = {a["choice"] for a in ctx.data["next_step"].values()}
    return next(c for c in CAREFUL if c in picks)


def after(ctx):
    pick = chosen(ctx) if "next_step" in ctx.data else None
    if pick == "switch":  # PREP pairs its time-out with the speaker-listener technique
        return {"start": "speaker_listener"}
    if pick == "reschedule":
        return {"end": "rescheduled"}
    return None


# --------------------------------------------------------------------------- words


def break_words(ctx):
    if ctx.role() == "caller":
        return ("Your break has started. You will both come back at {return_at}. Go somewhere "
                "separate, breathe slowly, and try not to rehearse the argument. If you like, "
                "note how you feel, or ask for a longer break.")
    if ctx.role() == "other":
        return ("{caller} is taking a break to calm down and will be back at {return_at}. This "
                "is a pause, not leaving. Use the time to settle yourself too.")
    return "{caller} called a time-out. The break lasts until {return_at}."


BreakLog = schema(
    "break_log",
    feeling=feeling("What I feel (optional)", required=False),
    arousal=rating("How stirred up I feel, 0 (calm) to 10 (optional)", required=False,
                   distress=True),
    minutes=minutes("I need a longer break: minutes in all (optional)", lo=DEFAULT_MINUTES,
                    hi=int(CAP.total_seconds() // 60)),
    activity=text("What helped (optional)", max_length=500, required=False),
    share=share(False, "Show my feeling and rating to my partner"))


class ReturnCheck(StrictSchema):
    ready = boolean("I'm ready to come back")
    arousal = rating("How stirred up I feel now, 0 (calm) to 10 (optional)", required=False,
                     distress=True)
    extend_minutes = minutes("If not yet: how many more minutes", lo=10, hi=1440, default=20)
    share = share(False, "Show my answer to my partner")


RETURN_PROMPT = ("Welcome back. Are you ready to continue? If not yet, ask for more time; a "
                 "break of more than a day is set aside for another day.")

register(Exercise(
    key="timeout",
    title="Time-out to calm down",
    summary="A break with a time to come back, when things get too heated. One press starts it.",
    minutes=20,
    not_when="As a way to end a talk for good: it always comes with a time to come back.",
    suds_before=False, choose_speaker=False, starter_role="caller", interrupts=True, after=after,
    # Calming down and coming back go on under a therapist's hold; the talk afterwards is joint.
    solo_steps=("break", "return_check", "not_back", "waiting_return", "suds_after"),
    steps=(
        Step("break", NOBODY, "", title="Break", wait=break_words,
             # No clock time in the words: each page fills {return_at} in its own local time
             # from deadline_at, and {caller} with the caller's name.
             timer=break_minutes, on_timer="return_check", suggestions=SUGGESTIONS,
             log=BreakLog, log_emit=proposals_event),
        Step("return_check", BOTH, RETURN_PROMPT, title="Coming back", schema=ReturnCheck,
             wait="Thank you. Waiting for your partner to come back.",
             timer=lambda c: NO_SHOW, timer_emit=missed_event, on_timer=after_no_show,
             emit=extension_event, next=after_return),
        Step("not_back", present,
             "Your partner has not come back yet. That can happen when someone needs longer; "
             "it is not about you. Would you like to keep waiting, or stop for today and pick "
             "another day?",
             title="Waiting to come back",
             wait="Your partner is deciding whether to keep waiting.",
             schema=schema("not_back",
                           choice=choice(["wait", "another_day"], "What would you like",
                                         labels={"wait": "Keep waiting",
                                                 "another_day": "Stop for today"}),
                           date=date("Another day (optional)")),
             check=date_within("date", 365),
             timer=lambda c: DECIDE, on_timer=lambda c: End(ANOTHER_DAY),
             next=lambda c: ("waiting_return" if c.input[c.actor]["choice"] == "wait"
                             else End("rescheduled"))),
        Step("waiting_return", missing, RETURN_PROMPT, title="Coming back", schema=ReturnCheck,
             wait="Waiting for your partner to come back.",
             timer=lambda c: min(NO_SHOW, max(1, _left(c))),
             on_timer=lambda c: "not_back" if _left(c) >= 1 else End(ANOTHER_DAY),
             emit=extension_event, next=after_return),
        Step("next_step", BOTH,
             "What would help most now: carry on where you were, talk it through taking turns "
             "to speak and listen, or pick another time? If you choose differently, the gentler "
             "choice is kept.",
             title="Choose the next step",
             schema=schema("next_step", choice=choice(
                 ["resume", "switch", "reschedule"], "Next step",
                 labels={"resume": "Carry on", "switch": "Talk it through: speaker and listener",
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
