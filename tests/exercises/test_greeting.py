"""The greeting ritual (issue 23, "Greeting ritual"), step by step in the pure engine: the check-in
rating is optional; each partner turns toward the other's day (a question, answered, or a
reflection) before the next day is shared; each appreciation is received with a thanks; and the
couple may save the greeting as their ritual, written by either and kept only when the other
agrees."""
import pytest

from couples.exercises import engine
from couples.exercises.greeting import MAX_DRAFTS
from test_engine import Room

RITUAL = {"when": "When we get home", "what": "Kettle on, ten minutes to talk",
          "gesture": "A six-second kiss"}


def of(r, type_):
    return [e for e in r.events if e["type"] == type_]


def started(moment=None, first="me"):
    """A greeting at who-goes-first, after a check-in with the distress rating left out."""
    r = Room()
    r.act("start_exercise", "a", {"exercise": "greeting", **({"moment": moment} if moment else {})})
    for p in "ab":
        r.submit(p, {"connected": 5})
    r.submit("a", {"first": first})
    return r


def through_days(r, way_listener="reflect", way_speaker="reflect"):
    """Speaker a, listener b: greetings and both days, each turned toward."""
    r.submit("a", {"greeting": "Hello you"})
    r.submit("b", {"greeting": "Hello back"})
    r.submit("a", {"day": "The meeting went long"})
    r.submit("b", {"way": way_listener, "words": "Long meetings drain you"})
    if way_listener == "ask":
        r.submit("a", {"reply": "It did, but it went well"})
    r.submit("b", {"day": "I finished the shelves"})
    r.submit("a", {"way": way_speaker, "words": "How did they turn out?"})
    if way_speaker == "ask":
        r.submit("b", {"reply": "Straight, at last"})


def through_appreciations(r):
    r.submit("a", {"appreciation": "You waited up for me"})
    r.submit("b", {"thanks": "Thank you, I wanted to"})
    r.submit("b", {"appreciation": "You called at lunch"})
    r.submit("a", {"thanks": "Thanks, love"})


def at_offer():
    r = started()
    through_days(r)
    through_appreciations(r)
    assert r.step == "ritual_offer"
    return r


def at_ritual():
    """They chose to write it down (either may answer that): the form with when, what, gesture."""
    r = at_offer()
    r.submit("a", {"decision": "save"})
    assert r.step == "ritual"
    return r


# --------------------------------------------------------------------------- check-in


def test_the_check_in_rating_is_optional_for_the_greeting_only():
    r = Room()
    r.act("start_exercise", "a", {"exercise": "greeting"})
    field = {f["name"]: f for f in r.view("a")["input"]}["suds"]
    assert field["required"] is False and "if you like" in r.view("a")["prompt"]
    r.submit("a", {"connected": 4})  # no distress rating
    r.submit("b", {"suds": None, "connected": 6})  # an explicit "none" is the same
    assert r.step == "choose_speaker"
    assert not of(r, "distress_flagged")
    # How connected each feels is still asked.
    r2 = Room()
    r2.act("start_exercise", "a", {"exercise": "greeting"})
    assert r2.submit_err("a", {"suds": 3}).fields == {"connected": "Missing data for required field."}
    # Other exercises keep the rating required, before and after.
    r3 = Room()
    r3.act("start_exercise", "a", {"exercise": "needs"})
    assert "suds" in r3.submit_err("a", {}).fields
    for key, ex in engine.EXERCISES.items():
        if key != "greeting" and ex.suds_before:
            assert {f["name"]: f for f in engine.describe(ex.step("suds_before").schema)}["suds"]["required"]
    after = {f["name"]: f for f in engine.describe(engine.EXERCISES["greeting"].step("suds_after").schema)}
    assert after["suds"]["required"]


def test_a_check_in_rating_of_seven_or_more_still_flags_when_given():
    r = Room()
    r.act("start_exercise", "a", {"exercise": "greeting"})
    r.submit("a", {"suds": 8, "connected": 2})
    flagged = of(r, "distress_flagged")
    assert [e["data"] for e in flagged] == [{"partner": "a", "rating": 8, "step": "suds_before"}]
    assert flagged[0]["audience"] == ["a", "therapist"]
    assert r.view("a")["suggest_timeout"] and not r.view("b")["suggest_timeout"]


# --------------------------------------------------------------------------- turning toward


def test_the_listener_turns_toward_the_speakers_day_before_sharing_their_own():
    r = started(moment="morning")
    r.submit("a", {"greeting": "Morning"})
    r.submit("b", {"greeting": "Morning, you"})
    r.submit("a", {"day": "A dentist at nine"})
    assert r.step == "toward_listener" and r.view("b")["your_turn"] and not r.view("a")["your_turn"]
    assert r.view("b")["step_title"] == "Turning toward"
    assert [f["name"] for f in r.view("b")["input"]] == ["way", "words"]
    assert r.submit_err("b", {"day": "Mine"}).code == "invalid_input"  # not their day yet
    assert r.submit_err("b", {"way": "advise", "words": "x"}).fields.keys() == {"way"}
    r.submit("b", {"way": "reflect", "words": "An early start, and a dentist: not easy"})
    assert r.step == "day_listener" and "day ahead" in r.view("b")["prompt"]


