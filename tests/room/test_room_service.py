"""The practice service in-process: transactions, idempotency, races, timers, presence, access,
and the HTTP API over it. A fake clock moves time without sleeping."""
import json
import re
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from couples.accounts import service as accounts
from couples.errors import DomainError
from couples.models import Connection
from couples.exercises import engine
from couples.privacy import audit
from couples.review import progress, transcripts
from couples.room import clock as room_clock, entering, log, presence, sessions, store, turns
from couples.extensions import db
from couples.models import (AuditEntry, AuthSession, ClientAction, CoupleMember, PracticeSession,
                            SessionEvent, TherapistLink, User, utcnow)
from support.inprocess import T0, Room, logged_in, user


def greeting_to_end(room, before=({"suds": 3, "connected": 6}, {"suds": 2, "connected": 7}),
                    after=({"suds": 1, "connected": 8}, {"suds": 1, "connected": 9})):
    """A whole greeting ritual; `before` and `after` are (Alice's, Bob's) check-in and check-out."""
    room.ok("alice", "start_exercise", {"exercise": "greeting"})
    room.submit("alice", before[0])
    room.submit("bob", before[1])
    room.submit("alice", {"first": "me"})
    for who, data in (("alice", {"greeting": "Hi love"}), ("bob", {"greeting": "Hello you"}),
                      ("alice", {"day": "Busy"}), ("bob", {"way": "reflect", "words": "A full day"}),
                      ("bob", {"day": "Calm"}), ("alice", {"way": "reflect", "words": "Restful"}),
                      ("alice", {"appreciation": "Your patience"}), ("bob", {"thanks": "Thank you"}),
                      ("bob", {"appreciation": "Your laugh"}), ("alice", {"thanks": "Thanks"}),
                      ("alice", {"decision": "skip"})):
        room.submit(who, data)
    room.submit("alice", after[0])
    return room.submit("bob", after[1])


# --------------------------------------------------------------------------- sessions


def test_start_returns_the_one_active_session(world, ctx):
    first, created = sessions.start_or_get(user(world.alice))
    again, created_again = sessions.start_or_get(user(world.bob))
    assert created and not created_again and again.id == first.id


def test_start_race_loser_gets_the_winners_session(world, ctx, monkeypatch):
    winner, _ = sessions.start_or_get(user(world.alice))
    real = sessions.active_for
    calls = []
    monkeypatch.setattr(sessions, "active_for", lambda cid: None if not calls.append(1) and len(calls) == 1
                        else real(cid))
    loser, created = sessions.start_or_get(user(world.bob))  # inserts, hits UNIQUE, reads the winner
    assert not created and loser.id == winner.id
    assert db.session.scalar(select(func.count()).select_from(PracticeSession)) == 1


