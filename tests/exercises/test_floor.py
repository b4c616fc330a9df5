"""Speaker and listener, "the floor" (couples/exercises/floor.py), step by step on the pure engine:
the floor cannot be taken out of turn, no second piece before the paraphrase is confirmed, the
piece length limit, confirm and correct, "Is there more?" before the floor passes, no solving
before both held the floor, the problem-solving phase, and the time-out's switch leading here."""
import pytest

from couples.exercises import engine, floor
from test_engine import Room

TOPIC = {"topic": "Weekends with my parents"}


def start_floor(r, first="me", by="a"):
    r.act("start_exercise", by, {"exercise": "speaker_listener"})
    r.suds()
    r.submit(by, {"first": first})
    sp = r.state["run"]["speaker"]
    r.submit(sp, TOPIC)
    assert r.step == "piece"
    return sp


def one_piece(r, sp, words="I feel stretched thin on Sundays", more="pass"):
    """A piece said, said back, confirmed; then "Is there more?" answered."""
    li = engine.other(sp)
    r.submit(sp, {"piece": words})
    r.submit(li, {"paraphrase": "You feel stretched on Sundays"})
    r.submit(sp, {"verdict": "yes"})
    assert r.step == "more"
    r.submit(sp, {"more": more})


def both_held_the_floor(r, sp):
    one_piece(r, sp)
    assert r.state["run"]["round"] == 2 and r.state["run"]["speaker"] == engine.other(sp)
    one_piece(r, engine.other(sp), "I miss my parents when we skip them")
    assert r.step == "after_floor"


def field(view, name):
    return next(f for f in view["input"] if f["name"] == name)


def plans(r):
    return [e["data"] for e in r.events if e["type"] == "floor_plan"]


# --------------------------------------------------------------------------- the floor


def test_only_the_partner_with_the_floor_speaks_and_the_listener_only_says_it_back():
    r = Room()
    r.act("start_exercise", "b", {"exercise": "speaker_listener"})
    r.suds()
    r.submit("b", {"first": "partner"})
    sp, li = "a", "b"
    assert r.step == "topic" and r.view(sp)["your_turn"] and not r.view(li)["your_turn"]
    assert r.submit_err(li, TOPIC).code == "not_your_turn"
    r.submit(sp, TOPIC)
    vs, vl = r.view(sp), r.view(li)
    assert vs["prompt"].startswith("You have the floor.") and vs["step_title"] == "Holding the floor"
    assert vl["prompt"] == floor.SPEAKER_WAIT and vl["input"] is None
    # The listener cannot take the floor, nor answer anything before there is a piece.
    assert r.submit_err(li, {"piece": "But I think"}).code == "not_your_turn"
    assert r.submit_err(li, {"paraphrase": "x"}, step="paraphrase").code == "stale_step"
    r.submit(sp, {"piece": "I feel stretched thin on Sundays"})
    assert r.step == "paraphrase"
    assert "without answering it" in r.view(li)["prompt"]
    assert [f["name"] for f in r.view(li)["input"]] == ["paraphrase"]
    assert r.submit_err(sp, {"paraphrase": "me again"}).code == "not_your_turn"


def test_no_second_piece_before_the_paraphrase_is_confirmed():
    r = Room()
    sp = start_floor(r)
    li = engine.other(sp)
    r.submit(sp, {"piece": "First piece"})
    # The speaker's next piece is refused while the listener has not said it back...
    assert r.err("submit", sp, {"piece": "Second piece"}, step="piece").code == "stale_step"
    assert r.submit_err(sp, {"paraphrase": "x"}).code == "not_your_turn"
    r.submit(li, {"paraphrase": "You said a first piece"})
    # ...and while the speaker has not confirmed it.
    assert r.step == "confirm"
    assert r.err("submit", sp, {"piece": "Second piece"}, step="piece").code == "stale_step"
    assert r.submit_err(li, {"verdict": "yes"}).code == "not_your_turn"
    r.submit(sp, {"verdict": "yes"})
    assert r.err("submit", sp, {"piece": "Second piece"}, step="piece").code == "stale_step"
    r.submit(sp, {"more": "more"})
    assert r.step == "piece" and r.view(sp)["prompt"].startswith("Go on:")
    r.submit(sp, {"piece": "Second piece"})
    pieces = [e["data"]["data"] for e in r.events if e["type"] == "step_submitted"
              and e["data"]["step"] == "piece"]
    assert pieces == [{"piece": "First piece"}, {"piece": "Second piece"}]