def test_a_question_is_answered_before_the_day_moves_on():
    r = started()
    through_days(r, way_listener="ask", way_speaker="ask")
    assert r.step == "appreciation_speaker"
    steps = [e["data"]["step"] for e in of(r, "step_submitted")][3:]
    assert steps == ["greet", "greet_back", "day_speaker", "toward_listener", "reply_speaker",
                     "day_listener", "toward_speaker", "reply_listener"]
    whom = [e["data"]["by"] for e in of(r, "step_submitted")][3:]
    assert whom == ["a", "b", "a", "b", "a", "b", "a", "b"]


def test_the_speaker_turns_toward_the_listeners_day_too():
    r = started(first="partner")  # b speaks first
    r.submit("b", {"greeting": "Hi"})
    r.submit("a", {"greeting": "Hi back"})
    r.submit("b", {"day": "Quiet"})
    r.submit("a", {"way": "reflect", "words": "A rest, then"})
    r.submit("a", {"day": "Busy"})
    assert r.step == "toward_speaker" and r.view("b")["your_turn"]
    r.submit("b", {"way": "reflect", "words": "You must be tired"})
    assert r.step == "appreciation_speaker"


# --------------------------------------------------------------------------- appreciations


def test_each_appreciation_is_received_with_a_thanks_in_the_receivers_words():
    r = started()
    through_days(r)
    r.submit("a", {"appreciation": "You waited up"})
    assert r.step == "thanks_listener" and r.view("b")["your_turn"]
    assert r.view("b")["step_title"] == "Receiving it" and "thank them" in r.view("b")["prompt"]
    assert r.submit_err("b", {"appreciation": "Me too"}).code == "invalid_input"
    assert r.submit_err("b", {"thanks": ""}).fields.keys() == {"thanks"}
    r.submit("b", {"thanks": "Thank you, that's kind"})
    assert r.step == "appreciation_listener" and r.view("b")["your_turn"]
    r.submit("b", {"appreciation": "You always call at lunch"})
    assert r.step == "thanks_speaker" and r.view("a")["your_turn"]
    r.submit("a", {"thanks": "Thanks, love"})
    assert r.step == "ritual_offer"


# --------------------------------------------------------------------------- the ritual


def test_a_ritual_written_by_one_and_agreed_by_the_other_is_saved():
    r = at_ritual()
    assert r.view("a")["your_turn"] and r.view("b")["your_turn"]  # either may write it
    r.submit("b", RITUAL)
    assert r.step == "ritual_agree"
    assert r.view("a")["your_turn"] and not r.view("b")["your_turn"]  # only the other agrees
    assert r.submit_err("b", {"agree": "keep"}).code == "not_your_turn"
    assert not of(r, "ritual_saved")
    r.submit("a", {"agree": "keep"})
    saved = of(r, "ritual_saved")
    assert [e["data"] for e in saved] == [{"when": "When we get home",
                                           "what": "Kettle on, ten minutes to talk",
                                           "gesture": "A six-second kiss", "by": "b",
                                           "agreed_by": "a"}]
    assert set(saved[0]["audience"]) == {"a", "b", "therapist"}
    assert r.step == "suds_after"  # the check-out comes after the ritual


def test_saving_needs_when_and_what_but_not_a_gesture():
    r = at_ritual()
    err = r.submit_err("a", {"gesture": "A hug"})
    assert set(err.fields) == {"when", "what"}
    r.submit("a", {"when": "Mornings", "what": "Coffee together"})
    r.submit("b", {"agree": "keep"})
    assert of(r, "ritual_saved")[0]["data"]["gesture"] is None


def test_skipping_the_ritual_goes_straight_to_the_check_out():
    r = at_offer()
    r.submit("a", {"decision": "skip"})
    assert r.step == "suds_after" and not of(r, "ritual_saved")
    r.suds({"connected": 8})
    assert r.state["phase"] == "ready" and r.state["completed"] == {"greeting": 1}


def test_the_other_partner_may_decline_or_ask_for_a_change_a_bounded_number_of_times():
    r = at_ritual()
    r.submit("a", RITUAL)
    r.submit("b", {"agree": "skip"})
    assert r.step == "suds_after" and not of(r, "ritual_saved")

    r = at_ritual()
    for draft in range(1, MAX_DRAFTS + 1):
        writer = "ab"[draft % 2]
        r.submit(writer, dict(RITUAL, when=f"Draft {draft}"))
        reviewer = engine.other(writer)
        assert r.step == "ritual_agree" and r.state["run"]["answers"] == {}
        assert ("last draft" in r.view(reviewer)["prompt"]) == (draft == MAX_DRAFTS)
        r.submit(reviewer, {"agree": "change"})
    assert r.step == "suds_after" and not of(r, "ritual_saved")


def test_a_change_then_keep_saves_the_rewritten_ritual():
    r = at_ritual()
    r.submit("a", RITUAL)
    r.submit("b", {"agree": "change"})
    assert r.step == "ritual"
    r.submit("b", dict(RITUAL, when="Mornings"))  # the other one rewrites it this time
    assert r.view("a")["your_turn"] and not r.view("b")["your_turn"]
    r.submit("a", {"agree": "keep"})
    assert [(e["data"]["when"], e["data"]["by"], e["data"]["agreed_by"])
            for e in of(r, "ritual_saved")] == [("Mornings", "b", "a")]


@pytest.mark.parametrize("field,limit", [("when", 200), ("what", 500), ("gesture", 200)])
def test_ritual_texts_are_bounded(field, limit):
    r = at_ritual()
    assert r.submit_err("a", dict(RITUAL, **{field: "x" * (limit + 1)})).fields.keys() == {field}
