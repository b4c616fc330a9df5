"""The needs request (couples/exercises/needs.py), step by step and branch by branch, on the pure
engine: NVC's four parts, the gentle hints, the mirror with "Is there more?", validation, the
answer, the mirrored no, and the outcome with its follow-up date."""
import pytest

from couples.exercises import engine, needs
from couples.exercises.needs_list import ABSOLUTE, DEMAND, JUDGEMENT, NEEDS, STRATEGY
from test_engine import MIRROR, STATEMENT, Room, needs_round_yes, say_request, start_needs

VALIDATE = {"makes_sense": "It makes sense that you're tired, because you cooked",
            "imagine": "I imagine you feel alone with it"}


def outcomes(r):
    return [e["data"] for e in r.events if e["type"] == "needs_outcome"]


def field(view, name):
    return next(f for f in view["input"] if f["name"] == name)


def to_check(r, sp):
    say_request(r, sp)
    r.submit(engine.other(sp), MIRROR)
    assert r.step == "check"


def to_answer(r, sp):
    to_check(r, sp)
    r.submit(sp, {"verdict": "accurate"})
    r.submit(engine.other(sp), VALIDATE)
    assert r.step == "answer"


# --------------------------------------------------------------------------- the four parts


def test_the_statement_is_four_steps_one_part_each_with_its_own_help():
    r = Room()
    sp = start_needs(r)
    li = engine.other(sp)
    prompts = set()
    for part, kind, title in [("observation", "text", "What happened"), ("feeling", "feeling", "How I felt"),
                              ("need", "need", "What I need"), ("request", "text", "My request")]:
        assert r.step == part
        vs, vl = r.view(sp), r.view(li)
        assert vs["your_turn"] and vs["step_title"] == title
        assert [(f["name"], f["kind"]) for f in vs["input"]] == [(part, kind)]
        assert not vl["your_turn"] and vl["input"] is None and vl["prompt"] == needs.SPEAKER_WAIT
        assert r.submit_err(li, {part: STATEMENT[part]}).code == "not_your_turn"
        assert r.submit_err(sp, {}).code == "invalid_input"
        prompts.add(vs["prompt"])
        r.submit(sp, {part: STATEMENT[part]})
    assert len(prompts) == 4 and r.step == "mirror"
    said = [e["data"]["data"] for e in r.events if e["type"] == "step_submitted"][-4:]
    assert said == [{p: STATEMENT[p]} for p in needs.PARTS]


def test_a_need_is_chosen_from_our_list_or_written_in_ones_own_words():
    assert 20 <= len(NEEDS) <= 30 and len(set(NEEDS)) == len(NEEDS)
    r = Room()
    sp = start_needs(r)
    for part in ("observation", "feeling"):
        r.submit(sp, {part: STATEMENT[part]})
    need = field(r.view(sp), "need")
    assert need["options"] == list(NEEDS) and need["required"] and need["max_length"] == 80
    assert r.submit_err(sp, {"need": "x" * 81}).code == "invalid_input"
    assert r.submit_err(sp, {"need": "rest\u202e"}).code == "invalid_input"  # no invisible characters
    r.submit(sp, {"need": "to feel we're a team"})  # an own word is fine
    assert r.state["run"]["data"]["need"] == {"need": "to feel we're a team"}


def test_the_feelings_offered_are_feelings_not_judgements():
    from couples.exercises.feelings import FEELINGS
    assert not set(FEELINGS) & set(JUDGEMENT["words"])


# --------------------------------------------------------------------------- gentle hints


def test_describe_carries_the_hints_of_each_part():
    ex = engine.EXERCISES["needs"]
    hints = {name: engine.describe(ex.step(name).schema)[0].get("hints") for name in needs.PARTS}
    assert hints["feeling"][0] == JUDGEMENT
    assert DEMAND in hints["request"] and ABSOLUTE in hints["request"]
    assert ABSOLUTE in hints["observation"]
    assert hints["need"] == [STRATEGY]
    for rules in hints.values():  # plain JSON for the room: words and a sentence
        for rule in rules:
            assert set(rule) == {"words", "hint"} and rule["words"] and rule["hint"]
    # Fields without rules carry none.
    assert all("hints" not in f for f in engine.describe(ex.step("answer").schema))