def test_a_piece_is_a_sentence_or_two():
    r = Room()
    sp = start_floor(r)
    described = field(r.view(sp), "piece")
    assert described["max_length"] == floor.PIECE_LENGTH == 300 and described["required"]
    e = r.submit_err(sp, {"piece": "x" * (floor.PIECE_LENGTH + 1)})
    assert e.code == "invalid_input" and set(e.fields) == {"piece"}
    for bad in ({}, {"piece": ""}, {"piece": "   "}, {"piece": 5}, {"piece": "ok", "solution": "x"}):
        assert r.submit_err(sp, bad).code == "invalid_input", bad
    r.submit(sp, {"piece": "x" * floor.PIECE_LENGTH})
    assert r.step == "paraphrase"


def test_not_quite_needs_a_correction_and_sends_the_paraphrase_back():
    r = Room()
    sp = start_floor(r)
    li = engine.other(sp)
    r.submit(sp, {"piece": "I feel stretched thin on Sundays"})
    r.submit(li, {"paraphrase": "You hate Sundays"})
    v = r.view(sp)
    assert field(v, "verdict")["labels"] == {"yes": "Yes, that's it", "not_quite": "Not quite"}
    e = r.submit_err(sp, {"verdict": "not_quite"})
    assert e.code == "invalid_input" and set(e.fields) == {"correction"}
    assert r.submit_err(sp, {"verdict": "maybe"}).code == "invalid_input"
    r.submit(sp, {"verdict": "not_quite", "correction": "Not hate: stretched thin"})
    assert r.step == "paraphrase"
    assert r.view(li)["prompt"].startswith("Your partner corrected it")
    r.submit(li, {"paraphrase": "You feel stretched thin on Sundays"})
    r.submit(sp, {"verdict": "yes"})
    assert r.step == "more"
    assert "Is there more" in r.view(sp)["prompt"]


def test_is_there_more_comes_before_the_floor_passes():
    r = Room()
    sp = start_floor(r)
    li = engine.other(sp)
    one_piece(r, sp, more="more")
    assert r.step == "piece" and r.state["run"]["speaker"] == sp and r.state["run"]["round"] == 1
    one_piece(r, sp, "And I want a Sunday to ourselves", more="pass")
    swapped = [e for e in r.events if e["type"] == "roles_swapped"]
    assert [e["data"] for e in swapped] == [{"round": 2, "speaker": li, "listener": sp}]
    assert r.step == "piece" and r.view(li)["prompt"].startswith("The floor is yours now.")
    assert r.submit_err(sp, {"piece": "One more thing"}).code == "not_your_turn"


def test_a_turn_holds_at_most_five_pieces_then_the_floor_passes():
    r = Room()
    sp = start_floor(r)
    for i in range(floor.MAX_PIECES - 1):
        one_piece(r, sp, f"piece {i}", more="more")
    assert "last piece" in r.view(sp)["prompt"]
    r.submit(sp, {"piece": "the fifth"})
    r.submit(engine.other(sp), {"paraphrase": "the fourth"})
    assert "once your partner has it, the floor passes" in r.view(sp)["prompt"]
    r.submit(sp, {"verdict": "not_quite", "correction": "The fifth"})  # still said back first
    assert r.step == "paraphrase"
    r.submit(engine.other(sp), {"paraphrase": "the fifth"})
    r.submit(sp, {"verdict": "yes"})
    assert r.step == "piece" and r.state["run"]["speaker"] == engine.other(sp)  # no "more" step


