"""Mirror, validate, empathise (couples/exercises/dialogue.py), step by step on the pure engine:
the message length, the mirror loop with "Is there more?" until the sender says that is all, the
summary, validation and empathy each confirmed or corrected by the sender, the bounds, and the
role swap."""
import pytest

from couples.exercises import dialogue, engine
from test_engine import Room

MESSAGE = {"message": "I feel alone when you work late every night"}
MIRROR = {"mirror": "If I got it, you said you feel alone when I work late"}
SUMMARY = {"summary": "Let me see if I got all of it: you feel alone, and you miss our evenings"}
VALIDATE = {"makes_sense": "That makes sense, because we used to eat together"}
EMPATHY = {"feeling": "lonely", "words": "and maybe a bit forgotten"}


def start_dialogue(r, first="me", by="a"):
    r.act("start_exercise", by, {"exercise": "dialogue"})
    r.suds()
    r.submit(by, {"first": first})
    assert r.step == "send"
    return r.state["run"]["speaker"]


def field(view, name):
    return next(f for f in view["input"] if f["name"] == name)


def to_summary(r, sp):
    li = engine.other(sp)
    r.submit(sp, MESSAGE)
    r.submit(li, MIRROR)
    r.submit(sp, {"verdict": "all"})
    assert r.step == "summary"


def round_through(r, sp):
    """One whole round, every check answered "yes"."""
    li = engine.other(sp)
    to_summary(r, sp)
    r.submit(li, SUMMARY)
    r.submit(sp, {"verdict": "yes"})
    r.submit(li, VALIDATE)
    r.submit(sp, {"verdict": "yes"})
    r.submit(li, EMPATHY)
    r.submit(sp, {"verdict": "yes"})


# --------------------------------------------------------------------------- sending, mirroring


def test_the_sender_speaks_in_short_messages_and_only_the_receiver_mirrors():
    r = Room()
    sp = start_dialogue(r, first="partner", by="a")
    li = engine.other(sp)
    assert sp == "b"
    v = r.view(sp)
    assert v["prompt"].startswith("You are the sender.") and v["step_title"] == "Sending"
    msg = field(v, "message")
    assert msg["max_length"] == dialogue.MESSAGE_LENGTH == 300 and msg["required"]
    assert r.submit_err(li, MESSAGE).code == "not_your_turn"
    e = r.submit_err(sp, {"message": "x" * 301})
    assert e.code == "invalid_input" and set(e.fields) == {"message"}
    assert r.view(li)["prompt"] == dialogue.SEND_WAIT and r.view(li)["input"] is None
    r.submit(sp, {"message": "x" * 300})
    assert r.step == "mirror"
    v = r.view(li)
    assert "If I got it, you said" in v["prompt"] and "Did I get it? Is there more?" in v["prompt"]
    assert [f["name"] for f in v["input"]] == ["mirror"] and "If I got it" in v["input"][0]["label"]
    assert r.submit_err(sp, MIRROR).code == "not_your_turn"


def test_the_mirror_loops_until_the_sender_says_that_is_all():
    r = Room()
    sp = start_dialogue(r)
    li = engine.other(sp)
    r.submit(sp, MESSAGE)
    r.submit(li, MIRROR)
    v = r.view(sp)
    assert field(v, "verdict")["labels"] == {"more": "You got it, and there's more",
                                             "not_quite": "Not quite",
                                             "all": "You got it, and that's all"}
    for verdict in ("more", "not_quite"):
        e = r.submit_err(sp, {"verdict": verdict})
        assert e.code == "invalid_input" and set(e.fields) == {"words"}
    assert r.submit_err(sp, {"verdict": "all", "words": "x" * 301}).code == "invalid_input"
    r.submit(sp, {"verdict": "more", "words": "And I miss our dinners"})
    assert r.step == "mirror" and r.view(li)["prompt"].startswith("Your partner said more")
    r.submit(li, {"mirror": "If I got it, you also miss our dinners"})
    r.submit(sp, {"verdict": "not_quite", "words": "Dinners on weekdays, not weekends"})
    assert r.step == "mirror" and r.view(li)["prompt"].startswith("Your partner corrected it")
    r.submit(li, {"mirror": "You miss our weekday dinners"})
    r.submit(sp, {"verdict": "all"})
    assert r.step == "summary" and r.state["run"]["visits"]["mirror"] == 3


def test_the_mirror_loop_is_bounded_then_goes_on_to_the_summary():
    r = Room()
    sp = start_dialogue(r)
    li = engine.other(sp)
    r.submit(sp, MESSAGE)
    for i in range(dialogue.MAX_MIRRORS - 1):
        r.submit(li, {"mirror": f"mirror {i}"})
        assert "last mirror" not in r.view(sp)["prompt"]
        r.submit(sp, {"verdict": "more", "words": f"more {i}"})
        assert r.step == "mirror"
    r.submit(li, {"mirror": "the last mirror"})
    assert "last mirror" in r.view(sp)["prompt"]
    r.submit(sp, {"verdict": "more", "words": "and one more thing"})
    assert r.step == "summary"


# --------------------------------------------------------------------------- summary, validation, empathy