@pytest.mark.parametrize("part,text,rules", [
    ("feeling", "ignored", [JUDGEMENT]),
    ("feeling", "Misunderstood", [JUDGEMENT]),
    ("feeling", "taken for granted", [JUDGEMENT]),
    ("feeling", "that you don't care", ["about"]),
    ("feeling", "lonely", []),
    ("feeling", "unused", []),  # whole words only
    ("observation", "You ALWAYS leave the dishes", [ABSOLUTE]),
    ("observation", "On Tuesday the dishes stayed in the sink", []),
    ("observation", "The hallways were never lit", [ABSOLUTE]),
    ("request", "You have to wash up", [DEMAND]),
    ("request", "you\u2019d better wash up, every time", [ABSOLUTE, DEMAND]),
    ("request", "Would you be willing to wash up on Tuesdays?", []),
    ("request", "You should know I have to work", [DEMAND]),
    ("request", "I have to ask: could you help?", []),
    ("need", "I need you to listen", [STRATEGY]),
    ("need", "closeness", []),
])
def test_hints_for_matches_whole_words_and_phrases(part, text, rules):
    described = engine.describe(engine.EXERCISES["needs"].step(part).schema)[0]
    wanted = [needs.ABOUT_THE_PARTNER["hint"] if r == "about" else r["hint"] for r in rules]
    assert engine.hints_for(described, text) == wanted
    # The same rules from the field itself (what the transcript could use).
    declared = engine.EXERCISES["needs"].step(part).schema._declared_fields[part]
    assert engine.hints_for(declared, text) == wanted


def test_a_hint_is_never_a_refusal():
    r = Room()
    sp = start_needs(r)
    r.submit(sp, {"observation": "You never help, you always leave it"})
    r.submit(sp, {"feeling": "ignored"})
    r.submit(sp, {"need": "I need you to help"})
    r.submit(sp, {"request": "You must do the dishes"})
    assert r.step == "mirror"


# --------------------------------------------------------------------------- the mirror


def test_the_mirror_asks_for_what_was_heard_the_feeling_and_the_need():
    r = Room()
    sp = start_needs(r)
    li = engine.other(sp)
    say_request(r, sp)
    v = r.view(li)
    assert [(f["name"], f["kind"], f["required"]) for f in v["input"]] == [
        ("mirror", "text", True), ("feeling", "feeling", True), ("need", "need", True)]
    assert "feeling" in field(v, "feeling")["label"].lower() and field(v, "need")["options"]
    assert "how your partner felt" in v["prompt"] and "what they need" in v["prompt"]
    e = r.submit_err(li, {"mirror": "You want help"})
    assert e.code == "invalid_input" and set(e.fields) == {"feeling", "need"}
    r.submit(li, MIRROR)
    check = r.view(sp)
    verdict = field(check, "verdict")
    assert verdict["options"] == ["accurate", "more", "clarify"]
    assert verdict["labels"] == {"accurate": "Yes, that's it", "more": "There's more",
                                 "clarify": "Let me clarify"}
    assert "Is there more" in check["prompt"]


@pytest.mark.parametrize("verdict,said", [("more", "Your partner added more."),
                                          ("clarify", "Your partner clarified.")])
def test_more_and_clarify_each_need_words_and_go_back_to_the_mirror(verdict, said):
    r = Room()
    sp = start_needs(r)
    li = engine.other(sp)
    to_check(r, sp)
    e = r.submit_err(sp, {"verdict": verdict})
    assert e.code == "invalid_input" and "clarification" in e.fields
    r.submit(sp, {"verdict": verdict, "clarification": "And it was the third night"})
    assert r.step == "mirror" and r.view(li)["prompt"].startswith(said)
    r.submit(li, {**MIRROR, "mirror": "Three nights in a row, and you want help"})
    r.submit(sp, {"verdict": "accurate"})
    assert r.step == "validate"


def test_there_is_more_is_bounded_then_the_mirror_stands():
    r = Room()
    sp = start_needs(r)
    li = engine.other(sp)
    to_check(r, sp)
    for i in range(needs.MAX_LOOPS):
        assert "last mirror" not in r.view(sp)["prompt"]
        r.submit(sp, {"verdict": "more", "clarification": f"more {i}"})
        assert r.step == "mirror"
        r.submit(li, MIRROR)
    assert r.state["run"]["visits"]["mirror"] == needs.MAX_LOOPS + 1
    assert "last mirror" in r.view(sp)["prompt"]
    r.submit(sp, {"verdict": "more", "clarification": "one more thing"})
    assert r.step == "validate"  # no fifth mirror: on to the validation
    r.submit(li, VALIDATE)
    r.submit(li, {"answer": "yes"})
    r.submit(sp, {})
    assert outcomes(r)[-1]["outcome"] == "agreed"


def test_clarify_is_bounded_then_the_request_is_to_revisit():
    r = Room()
    sp = start_needs(r)
    li = engine.other(sp)
    say_request(r, sp)
    assert r.submit_err(sp, {"verdict": "clarify"}, step="check").code == "stale_step"
    for i in range(needs.MAX_LOOPS):
        r.submit(li, {**MIRROR, "mirror": f"try {i}"})
        r.submit(sp, {"verdict": "clarify" if i % 2 else "more", "clarification": "It's about weekdays"})
        assert r.step == "mirror"  # more and clarify share the bound
    r.submit(li, MIRROR)
    r.submit(sp, {"verdict": "clarify", "clarification": "still not it"})
    assert r.step == "follow_up"
    r.submit(li, {"follow_up_date": "2026-03-05"})
    out = outcomes(r)[-1]
    assert out["outcome"] == "to_revisit" and out["agreement"] is None
    assert out["follow_up_date"] == "2026-03-05"
    r.submit(sp, {"choice": "finish"})
    r.submit(li, {"choice": "finish"})
    assert r.step == "suds_after"