def test_corrections_are_bounded_then_the_last_correction_stands_and_the_floor_passes():
    r = Room()
    sp = start_floor(r)
    li = engine.other(sp)
    r.submit(sp, {"piece": "I feel stretched thin"})
    for i in range(floor.MAX_PARAPHRASES - 1):
        r.submit(li, {"paraphrase": f"try {i}"})
        assert "last piece" not in r.view(sp)["prompt"]
        r.submit(sp, {"verdict": "not_quite", "correction": "Not that"})
        assert r.step == "paraphrase"
    r.submit(li, {"paraphrase": "the last try"})
    assert "a correction now stands as you say it" in r.view(sp)["prompt"]
    r.submit(sp, {"verdict": "not_quite", "correction": "Stretched thin, not angry"})
    assert r.step == "piece" and r.state["run"]["speaker"] == li


# --------------------------------------------------------------------------- no solutions yet


def test_nobody_solves_anything_until_both_have_held_the_floor():
    r = Room()
    sp = start_floor(r)
    li = engine.other(sp)
    # Round 1: no step of solving can be answered, by either partner.
    for who in (sp, li):
        for step, data in (("after_floor", {"choice": "solve"}), ("agenda", {"topic": "x"}),
                           ("brainstorm", {"ideas": "x"}), ("agree", {"idea": "x"})):
            assert r.err("submit", who, data, step=step).code == "stale_step"
    assert r.submit_err(sp, {"piece": "I think we should just alternate", "solution": "x"}).code == \
        "invalid_input"
    one_piece(r, sp)
    # The floor passed: the first speaker's pass did not open solving.
    assert r.step == "piece" and "after_floor" not in r.state["run"]["visits"]
    assert r.err("submit", sp, {"choice": "solve"}, step="after_floor").code == "stale_step"
    one_piece(r, li, "I miss my parents")
    assert r.step == "after_floor"
    v = r.view(sp)
    assert field(v, "choice")["options"] == ["floor", "solve", "finish"] and v["your_turn"]
    assert r.view(li)["your_turn"]  # each chooses: solving asks as much of both


@pytest.mark.parametrize("picks,then", [(("solve", "solve"), "agenda"), (("solve", "floor"), "piece"),
                                        (("floor", "floor"), "piece"), (("solve", "finish"), "suds_after"),
                                        (("floor", "finish"), "suds_after")])
def test_each_chooses_what_next_and_the_gentler_choice_is_kept(picks, then):
    r = Room()
    sp = start_floor(r)
    both_held_the_floor(r, sp)
    r.submit(sp, {"choice": picks[0]})
    assert r.step == "after_floor" and r.view(sp)["waiting_for"] == [engine.other(sp)]
    r.submit(engine.other(sp), {"choice": picks[1]})
    assert r.step == then


def test_the_floor_can_go_back_and_forth_a_bounded_number_of_times():
    r = Room()
    sp = start_floor(r)
    both_held_the_floor(r, sp)
    r.submit(sp, {"choice": "floor"})
    r.submit(engine.other(sp), {"choice": "floor"})
    assert r.state["run"]["round"] == 3 and r.state["run"]["speaker"] == sp and r.step == "piece"
    one_piece(r, sp)
    assert r.step == "after_floor" and r.state["run"]["round"] == 3  # both held it: no auto-pass
    r.submit(sp, {"choice": "floor"})
    r.submit(engine.other(sp), {"choice": "floor"})
    one_piece(r, engine.other(sp))
    assert r.state["run"]["round"] == floor.MAX_ROUNDS
    e = r.submit_err(sp, {"choice": "floor"})
    assert e.code == "invalid_input" and "choice" in e.fields
    r.submit(sp, {"choice": "finish"})
    r.submit(engine.other(sp), {"choice": "solve"})
    assert r.step == "suds_after" and not plans(r)
    r.suds()
    assert r.state["phase"] == "ready" and r.state["completed"] == {"speaker_listener": 1}


