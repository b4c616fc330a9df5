"""A session stored by an older version reads in the current shape (state.upgrade)."""
import datetime as dt

from couples.exercises import engine

NOW = dt.datetime(2026, 12, 6, 18, 0, tzinfo=dt.timezone.utc)


def stored_v2(run):
    state = engine.new_state()
    state.update(v=2, phase="exercise", safety={"a": True, "b": True}, run=run, completed={"greeting": 1})
    return state


def old_needs_run(step):
    return {"exercise": "needs", "started_by": "a", "started_at": NOW.isoformat(), "options": {},
            "speaker": "a", "caller": None, "round": 1, "data": {}, "visits": {step: 1},
            "answers": {}, "step": step, "step_id": 4, "deadline_at": None, "interrupted": None}


def test_an_exercise_stored_at_a_step_that_no_longer_exists_is_set_aside():
    old = stored_v2(old_needs_run("statement"))  # the needs request's one-form statement, before v3
    view = engine.view(old, "a", NOW)  # never an error for a couple opening an old session
    assert view["phase"] == "ready" and view["can_start"]
    r = engine.apply(old, engine.Action("start_exercise", "a", {"exercise": "greeting"}, NOW))
    assert r.state["v"] == engine.STATE_VERSION and r.state["run"]["exercise"] == "greeting"
    assert r.state["completed"] == {"greeting": 1}
    assert old["run"]["step"] == "statement"  # the stored state itself is never changed


def test_an_exercise_at_a_step_that_still_exists_goes_on():
    old = stored_v2(old_needs_run("mirror"))
    assert engine.view(old, "b", NOW)["step"] == "mirror"


def test_the_timer_of_a_run_set_aside_is_gone():
    """The sweeper clears a row's deadline from engine.deadline: it must not keep an old one."""
    run = old_needs_run("statement")
    run["deadline_at"] = NOW.isoformat()
    assert engine.deadline(stored_v2(run)) is None