@pytest.mark.parametrize("step,check,data,label,then", [
    ("summary", "summary_check", SUMMARY, "Let me see if I got all of it", "validate"),
    ("validate", "validate_check", VALIDATE, "That makes sense, because", "empathise"),
    ("empathise", "empathise_check", EMPATHY, "I imagine you might be feeling", None),
])
def test_the_sender_confirms_each_of_summary_validation_and_empathy_or_corrects_it(
        step, check, data, label, then):
    r = Room()
    sp = start_dialogue(r)
    li = engine.other(sp)
    to_summary(r, sp)
    for earlier, earlier_data in (("summary", SUMMARY), ("validate", VALIDATE)):
        if earlier == step:
            break
        r.submit(li, earlier_data)
        r.submit(sp, {"verdict": "yes"})
    assert r.step == step
    v = r.view(li)
    assert v["your_turn"] and not r.view(sp)["your_turn"]
    assert label in v["prompt"] and label in v["input"][0]["label"]
    assert r.submit_err(sp, data).code == "not_your_turn"
    r.submit(li, data)
    assert r.step == check
    vs = r.view(sp)
    assert field(vs, "verdict")["options"] == ["yes", "not_quite"]
    e = r.submit_err(sp, {"verdict": "not_quite"})
    assert e.code == "invalid_input" and set(e.fields) == {"correction"}
    r.submit(sp, {"verdict": "not_quite", "correction": "Closer to sad than lonely"})
    assert r.step == step and r.view(li)["prompt"].startswith("Your partner corrected it")
    r.submit(li, data)
    r.submit(sp, {"verdict": "yes"})
    if then:
        assert r.step == then and "corrected" not in r.view(li)["prompt"]
    else:  # empathy confirmed: the roles swap
        assert r.step == "send" and r.state["run"]["speaker"] == li


def test_empathy_is_a_feeling_word_and_optional_words():
    r = Room()
    sp = start_dialogue(r)
    li = engine.other(sp)
    to_summary(r, sp)
    r.submit(li, SUMMARY)
    r.submit(sp, {"verdict": "yes"})
    r.submit(li, VALIDATE)
    r.submit(sp, {"verdict": "yes"})
    v = r.view(li)
    assert [(f["name"], f["kind"], f["required"]) for f in v["input"]] == [
        ("feeling", "feeling", True), ("words", "text", False)]
    assert field(v, "feeling")["options"]  # our feelings list, as suggestions
    assert r.submit_err(li, {"words": "sad"}).code == "invalid_input"
    r.submit(li, {"feeling": "sad"})
    assert r.step == "empathise_check"


def test_each_check_is_bounded_then_the_correction_stands():
    r = Room()
    sp = start_dialogue(r)
    li = engine.other(sp)
    to_summary(r, sp)
    for _ in range(dialogue.MAX_RETRIES):
        r.submit(li, SUMMARY)
        r.submit(sp, {"verdict": "not_quite", "correction": "Not quite"})
        assert r.step == "summary"
    r.submit(li, SUMMARY)
    r.submit(sp, {"verdict": "not_quite", "correction": "Still not, and that is all right"})
    assert r.step == "validate"


# --------------------------------------------------------------------------- the swap


def test_roles_swap_after_the_first_round_and_the_dialogue_ends_after_the_second():
    r = Room()
    sp = start_dialogue(r, first="me", by="b")
    li = engine.other(sp)
    assert sp == "b"
    round_through(r, sp)
    assert [e["data"] for e in r.events if e["type"] == "roles_swapped"] == [
        {"round": 2, "speaker": li, "listener": sp}]
    assert r.step == "send" and r.view(li)["prompt"].startswith("Now the roles swap")
    assert r.submit_err(sp, MESSAGE).code == "not_your_turn"
    round_through(r, li)
    assert r.step == "suds_after"
    r.suds(value=1)
    assert r.state["phase"] == "ready" and r.state["completed"] == {"dialogue": 1}
    senders = [e["actor"] for e in r.events if e["type"] == "step_submitted" and e["data"]["step"] == "send"]
    assert senders == [sp, li]
    again = engine.replay(r.actions)
    assert again.state == r.state and again.events == r.events


def test_the_catalogue_entry():
    item = next(x for x in engine.exercise_list() if x["key"] == "dialogue")
    assert item["title"] == "Mirror, validate, empathise" and item["demanding"]
    assert item["minutes"] == 40 and item["not_when"] and item["summary"]
    assert "Imago" not in repr(item)
    ex = engine.EXERCISES["dialogue"]
    for name in ex._order:
        assert ex.step(name).title
        assert "Imago" not in repr(engine.describe(ex.step(name).schema))


def test_the_receivers_summary_validation_and_empathy_answer_the_senders_words():
    """The room shows the words a step answers: for the receiver's summary, validation and
    empathy, the sender's message, what more they said and their correction (`responds_to`), not
    their last "you got it"; the sender's checks answer the receiver's latest entry (none named)."""
    r = Room()
    sp = start_dialogue(r)
    li = engine.other(sp)
    assert r.view(sp)["responds_to"] == [] and r.view(li)["responds_to"] == []
    to_summary(r, sp)
    for step, answer in (("summary", SUMMARY), ("validate", VALIDATE), ("empathise", EMPATHY)):
        assert r.step == step
        assert r.view(li)["responds_to"] == r.view("therapist")["responds_to"] == ["send", "mirror_check",
                                                                                    f"{step}_check"]
        r.submit(li, answer)
        assert r.view(sp)["responds_to"] == []  # the check answers the receiver's latest words
        r.submit(sp, {"verdict": "yes"})