# --------------------------------------------------------------------------- problem solving


def to_agree(r, sp):
    both_held_the_floor(r, sp)
    r.submit(sp, {"choice": "solve"})
    r.submit(engine.other(sp), {"choice": "solve"})
    assert r.step == "agenda"
    r.submit(engine.other(sp), {"topic": "Which Sundays we visit"})
    assert r.step == "brainstorm"


def test_problem_solving_agenda_ideas_from_both_an_idea_agreed_and_a_follow_up_date():
    r = Room()
    sp = start_floor(r)
    li = engine.other(sp)
    to_agree(r, sp)
    v = r.view(sp)
    assert v["your_turn"] and r.view(li)["your_turn"] and "nobody judges" in v["prompt"]
    ev = r.submit(sp, {"ideas": "Every other Sunday\nThem to us for lunch"})
    assert r.step == "brainstorm" and r.view(sp)["waiting_for"] == [li] and not r.view(sp)["your_turn"]
    assert [e["audience"] for e in ev if e["type"] == "step_submitted"] == [engine.EVERYONE]
    assert r.submit_err(sp, {"ideas": "Another"}).code == "not_your_turn"
    r.submit(li, {"ideas": "A video call on the other Sundays"})
    assert r.step == "agree"
    r.submit(li, {"idea": "Every other Sunday, and a call in between"})
    assert r.step == "plan" and r.view(sp)["your_turn"] and not r.view(li)["your_turn"]
    assert r.submit_err(li, {"agree": "yes"}).code == "not_your_turn"  # the writer does not agree alone
    r.submit(sp, {"agree": "yes"})
    assert r.step == "follow_up"
    v = r.view(sp)
    assert v["prompt"].startswith("You agreed to try: \"Every other Sunday, and a call in between\".")
    assert field(v, "follow_up_date")["required"]
    e = r.submit_err(sp, {})
    assert e.code == "invalid_input" and "follow_up_date" in e.fields
    for bad in ("2026-02-28", "2027-03-02", "soon", 20260308):
        assert r.submit_err(sp, {"follow_up_date": bad}).code == "invalid_input", bad
    ev = r.submit(li, {"follow_up_date": "2026-03-15"})
    assert plans(r) == [{"topic": "Which Sundays we visit",
                         "agreement": "Every other Sunday, and a call in between",
                         "follow_up_date": "2026-03-15"}]
    assert [e["audience"] for e in ev if e["type"] == "floor_plan"] == [engine.EVERYONE]
    assert r.step == "suds_after"
    r.suds(value=1)
    assert r.state["completed"] == {"speaker_listener": 1}


def test_a_plan_sent_back_is_rewritten_at_most_three_times_then_noted_to_come_back_to():
    r = Room()
    sp = start_floor(r)
    li = engine.other(sp)
    to_agree(r, sp)
    r.submit(sp, {"ideas": "One"})
    r.submit(li, {"ideas": "Two"})
    writers = [sp, li, sp]
    for n, writer in enumerate(writers, 1):
        assert r.step == "agree"
        r.submit(writer, {"idea": f"draft {n}"})
        reviewer = engine.other(writer)
        assert r.view(reviewer)["your_turn"] and not r.view(writer)["your_turn"]
        assert ("last draft" in r.view(reviewer)["prompt"]) == (n == floor.MAX_DRAFTS)
        r.submit(reviewer, {"agree": "change"})
    assert r.step == "follow_up"
    assert r.view(sp)["prompt"].startswith("No idea agreed yet")
    r.submit(sp, {"follow_up_date": "2026-03-01"})
    assert plans(r) == [{"topic": "Which Sundays we visit", "agreement": None,
                         "follow_up_date": "2026-03-01"}]


# --------------------------------------------------------------------------- around it


