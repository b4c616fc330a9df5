"""Our cycle (couples/exercises/cycle.py) on the pure engine: each partner's map written privately
first and shown to the other only when both share (side by side, at once), or never when either
keeps theirs; then a name for the cycle and an early sign, agreed by the partner who did not write
it down."""
import json

import pytest

from couples.exercises import cycle, engine
from couples.exercises.feelings import FEELINGS
from couples.exercises.needs_list import NEEDS
from test_engine import Room

MAPS = {"a": {"do": "zqado I chase and ask questions", "feel": "zqafeel", "fear": "zqafear of being left",
              "need": "zqaneed reassurance"},
        "b": {"do": "zqbdo I go quiet and leave the room", "feel": "zqbfeel", "fear": "zqbfear of failing you",
              "need": "zqbneed room to breathe"}}
WORDS = {seat: [v for v in m.values()] for seat, m in MAPS.items()}
CYCLE = {"name": "the storm", "sign": "Raised voices in the kitchen"}


def start(r):
    r.act("start_exercise", "b", {"exercise": "cycle"})
    r.suds()
    assert r.step == "map"


def seen_by(r, who) -> str:
    """Everything `who` has been sent: their events and their view now."""
    return json.dumps([engine.visible(r.events, who), r.view(who)])


def private_from(r, who):
    """None of the other partner's map words has reached `who`."""
    text = seen_by(r, who)
    for word in WORDS[engine.other(who)]:
        assert word not in text, (who, word)


def to_name(r):
    start(r)
    r.submit("a", MAPS["a"])
    r.submit("b", MAPS["b"])
    r.submit("a", {"reveal": "share"})
    r.submit("b", {"reveal": "share"})
    assert r.step == "name_cycle"


def test_the_map_asks_what_i_do_feel_fear_and_need_with_the_lists():
    r = Room()
    listed = next(e for e in r.view("a")["exercises"] if e["key"] == "cycle")
    assert listed["demanding"] and listed["minutes"] and listed["not_when"]
    start(r)
    v = r.view("a")
    assert [(f["name"], f["kind"]) for f in v["input"]] == [("do", "text"), ("feel", "feeling"),
                                                           ("fear", "text"), ("need", "need")]
    assert v["input"][1]["options"] == list(FEELINGS) and v["input"][3]["options"] == list(NEEDS)
    assert "does not see it" in v["prompt"]
    assert r.view("b")["your_turn"] and r.view("a")["your_turn"]  # both write, nobody goes first
    e = r.submit_err("a", {**MAPS["a"], "share": True})  # no way to skip the private first step
    assert e.code == "invalid_input" and "share" in e.fields
    assert r.submit_err("a", {"do": "x"}).code == "invalid_input"


def test_a_map_stays_private_until_both_share_then_both_are_shown_at_once():
    r = Room()
    start(r)
    ev = r.submit("a", MAPS["a"])
    own = [e for e in ev if e["type"] == "step_submitted"][0]
    assert own["audience"] == ["a", "therapist"] and own["data"]["data"] == {**MAPS["a"], "share": False}
    assert r.view("b")["answered"] == ["a"] and r.view("b")["your_turn"]  # that she wrote, not what
    private_from(r, "b")
    r.submit("b", MAPS["b"])
    assert r.step == "reveal"
    private_from(r, "a")
    private_from(r, "b")
    share = r.view("a")["input"][0]
    assert share["options"] == ["share", "keep"] and share["name"] == "reveal"
    ev = r.submit("a", {"reveal": "share"})  # Alice is ready; Bob not yet
    assert not [e for e in ev if e["type"] == "map_shared"] and r.step == "reveal"
    private_from(r, "a")
    private_from(r, "b")
    therapist = seen_by(r, "therapist")  # the linked therapist sees both, as every private answer
    assert all(w in therapist for ws in WORDS.values() for w in ws)
    ev = r.submit("b", {"reveal": "share"})
    shared = [e for e in ev if e["type"] == "map_shared"]
    assert [e["data"] for e in shared] == [{"partner": "a", **MAPS["a"]}, {"partner": "b", **MAPS["b"]}]
    assert all(e["audience"] == ["a", "b", "therapist"] for e in shared)
    assert r.step == "name_cycle"
    for who in "ab":
        text = seen_by(r, who)
        assert all(w in text for ws in WORDS.values() for w in ws)


