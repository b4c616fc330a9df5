"""Issue 23: the private safety question says truthfully who sees the answer (never the partner;
a linked therapist, when there is one), and the engine keeps to what it says."""
import datetime as dt

from couples.exercises import engine, safety
from couples.exercises.engine import Action

T0 = dt.datetime(2026, 3, 1, 18, 0, tzinfo=dt.timezone.utc)


def test_the_question_says_the_partner_never_sees_the_answer_and_a_linked_therapist_does():
    asked = engine.view(engine.new_state(), "a", T0)
    assert asked["phase"] == "safety" and asked["prompt"] == safety.QUESTION
    assert "Your answer is never shown to your partner." in safety.QUESTION
    assert "If your couple has a linked therapist, they see it" in safety.QUESTION
    assert "Your partner will not see your answer" in safety.WAITING


def test_what_it_says_is_what_happens_the_therapist_sees_a_no_and_the_partner_does_not():
    said_no = engine.apply(engine.new_state(), Action("safety", "a", {"safe": False}, T0, None))
    assert engine.view(said_no.state, "therapist", T0)["safety"]["a"] is False
    assert "safety_concern" in [e["type"] for e in said_no.events if e["audience"] == ["therapist"]]
    assert all("b" not in e["audience"] for e in said_no.events)
    partner = engine.view(said_no.state, "b", T0)
    assert partner["phase"] == "safety" and partner["safety"] == {"answered": False}