def test_the_catalogue_entry_and_the_distress_gate():
    item = next(x for x in engine.exercise_list() if x["key"] == "speaker_listener")
    assert item["title"] == "Speaker and listener" and item["demanding"] and not item["interrupts"]
    assert item["minutes"] == 30 and "flooded" in item["not_when"] and item["summary"]
    assert "PREP" not in repr(item)
    r = Room()
    r.act("pause", "a")
    r.act("pause_check", "a", {"rating": 8, "next": "carry_on"})  # a's latest rating: flooded
    r.act("ready", "b")
    assert r.err("start_exercise", "a", {"exercise": "speaker_listener"}).code == "distress_gate"
    r.act("start_exercise", "a", {"exercise": "speaker_listener", "start_anyway": True})
    assert r.step == "suds_before"


def test_the_time_outs_switch_leads_to_the_floor():
    r = Room()
    r.act("timeout", "a")
    r.tick(20)
    r.act("timer", None)
    r.submit("a", {"ready": True})
    r.submit("b", {"ready": True})
    assert r.step == "next_step"
    choice = field(r.view("b"), "choice")
    assert choice["labels"]["switch"] == "Talk it through: speaker and listener"
    assert "taking turns to speak and listen" in r.view("b")["prompt"]
    r.submit("a", {"choice": "switch"})
    r.submit("b", {"choice": "switch"})
    chosen = [e for e in r.events if e["type"] == "next_step_chosen"][-1]["data"]
    assert chosen == {"choice": "switch", "choices": {"a": "switch", "b": "switch"}}
    assert r.step == "suds_after"
    r.suds()
    run = r.state["run"]
    assert run["exercise"] == "speaker_listener" and r.step == "suds_before" and run["started_by"] is None
    assert r.types()[-3:] == ["exercise_completed", "exercise_started", "step_started"]
    # And it runs as if started from the list.
    r.suds()
    r.submit("b", {"first": "me"})
    assert r.step == "topic" and r.view("b")["your_turn"]


def test_a_time_out_in_the_middle_of_the_floor_resumes_it_at_the_same_step():
    r = Room()
    sp = start_floor(r)
    r.submit(sp, {"piece": "I feel stretched thin"})
    assert r.step == "paraphrase"
    r.act("timeout", sp)
    r.tick(20)
    r.act("timer", None)
    r.submit("a", {"ready": True})
    r.submit("b", {"ready": True})
    r.submit("a", {"choice": "resume"})
    r.submit("b", {"choice": "resume"})
    for who, data in ((sp, {"part": "x", "differently": "y"}),
                      (engine.other(sp), {"part": "x", "differently": "y"}),
                      (sp, {"feel": "calmer", "about": "x", "need": "y"}),
                      (engine.other(sp), {"acknowledgement": "z"})):
        r.submit(who, data)
    r.suds()
    assert r.state["run"]["exercise"] == "speaker_listener" and r.step == "paraphrase"
    r.submit(engine.other(sp), {"paraphrase": "You feel stretched thin"})
    assert r.step == "confirm"


@pytest.mark.parametrize("step", ["topic", "piece", "paraphrase", "confirm", "more", "after_floor",
                                  "agenda", "brainstorm", "agree", "plan", "follow_up"])
def test_every_step_has_a_title_and_a_prompt_for_whoever_acts(step):
    ex = engine.EXERCISES["speaker_listener"]
    s = ex.step(step)
    assert s.title and s.schema is not None and engine.describe(s.schema)
    assert "PREP" not in repr(engine.describe(s.schema))


def test_replay_of_a_whole_floor_is_deterministic():
    r = Room()
    sp = start_floor(r)
    both_held_the_floor(r, sp)
    r.submit(sp, {"choice": "finish"})
    r.submit(engine.other(sp), {"choice": "finish"})
    r.suds()
    again = engine.replay(r.actions)
    assert again.state == r.state and again.events == r.events
