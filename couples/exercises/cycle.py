"""Our cycle: mapping the pattern the two of you fall into when you get stuck (the seed's attachment
patterns: one seeks closeness to calm a fear of being left, the other takes distance to calm a fear
of being overwhelmed; research (b) 10, "the cycle as the enemy"; exercises.md "Our cycle").

The engine adds check-in (SUDS) from both and check-out from both; nobody goes first: both write.
Each partner writes their side of it privately first: what I do when we get stuck, what I feel
underneath, what I fear, what I need. A map is private (its event reaches only its author and the
therapist) until both choose to share theirs; then both maps are shown to both, side by side, at
the same moment (nobody's map is read before the other has written and shared theirs). If either
keeps theirs private for now, neither is shown and the exercise goes to its check-out. Both then
name the cycle, as their common enemy, in their own words ("the storm"), and one early sign either
can call out; the partner who did not write it down agrees to keep it (`cycle_named`: the couple's
cycle on their practice page and in the room's pause), at most MAX_DRAFTS drafts.
"""
from marshmallow import post_load

from couples.fields import StrictSchema

from .declarations import (BOTH, EITHER, FINISH, PARTNERS, Exercise, Step, answered_by, other,
                           register)
from .inputs import choice, feeling, need as need_word, schema, text

MAX_DRAFTS = 3
PARTS = ("do", "feel", "fear", "need")


class Map(StrictSchema):
    do = text("What I do when we get stuck", max_length=300)
    feel = feeling("What I feel underneath")
    fear = text("What I fear", max_length=300)
    need = need_word("What I need")

    @post_load
    def _private_first(self, data, **kwargs):
        # Written privately first: its event reaches only the author and the therapist
        # (acting.private_audience); the map is shown to the partner only once both share.
        return {**data, "share": False}


class Cycle(StrictSchema):
    name = text("A name for our cycle, in our words (e.g. the storm)", max_length=60)
    sign = text("One early sign either of us can call out", max_length=200)


def shown(ctx) -> bool:
    """Whether both chose to share their maps."""
    return all(a["reveal"] == "share" for a in ctx.data["reveal"].values())


def reveal_maps(ctx):
    """Both maps at once, to both (only when both chose to share)."""
    if not shown(ctx):
        return []
    maps = ctx.data["map"]
    return [("map_shared", {"partner": seat, **{k: maps[seat][k] for k in PARTS}})
            for seat in PARTNERS]


def side_by_side(ctx):
    """The naming step's prompt: the reader's map and their partner's, side by side."""
    me = ctx.viewer if ctx.viewer in PARTNERS else "a"
    maps = ctx.data["map"]

    def line(m):
        return (f"when we get stuck: {m['do']}; underneath: {m['feel']}; the fear: {m['fear']}; "
                f"the need: {m['need']}.")

    return ("Here are your two maps side by side. You, " + line(maps[me]) + " Your partner, "
            + line(maps[other(me)]) + " Together, give the cycle you fall into a name of your "
            "own, as the enemy you face together (\u201cthe storm\u201d), and one early sign "
            "that either of you can call out. Either of you writes it down.")


def reviewer(run):
    """The partner who did not write the name down agrees to it, or not."""
    return [other(answered_by(run, "name_cycle"))]


def named(ctx):
    if ctx.input[ctx.actor]["agree"] != "keep":
        return []
    c = ctx.data["name_cycle"]
    return [("cycle_named", {"name": c["name"], "sign": c["sign"], "by": ctx.by("name_cycle"),
                             "agreed_by": ctx.actor})]


def agree_prompt(ctx):
    last = (" This is the last draft for today: \u201cchange\u201d leaves it for another time."
            if ctx.visits("name_cycle") >= MAX_DRAFTS else "")
    return ("Your partner wrote down a name for your cycle and an early sign (just above). Keep "
            "it as yours, change something, or leave it for now?" + last)


def after_agree(ctx):
    if ctx.input[ctx.actor]["agree"] == "change" and ctx.visits("name_cycle") < MAX_DRAFTS:
        return "name_cycle"
    return FINISH


register(Exercise(
    key="cycle",
    title="Our cycle",
    summary="Map the pattern you two fall into when you get stuck, and give it a name you can "
            "both call out.",
    minutes=30,
    not_when="In the middle of a fight, or when either of you is flooded: this is for a calm "
             "moment. Take a time-out first.",
    choose_speaker=False,
    demanding=True,  # fears and needs ask a lot of a flooded body: "start anyway" after a 7+
    steps=(
        # The seed: each names their own moves and what lies beneath (research (b) 10.3),
        # privately first.
        Step("map", BOTH,
             "Think of a moment when the two of you get stuck. Write your side of it, for "
             "yourself first: what you do, what you feel underneath, what you fear, what you "
             "need. Your partner does not see it unless you both choose to share.",
             title="My side of the cycle",
             wait="Thank you. Your map stays private. Waiting for your partner to write theirs.",
             schema=Map),
        # Shared when ready: both at once, or neither.
        Step("reveal", BOTH,
             "When you are ready, share your map. You will both see both maps at the same moment, "
             "once you have both chosen to share; you can also keep yours private for now.",
             title="Share when ready",
             wait="Thank you. Waiting until your partner is ready too.",
             schema=schema("reveal", reveal=choice(
                 ["share", "keep"], "My map",
                 labels={"share": "Share my map now", "keep": "Keep it private for now"})),
             emit=reveal_maps, next=lambda c: "name_cycle" if shown(c) else FINISH),
        # Research (b) 10.4: the cycle as the common enemy, named, with an early sign.
        Step("name_cycle", EITHER, side_by_side, title="Name our cycle",
             wait="Your partner is writing down the name.", schema=Cycle, next="agree_cycle"),
        Step("agree_cycle", reviewer, agree_prompt, title="Agree our cycle",
             wait="Your partner is reading the name you wrote.",
             schema=schema("agree_cycle", agree=choice(
                 ["keep", "change", "skip"], "Our cycle",
                 labels={"keep": "Keep it", "change": "Let's change something",
                         "skip": "Not now"})),
             emit=named, next=after_agree),
    ),
))