def test_side_by_side_each_reads_their_own_map_and_their_partner_s():
    r = Room()
    to_name(r)
    for me in "ab":
        prompt = r.view(me)["prompt"]
        mine, theirs = prompt.index(MAPS[me]["do"]), prompt.index(MAPS[engine.other(me)]["do"])
        assert prompt.index("You,") < mine < prompt.index("Your partner,") < theirs
        assert all(v in prompt for m in MAPS.values() for v in m.values())
        assert "the storm" in prompt and r.view(me)["your_turn"]  # either writes it down
    assert r.view("therapist")["prompt"].startswith("Both are asked")


@pytest.mark.parametrize("keeper", ["a", "b", "both"])
def test_keeping_a_map_private_shows_neither_and_goes_to_the_check_out(keeper):
    r = Room()
    start(r)
    r.submit("a", MAPS["a"])
    r.submit("b", MAPS["b"])
    r.submit("a", {"reveal": "keep" if keeper in ("a", "both") else "share"})
    r.submit("b", {"reveal": "keep" if keeper in ("b", "both") else "share"})
    assert r.step == "suds_after" and "map_shared" not in r.types()
    r.suds(value=2)
    assert r.state["phase"] == "ready" and r.state["completed"] == {"cycle": 1}
    private_from(r, "a")
    private_from(r, "b")
    assert "cycle_named" not in r.types()


def test_the_name_is_agreed_by_the_partner_who_did_not_write_it():
    r = Room()
    to_name(r)
    assert [f["name"] for f in r.view("a")["input"]] == ["name", "sign"]
    assert r.submit_err("a", {"name": "x" * 61, "sign": "y"}).code == "invalid_input"
    assert r.submit_err("a", {"name": "the storm"}).code == "invalid_input"  # the sign too
    r.submit("b", CYCLE)
    assert r.step == "agree_cycle" and r.view("a")["your_turn"] and not r.view("b")["your_turn"]
    assert r.submit_err("b", {"agree": "keep"}).code == "not_your_turn"
    ev = r.submit("a", {"agree": "keep"})
    named = [e for e in ev if e["type"] == "cycle_named"]
    assert named == [{"type": "cycle_named", "actor": None, "audience": ["a", "b", "therapist"],
                      "data": {**CYCLE, "by": "b", "agreed_by": "a"}}]
    assert r.step == "suds_after"


def test_change_asks_for_another_draft_at_most_three_and_not_now_keeps_nothing():
    r = Room()
    to_name(r)
    for draft in range(1, cycle.MAX_DRAFTS + 1):
        assert r.step == "name_cycle"
        writer = "a" if draft % 2 else "b"
        r.submit(writer, {"name": f"the storm {draft}", "sign": "Sighing"})
        reader = engine.other(writer)
        assert ("last draft" in r.view(reader)["prompt"]) == (draft == cycle.MAX_DRAFTS)
        r.submit(reader, {"agree": "change"})
    assert r.step == "suds_after" and "cycle_named" not in r.types()
    r2 = Room()
    to_name(r2)
    r2.submit("a", CYCLE)
    r2.submit("b", {"agree": "skip"})
    assert r2.step == "suds_after" and "cycle_named" not in r2.types()


def test_a_time_out_while_writing_keeps_the_map_private():
    r = Room()
    start(r)
    r.submit("a", MAPS["a"])
    r.act("timeout", "b")
    r.tick(20)
    r.act("timer", None)
    r.submit("a", {"ready": True})
    r.submit("b", {"ready": True})
    r.submit("a", {"choice": "resume"})
    r.submit("b", {"choice": "resume"})
    for who, data in [("b", {"part": "I left", "differently": "Say when I need a break"}),
                      ("a", {"part": "I chased", "differently": "Give space"}),
                      ("b", {"feel": "tense", "about": "the map", "need": "time"}),
                      ("a", {"acknowledgement": "You need time"})]:
        r.submit(who, data)
    r.suds()
    assert r.step == "map" and r.view("b")["your_turn"] and not r.view("a")["your_turn"]
    private_from(r, "b")