# --------------------------------------------------------------------------- validate, answer


def test_an_accurate_mirror_is_followed_by_the_listeners_validation_before_the_answer():
    r = Room()
    sp = start_needs(r)
    li = engine.other(sp)
    to_check(r, sp)
    r.submit(sp, {"verdict": "accurate"})
    assert r.step == "validate"
    v = r.view(li)
    assert v["your_turn"] and not r.view(sp)["your_turn"]
    assert [(f["name"], f["required"]) for f in v["input"]] == [("makes_sense", True), ("imagine", True)]
    assert "It makes sense that" in v["prompt"] and "I imagine you feel" in v["prompt"]
    assert r.submit_err(sp, VALIDATE).code == "not_your_turn"
    e = r.submit_err(li, {"makes_sense": "It makes sense"})
    assert e.code == "invalid_input" and set(e.fields) == {"imagine"}
    r.submit(li, VALIDATE)
    assert r.step == "answer"


def test_after_a_no_the_speaker_mirrors_the_reason_before_the_round_ends():
    r = Room()
    sp = start_needs(r)
    li = engine.other(sp)
    to_answer(r, sp)
    assert r.submit_err(li, {"answer": "no"}).code == "invalid_input"
    r.submit(li, {"answer": "no", "reason": "That week is full for me, I'm sorry"})
    assert r.step == "mirror_reason" and not outcomes(r)
    v = r.view(sp)
    assert v["your_turn"] and [f["name"] for f in v["input"]] == ["heard"]
    assert "can't because" in field(v, "heard")["label"]
    assert r.submit_err(li, {"heard": "x"}).code == "not_your_turn"
    assert r.submit_err(sp, {}).code == "invalid_input"
    r.submit(sp, {"heard": "What I heard is that you can't because your week is full"})
    assert r.step == "follow_up"
    r.submit(li, {})
    out = outcomes(r)[-1]
    assert out["outcome"] == "declined" and out["agreement"] is None
    assert "follow_up_date" in out and out["follow_up_date"] is None


def test_an_alternative_accepted_and_a_no_after_answering_one():
    r = Room()
    sp = start_needs(r)
    li = engine.other(sp)
    to_answer(r, sp)
    e = r.submit_err(li, {"answer": "alternative"})
    assert e.code == "invalid_input" and "alternative" in e.fields
    r.submit(li, {"answer": "alternative", "alternative": "Mondays and Thursdays"})
    assert r.step == "respond"
    r.submit(sp, {"response": "accept"})
    r.submit(sp, {"follow_up_date": "2026-03-08"})
    out = outcomes(r)[-1]
    assert out == {"round": 1, "speaker": sp, "request": STATEMENT, "outcome": "agreed",
                   "agreement": "Mondays and Thursdays", "follow_up_date": "2026-03-08"}
    r.submit(li, {"choice": "swap"})
    r.submit(sp, {"choice": "swap"})
    sp, li = li, sp
    to_answer(r, sp)
    r.submit(li, {"answer": "alternative", "alternative": "Sundays"})
    r.submit(sp, {"response": "answer", "text": "Sundays are my mother's"})
    assert r.step == "answer"
    r.submit(li, {"answer": "no", "reason": "Then I can't this month"})
    assert r.step == "mirror_reason"  # a no after an alternative is mirrored too
    r.submit(sp, {"heard": "You can't this month"})
    r.submit(li, {})
    assert outcomes(r)[-1]["outcome"] == "declined"
    assert r.step == "suds_after"  # round 2: no second swap offer


def test_answering_alternatives_is_bounded_then_to_revisit():
    r = Room()
    sp = start_needs(r)
    li = engine.other(sp)
    to_answer(r, sp)
    for i in range(needs.MAX_LOOPS):
        assert r.step == "answer"
        r.submit(li, {"answer": "alternative", "alternative": f"offer {i}"})
        assert r.submit_err(sp, {"response": "answer"}).code == "invalid_input"
        r.submit(sp, {"response": "answer", "text": "not quite"})
    assert r.step == "follow_up"
    r.submit(sp, {})
    assert outcomes(r)[-1]["outcome"] == "to_revisit"


# --------------------------------------------------------------------------- outcome, follow-up