def test_start_in_the_same_instant_from_two_threads(app, world):
    barrier, results = threading.Barrier(2), []

    def press(uid):
        with app.app_context():
            barrier.wait()
            results.append(sessions.start_or_get(db.session.get(User, uid))[0].id)

    threads = [threading.Thread(target=press, args=(u,)) for u in (world.alice, world.bob)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert len(results) == 2 and results[0] == results[1]


def test_only_partners_in_a_couple_start(world, ctx):
    with pytest.raises(DomainError) as err:
        sessions.start_or_get(user(world.theo))
    assert err.value.code == "not_a_partner"
    with pytest.raises(DomainError) as err:
        sessions.start_or_get(user(world.eve))
    assert err.value.code == "not_in_couple"


# --------------------------------------------------------------------------- actions


def test_events_get_gap_free_seq_with_the_state(world, ctx):
    room = Room(world)
    room.safe()
    out = room.ok("alice", "start_exercise", {"exercise": "greeting"})
    row = room.row()
    seqs = list(db.session.scalars(select(SessionEvent.seq).where(SessionEvent.session_id == room.sid)
                                   .order_by(SessionEvent.seq)))
    assert seqs == list(range(1, row.last_seq + 1))
    assert row.version == 3 and row.state["run"]["step"] == "suds_before"
    assert out.ack == {"ok": True, "seq": len(log.events_for(row, "a"))}
    assert [e["type"] for e in out.events] == ["exercise_started", "step_started"]


def test_duplicate_client_id_returns_the_original_ack_and_changes_nothing(world, ctx):
    room = Room(world)
    first = room.ok("alice", "safety", {"safe": True}, client_id="same-id-123")
    before = room.row().last_seq
    again = room.act("alice", "safety", {"safe": True}, client_id="same-id-123")
    assert again.ack == {"ok": True, "seq": first.ack["seq"], "duplicate": True}
    assert again.events == [] and room.row().last_seq == before
    assert db.session.scalar(select(func.count()).select_from(ClientAction)) == 1


def test_refusals_carry_the_engines_code_and_fields(world, ctx):
    room = Room(world)
    room.safe()
    room.ok("alice", "start_exercise", {"exercise": "greeting"})
    bad = room.act("alice", "submit", {"suds": 11, "connected": "x"}, step="suds_before")
    assert bad.ack["ok"] is False and bad.ack["error"]["code"] == "invalid_input"
    assert set(bad.ack["error"]["fields"]) == {"suds", "connected"}
    assert room.act("alice", "submit", {"suds": 1, "connected": 1}, step="greet").ack["error"]["code"] == "stale_step"
    assert room.act("bob", "start_exercise", {"exercise": "needs"}).ack["error"]["code"] == "exercise_in_progress"
    assert bad.events == []


def test_a_stale_version_is_retried_and_loses_to_the_winner(app, world, ctx, monkeypatch):
    """Alice's read is overtaken by Bob's commit: her UPDATE matches no row, she retries and
    the engine tells her the step moved on."""
    room = Room(world)
    room.safe()
    room.ok("alice", "start_exercise", {"exercise": "greeting"})
    room.submit("alice", {"suds": 1, "connected": 5})
    room.submit("bob", {"suds": 1, "connected": 5})
    real_load, raced = store._load, []

    def load_then_bob_wins(session_id, *rest):
        row = real_load(session_id, *rest)
        if not raced:
            raced.append(1)
            with app.app_context():  # another request, its own session and connection
                turns.apply(world.bob, session_id, "b", "bob-first-1", "submit",
                            "choose_speaker", {"first": "me"})
        return row

    monkeypatch.setattr(store, "_load", load_then_bob_wins)
    out = room.act("alice", "submit", {"first": "me"}, step="choose_speaker")
    assert out.ack["error"]["code"] == "stale_step"
    assert room.row().state["run"]["speaker"] == "b"


def test_simultaneous_submits_exactly_one_wins(app, world):
    with app.app_context():
        room = Room(world)
        room.safe()
        room.ok("alice", "start_exercise", {"exercise": "greeting"})
        room.submit("alice", {"suds": 1, "connected": 5})
        room.submit("bob", {"suds": 1, "connected": 5})
        sid = room.sid
    barrier, acks = threading.Barrier(2), {}

    def submit(uid, seat):
        with app.app_context():
            barrier.wait()
            acks[seat] = turns.apply(uid, sid, seat, f"choose-{seat}-1",
                                     "submit", "choose_speaker", {"first": "me"}).ack

    threads = [threading.Thread(target=submit, args=a) for a in ((world.alice, "a"), (world.bob, "b"))]
    [t.start() for t in threads]
    [t.join() for t in threads]
    oks = [s for s, a in acks.items() if a["ok"]]
    assert len(oks) == 1
    loser = ({"a", "b"} - set(oks)).pop()
    assert acks[loser]["error"]["code"] in ("stale_step", "not_your_turn")


def test_ending_frees_the_couple_for_a_new_session(world, ctx):
    room = Room(world)
    room.ok("bob", "end", {"reason": "Tired"})
    row = room.row()
    assert row.ended_at is not None and row.active_couple_id is None
    assert room.act("alice", "safety", {"safe": True}).ack["error"]["code"] == "session_ended"
    fresh, created = sessions.start_or_get(user(world.alice))
    assert created and fresh.id != room.sid


# --------------------------------------------------------------------------- privacy


def test_a_no_to_safety_is_never_visible_to_the_other_partner(world, ctx):
    room = Room(world)
    out = room.ok("alice", "safety", {"safe": False})
    assert "b" not in out.views and "therapist" in out.views
    row = room.row()
    assert log.events_for(row, "b") == []
    assert "safety_concern" in [e["type"] for e in log.events_for(row, "therapist")]
    bob = room.ok("bob", "safety", {"safe": True})
    # Bob's own log starts at 1 whatever Alice answered: seq gaps reveal nothing.
    assert bob.ack["seq"] == 2 and [e["seq"] for e in log.events_for(room.row(), "b")] == [1, 2]


def test_a_private_pause_reason_reaches_only_its_author_and_the_therapist(world, ctx, clock):
    room = Room(world)
    room.safe()
    room.ok("alice", "start_exercise", {"exercise": "greeting"})
    room.ok("bob", "pause", {"reason": "I need a minute"})
    row = room.row()
    def types(v):
        return [e["type"] for e in log.events_for(row, v)]
    assert "pause_reason" in types("b") and "pause_reason" in types("therapist")
    assert "pause_reason" not in types("a") and "paused" in types("a")
    assert room.act("alice", "submit", {"suds": 1, "connected": 5}, step="suds_before").ack["error"]["code"] == "paused"
    room.ok("alice", "ready")
    room.ok("bob", "ready")
    room.submit("alice", {"suds": 1, "connected": 5})  # carries on from the same step


# --------------------------------------------------------------------------- timers


def start_break(room, minutes=20):
    """One press starts the break; Bob's longer proposal, logged during it, sets its length."""
    room.safe()
    room.ok("alice", "timeout", {})
    assert room.step() == "break"
    if minutes != 20:
        room.submit("bob", {"minutes": minutes})


def test_the_sweeper_fires_a_due_timer_exactly_once(world, ctx, clock):
    room = Room(world)
    start_break(room)
    assert room.row().deadline_at == T0 + timedelta(minutes=20)
    clock.advance(minutes=19)
    assert turns.due_sessions() == []
    clock.advance(minutes=1, seconds=1)
    assert turns.due_sessions() == [room.sid]
    fired = turns.fire_timer(room.sid)
    assert [e["type"] for e in fired.events][:2] == ["timer_fired", "step_started"]
    assert turns.fire_timer(room.sid) is None and turns.due_sessions() == []
    assert room.step() == "return_check"
    assert sum(e.type == "timer_fired" for e in db.session.scalars(select(SessionEvent))) == 1


def test_a_stale_claim_fires_nothing(world, ctx, clock, monkeypatch):
    room = Room(world)
    start_break(room)
    clock.advance(minutes=21)
    real_write = turns._write

    def someone_else_first(write, *a, **kw):  # another process bumped the version meanwhile
        db.session.execute(update(PracticeSession).where(PracticeSession.id == write.row.id)
                           .values(version=PracticeSession.version + 1),
                           execution_options={"synchronize_session": False})
        return real_write(write, *a, **kw)

    monkeypatch.setattr(turns, "_write", someone_else_first)
    assert turns.fire_timer(room.sid) is None


def test_a_due_timer_fires_before_a_late_action(world, ctx, clock):
    room = Room(world)
    start_break(room)
    clock.advance(minutes=25)
    out = room.act("alice", "submit", {"activity": "walked"}, step="break")
    assert out.ack["error"]["code"] == "stale_step"  # the step had moved on when the timer fired
    assert [e["type"] for e in out.events][:1] == ["timer_fired"]
    # The next deadline is the no-show check, 15 minutes after the late timer moved the step on.
    assert room.step() == "return_check"
    assert room.row().deadline_at == T0 + timedelta(minutes=25 + 15)


def test_the_test_clock_cannot_be_enabled_in_production(app, monkeypatch, tmp_path):
    monkeypatch.setenv("COUPLES_CLOCK_FILE", str(tmp_path / "clock"))
    app.config["ENV_NAME"] = "production"
    with pytest.raises(RuntimeError):
        room_clock.install_test_clock(app)
    app.config["ENV_NAME"] = "development"
    app.config.pop("CLOCK", None)
    room_clock.install_test_clock(app)
    assert "CLOCK" not in app.config
    app.config["ENV_NAME"] = "test"
    (tmp_path / "clock").write_text("3600")
    room_clock.install_test_clock(app)
    assert app.config["CLOCK"]() - utcnow() > timedelta(minutes=59)


def test_a_state_stored_in_the_old_shape_keeps_working_and_is_rewritten_small(world, ctx):
    """Until state v2 the state listed every completed exercise; such rows need no migration."""
    room = Room(world)
    room.safe()
    row = room.row()
    row.state = {**row.state, "v": 1, "completed": ["greeting", "needs"] * 300}
    db.session.commit()
    snap, _ = entering.snapshot(room.row(), "a")
    assert snap["view"]["completed"] == {"greeting": 300, "needs": 300}
    last = greeting_to_end(room)
    state = room.row().state
    assert state["v"] == engine.STATE_VERSION and state["completed"] == {"greeting": 301, "needs": 300}
    assert last.views["b"]["completed"] == {"greeting": 301, "needs": 300}


# --------------------------------------------------------------------------- transcripts


def test_the_transcript_is_a_fold_per_exercise(world, ctx):
    room = Room(world)
    room.safe()
    greeting_to_end(room)
    t = transcripts.transcript(room.row(), "a")
    [seg] = t["exercises"]
    assert seg["exercise"] == "greeting" and seg["status"] == "completed"
    lines = [e["line"] for e in seg["entries"]]
    # Labels, not raw keys: the same answers as the transcript page (review/vocabulary.py).
    assert "Alice (Greeting): Your greeting: Hi love" in lines
    assert "Bob (Check-in): Distress: 2; Connection: 7" in lines
    assert "Alice went first." in lines and lines[-1] == "Exercise completed."
    assert t["session"]["partners"] == {"a": "Alice", "b": "Bob"}


def test_transcript_times_are_utc_time_elements_that_say_so(app, world, clock):
    with app.app_context():
        room = Room(world)
        pid = room.row().public_id
        room.safe()
        clock.advance(minutes=7, seconds=30)
        greeting_to_end(room)
    page = logged_in(app, "alice").get(f"/sessions/{pid}/transcript").get_data(as_text=True)
    start = '<time class="local-time" datetime="2026-03-01T18:00:00Z"'
    assert f'Session of {start} data-local-time="date">1 Mar 2026</time>' in page
    assert f'started {start} data-local-time="time">18:00 UTC</time>' in page
    assert '<time class="local-time" datetime="2026-03-01T18:07:30Z" data-local-time="time">18:07 UTC</time>' in page
    assert '<script type="module" src="/static/js/local-time.js"></script>' in page


def test_practice_history_and_the_progress_picker_say_utc_until_the_browser_localises_them(app, world, clock):
    with app.app_context():
        room = Room(world)
        pid = room.row().public_id
        room.ok("alice", "end")
    alice = logged_in(app, "alice")
    history = alice.get("/practice").get_data(as_text=True)
    assert (f'<a href="/sessions/{pid}/transcript">Session of <time class="local-time" datetime="2026-03-01T18:00:00Z" '
            'data-local-time="datetime">1 Mar 2026, 18:00 UTC</time></a>') in history
    progress = alice.get("/progress").get_data(as_text=True)
    assert (f'<option value="{pid}" data-local-time="datetime" data-datetime="2026-03-01T18:00:00Z">'
            '1 Mar 2026, 18:00 UTC</option>') in progress


# --------------------------------------------------------------------------- progress


def weekly_on_the_progress_page(app, who):
    """The weekly rows as the page's chart reads them, and the page itself."""
    page = logged_in(app, who).get("/progress").get_data(as_text=True)
    found = re.search(r'<script type="application/json" id="progress-data">(.*?)</script>', page, re.S)
    data = json.loads(found.group(1))
    return data["weekly"], page


def test_weekly_progress_keeps_before_and_after_apart(app, world):
    with app.app_context():
        room = Room(world)
        room.safe()
        greeting_to_end(room, before=({"suds": 2, "connected": 3}, {"suds": 6, "connected": 5}),
                        after=({"suds": 8, "connected": 7}, {"suds": 4, "connected": 5}))
    [week], page = weekly_on_the_progress_page(app, "alice")
    assert week["week"] == "2026-02-23" and week["done"] == 1
    assert week["suds"]["a"] == {"before": 2.0, "after": 8.0, "change": 6.0, "count": 1}  # not 5, their mean
    assert week["suds"]["b"] == {"before": 6.0, "after": 4.0, "change": -2.0, "count": 1}
    assert week["connected"]["a"] == {"before": 3.0, "after": 7.0, "change": 4.0, "count": 1}
    assert week["connected"]["b"] == {"before": 5.0, "after": 5.0, "change": 0.0, "count": 1}
    distress = page[page.index('id="distress-title"'):page.index('id="connection-title"')]
    assert "<th scope=\"col\"><bdi>Alice</bdi>, before</th><th scope=\"col\"><bdi>Alice</bdi>, after</th>" in distress
    cells = re.findall(r"<td>([^<]*)</td>", distress)
    assert cells == ["2.0", "8.0", "+6.0", "6.0", "4.0", "-2.0"] and "5.0" not in cells
    therapist_view = logged_in(app, "theo").get(f"/therapist/couples/{world.couple_id}").get_data(as_text=True)
    assert "+6.0" in therapist_view


def test_weekly_before_and_after_compare_the_same_finished_exercises(app, world, clock):
    with app.app_context():
        room = Room(world)
        room.safe()
        greeting_to_end(room, before=({"suds": 2, "connected": 3}, {"suds": 2, "connected": 3}),
                        after=({"suds": 4, "connected": 5}, {"suds": 4, "connected": 5}))
        clock.advance(days=1)  # into the week of 2 March
        room.ok("alice", "start_exercise", {"exercise": "greeting"})
        room.submit("alice", {"suds": 9, "connected": 1})  # a check-in whose exercise is never finished
        room.ok("bob", "end")
    weekly, _ = weekly_on_the_progress_page(app, "bob")
    assert [w["week"] for w in weekly] == ["2026-02-23"]
    assert weekly[0]["suds"]["a"] == {"before": 2.0, "after": 4.0, "change": 2.0, "count": 1}


def test_pairs_are_per_partner_exercise_and_measure():
    def r(seat, exercise, phase, value, measure="suds"):
        return {"seat": seat, "exercise": exercise, "phase": phase, "value": value, "measure": measure}
    ratings = [r("a", "needs", "before", 7), r("b", "needs", "before", 5),
               r("a", "timeout", "after", 3),                      # a time-out has no check-in
               r("a", "needs", "after", 4), r("b", "needs", "after", 6),
               r("a", "greeting", "before", 1), r("a", "greeting", "before", 2),  # set aside, started again
               r("a", "greeting", "after", 2), r("a", "greeting", None, 9, "arousal")]
    pairs = [(b["seat"], b["exercise"], b["value"], a["value"]) for b, a in progress.before_after_pairs(ratings)]
    assert pairs == [("a", "needs", 7, 4), ("b", "needs", 5, 6), ("a", "greeting", 2, 2)]


# --------------------------------------------------------------------------- presence


def test_presence_counts_devices_and_ignores_expired_leases(world, ctx, app):
    room = Room(world)
    row = room.row()
    for sid, who, role in (("s1", world.alice, "a"), ("s2", world.alice, "a"), ("s3", world.theo, "therapist")):
        login = db.session.scalar(select(AuthSession).where(AuthSession.user_id == who))
        presence.open_connection(sid, user(who), login.id, "proc-1")
        presence.enter(sid, row, role)
    assert presence.presence(room.sid) == {"a": {"online": True, "devices": 2},
                                           "b": {"online": False, "devices": 0},
                                           "therapist": {"observing": True, "devices": 1}}
    db.session.execute(update(Connection).where(Connection.sid == "s3")
                       .values(last_seen_at=utcnow() - timedelta(hours=1)))
    db.session.commit()
    assert presence.presence(room.sid)["therapist"]["observing"] is False
    assert presence.purge_stale() == {room.sid}
    assert presence.close_connection("s1") == room.sid
    assert presence.presence(room.sid)["a"]["devices"] == 1


def test_lost_logins_and_roles_are_found(world, ctx):
    room = Room(world)
    row = room.row()
    for sid, who, role in (("sa", world.alice, "a"), ("sb", world.bob, "b"), ("st", world.theo, "therapist")):
        login = db.session.scalar(select(AuthSession).where(AuthSession.user_id == who))
        presence.open_connection(sid, user(who), login.id, "proc-1")
        presence.enter(sid, row, role)
    assert presence.lost_connections("proc-1") == []
    accounts.end_login(world.tokens["alice"], "token")
    link = db.session.scalar(select(TherapistLink))
    link.revoked_at, link.live_key = utcnow(), None
    member = db.session.scalar(select(CoupleMember).where(CoupleMember.user_id == world.bob))
    member.active_user_id, member.left_at = None, utcnow()
    db.session.commit()
    assert sorted(presence.lost_connections("proc-1")) == [
        ("sa", "logged_out"), ("sb", "access_revoked"), ("st", "access_revoked")]
    assert presence.lost_connections("another-process") == []


# --------------------------------------------------------------------------- the HTTP API


def bearer(world, who):
    return {"Authorization": f"Bearer {world.tokens[who]}"}


def test_api_start_get_list_events_and_transcript(app, world, client):
    started = client.post("/api/v1/sessions", headers=bearer(world, "alice"))
    assert started.status_code == 201
    pid = started.get_json()["session"]["id"]
    again = client.post("/api/v1/sessions", headers=bearer(world, "bob"))
    assert again.status_code == 200 and again.get_json()["session"]["id"] == pid
    assert client.post("/api/v1/sessions", json={"couple": 1}, headers=bearer(world, "bob")).status_code == 422
    with app.app_context():
        room = Room(world)
        room.safe()
        greeting_to_end(room)
    got = client.get(f"/api/v1/sessions/{pid}", headers=bearer(world, "bob")).get_json()
    assert got["session"]["role"] == "b" and got["view"]["phase"] == "ready"
    listed = client.get("/api/v1/sessions", headers=bearer(world, "theo")).get_json()["sessions"]
    assert [s["id"] for s in listed] == [pid]
    page1 = client.get(f"/api/v1/sessions/{pid}/events?limit=5", headers=bearer(world, "alice")).get_json()
    assert [e["seq"] for e in page1["events"]] == [1, 2, 3, 4, 5] and page1["next_after"] == 5
    page2 = client.get(f"/api/v1/sessions/{pid}/events?after=5&limit=500", headers=bearer(world, "alice")).get_json()
    assert page2["events"][0]["seq"] == 6 and page2["next_after"] is None
    assert client.get(f"/api/v1/sessions/{pid}/events?limit=0", headers=bearer(world, "alice")).status_code == 422
    transcript = client.get(f"/api/v1/sessions/{pid}/transcript", headers=bearer(world, "theo"))
    assert transcript.status_code == 200 and transcript.get_json()["exercises"][0]["status"] == "completed"
    with app.app_context():
        actions = [a.action for a in db.session.scalars(select(AuditEntry))]
        assert "transcript_read" in actions and audit.verify()


def test_api_refuses_outsiders_and_anonymous(app, world, client):
    pid = client.post("/api/v1/sessions", headers=bearer(world, "alice")).get_json()["session"]["id"]
    for path in (f"/api/v1/sessions/{pid}", f"/api/v1/sessions/{pid}/events", f"/api/v1/sessions/{pid}/transcript",
                 "/api/v1/sessions/doesnotexist"):
        resp = client.get(path, headers=bearer(world, "eve"))
        assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "forbidden"
    assert client.get(f"/api/v1/sessions/{pid}").status_code == 401
    assert client.get("/api/v1/sessions", headers=bearer(world, "eve")).get_json() == {"sessions": []}


def test_leaving_the_couple_ends_its_live_session_with_a_logged_end(world, ctx):
    from couples.pairing import service as pairing
    room = Room(world)
    pairing.leave(user(world.bob))
    session = db.session.get(PracticeSession, room.sid)
    assert session.ended_at is not None and session.active_couple_id is None
    types = db.session.scalars(select(SessionEvent.type).where(SessionEvent.session_id == room.sid)
                               .order_by(SessionEvent.seq)).all()
    assert types[-1] == "session_ended"
    # the remaining partner can still read it as history, and can start afresh only in a new couple
    assert sessions.role_in(user(world.alice), session, live=False) == "a"