@pytest.mark.parametrize("first", ["me", "partner"])
def test_two_rounds_each_record_an_outcome_with_its_follow_up_date(first):
    r = Room()
    sp = start_needs(r, first)
    assert sp == ("a" if first == "me" else "b")
    needs_round_yes(r, sp)
    r.submit(sp, {"follow_up_date": "2026-03-08"})
    out = outcomes(r)[-1]
    assert out == {"round": 1, "speaker": sp, "request": STATEMENT, "outcome": "agreed",
                   "agreement": STATEMENT["request"], "follow_up_date": "2026-03-08"}
    assert r.step == "offer_swap"
    r.submit(engine.other(sp), {"choice": "swap"})
    assert r.step == "offer_swap"  # one partner alone never commits both to another round
    r.submit(sp, {"choice": "swap"})
    assert r.state["run"]["round"] == 2 and r.state["run"]["speaker"] == engine.other(sp)
    assert r.step == "observation"
    needs_round_yes(r, engine.other(sp))
    r.submit("a", {})
    assert r.step == "suds_after"
    r.suds(value=1)
    assert r.state["phase"] == "ready"
    assert [(o["round"], o["follow_up_date"]) for o in outcomes(r)] == [(1, "2026-03-08"), (2, None)]
    # Everyone sees the outcome: the between-session check-in reads it for both partners.
    assert all(e["audience"] == engine.EVERYONE for e in r.events if e["type"] == "needs_outcome")


def test_follow_up_date_bounds():
    r = Room()
    sp = start_needs(r)
    needs_round_yes(r, sp)
    assert field(r.view(sp), "follow_up_date") == {
        "name": "follow_up_date", "kind": "date", "label": "Day to check how it went (optional)",
        "required": False}
    for bad in ["2026-02-28", "2027-03-02", "2026-3-8", "tomorrow", 20260308, "2026-02-30"]:
        e = r.submit_err(sp, {"follow_up_date": bad})
        assert e.code == "invalid_input" and "follow_up_date" in e.fields, bad
    r.submit(sp, {"follow_up_date": "2026-03-01"})
    assert outcomes(r)[-1]["follow_up_date"] == "2026-03-01"


# --------------------------------------------------------------------------- who decides


@pytest.mark.parametrize("choices", [("swap", "finish"), ("finish", "swap"), ("finish", "finish")])
def test_another_round_only_when_both_choose_it(choices):
    r = Room()
    sp = start_needs(r)
    needs_round_yes(r, sp)
    r.submit(sp, {})
    assert r.step == "offer_swap"
    v = r.view(sp)
    assert v["your_turn"] and v["waiting_for"] == ["a", "b"] and v["either"] is False
    assert "only if you both want to" in v["prompt"]
    first, second = sp, engine.other(sp)
    r.submit(first, {"choice": choices[0]})
    assert r.step == "offer_swap" and r.view(first)["waiting_for"] == [second]
    assert r.view(first)["prompt"] == ("Thank you. Waiting for your partner's choice: you swap "
                                       "only if you both want to.")
    assert r.submit_err(first, {"choice": "swap"}).code == "not_your_turn"
    r.submit(second, {"choice": choices[1]})
    assert r.step == "suds_after" and r.state["run"]["round"] == 1


def test_the_view_says_which_steps_either_partner_answers_for_both():
    r = Room()
    sp = start_needs(r)
    needs_round_yes(r, sp)
    assert r.step == "follow_up"
    for seat in ("a", "b"):
        v = r.view(seat)
        assert v["either"] is True and v["your_turn"] and v["waiting_for"] == ["a", "b"]
    assert r.view("therapist")["either"] is True
    r.submit(engine.other(sp), {})
    assert r.step == "offer_swap" and r.view(sp)["either"] is False


def test_the_view_numbers_each_step_in_the_exercises_declared_order():
    r = Room()
    r.act("start_exercise", "a", {"exercise": "needs"})
    order = engine.EXERCISES["needs"].order
    assert order[:3] == ("suds_before", "choose_speaker", "observation")
    assert order[-1] == "suds_after" and len(order) == 15
    v = r.view("b")
    assert (v["step"], v["step_number"], v["step_count"]) == ("suds_before", 1, 15)
    r.suds()
    r.submit("a", {"first": "me"})
    assert (r.view("therapist")["step_number"], r.view("a")["step_count"]) == (3, 15)
    r.act("end", "a", {})
    assert r.view("a")["step_number"] is None and r.view("a")["step_count"] is None


def test_feeling_and_need_fields_name_a_few_common_words_to_show_first():
    r = Room()
    sp = start_needs(r)
    say_request(r, sp)
    fields = {f["name"]: f for f in r.view(engine.other(sp))["input"]}
    for name in ("feeling", "need"):
        common, options = fields[name]["common"], fields[name]["options"]
        assert len(common) == 6 and set(common) < set(options)
    assert "common" not in fields["mirror"]
