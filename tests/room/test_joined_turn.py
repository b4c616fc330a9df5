"""A joined partner's turn in one statement (turns._joined_turn, PostgreSQL): the write itself
re-checks the socket's access, so whatever would refuse the usual two-statement turn refuses
this one too, with nothing written; a stale copy of the session only costs a retry. On SQLite
the same stories hold through the usual path (the statement counts are PostgreSQL's)."""
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select, update

from couples.perf import memory
from couples.perf.prepared import Prepared
from couples.room import turns
from couples.extensions import db, socketio
from couples.models import AuthSession, ClientAction, CoupleMember, PracticeSession, SessionEvent, User, utcnow
from support.inprocess import cookie_client, seed_world, start_session


# Who may receive the turn is read by the write's own statement (room/store.py): no statement more.
AUDIENCE = 0


@pytest.fixture
def room(app, monkeypatch):
    """Alice and Bob joined from their own sockets, Theo observing; the safety check done, so
    the greeting can start. `room.turn(who, kind, data)` returns the ack and how many SQL
    statements the turn took."""
    world = seed_world(app)
    pid = start_session(app, world)
    socks = {name: socketio.test_client(app, auth={"token": world.tokens[name]}) for name in ("alice", "bob", "theo")}
    for sock in socks.values():
        assert sock.emit("join", {"session_id": pid, "last_seq": 0}, callback=True)["ok"]
    statements = []  # through SQLAlchemy, and straight through the driver (Prepared.run_alone)
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
        postgresql = db.engine.dialect.name == "postgresql"
    run_alone = Prepared.run_alone
    monkeypatch.setattr(Prepared, "run_alone",
                        lambda self, *args, **kw: statements.append(self.name) or run_alone(self, *args, **kw))
    counter = iter(range(1, 10_000))

    def turn(who, kind, data=None, step=None, client_id=None):
        statements.clear()
        ack = socks[who].emit("action", {"session_id": pid, "id": client_id or f"turn-{next(counter):04d}",
                                         "kind": kind, "step": step, "data": data or {}}, callback=True)
        return ack, len(statements)

    r = type("Room", (), {})()
    r.world, r.pid, r.socks, r.turn, r.postgresql = world, pid, socks, turn, postgresql
    r.statements = statements
    for who in ("alice", "bob"):
        assert turn(who, "safety", {"safe": True})[0]["ok"]
    for sock in socks.values():
        sock.get_received()
    return r


def stored(app, pid):
    with app.app_context():
        session = db.session.scalar(select(PracticeSession).where(PracticeSession.public_id == pid))
        return session.version, db.session.scalar(select(func.count()).select_from(SessionEvent).where(
            SessionEvent.session_id == session.id))


def change(app, statement):
    with app.app_context():
        db.session.execute(statement)
        db.session.commit()


def test_a_turn_is_one_statement_and_reaches_the_partner_and_the_observer(app, room):
    ack, statements = room.turn("alice", "start_exercise", {"exercise": "greeting"})
    assert ack["ok"] and ack["seq"] > 0
    if room.postgresql:
        assert statements == 1 + AUDIENCE
    for who in ("bob", "theo"):
        updates = [m["args"][0] for m in room.socks[who].get_received() if m["name"] == "update"]
        assert [e["type"] for e in updates[-1]["events"]][:1] == ["exercise_started"]
        assert updates[-1]["view"]["exercise"] == "greeting"


CHECK_IN = {"suds": 3, "connected": 6}


def test_a_write_from_another_process_costs_a_retry_not_the_turn(app, room):
    assert room.turn("alice", "start_exercise", {"exercise": "greeting"})[0]["ok"]
    with app.app_context():  # Bob's check-in through another process: this one's memory is left behind
        session = db.session.scalar(select(PracticeSession).where(PracticeSession.public_id == room.pid))
        rows = memory.memory().rows
        behind = rows.get(session.id)
        assert turns.apply(room.world.bob, session.id, "b", "bob-elsewhere-1", "submit", "suds_before",
                           CHECK_IN).ack["ok"]
        if behind is not None:
            rows[session.id] = behind
    version, events = stored(app, room.pid)
    ack, statements = room.turn("alice", "submit", CHECK_IN, step="suds_before")
    assert ack["ok"], ack
    if room.postgresql:
        assert statements == 2 + AUDIENCE  # the write that found the newer row, then the write on it
    assert stored(app, room.pid)[0] == version + 1
    ack, statements = room.turn("bob", "submit", {"first": "partner"}, step="choose_speaker")
    assert ack["ok"], ack
    if room.postgresql:
        assert statements == 1 + AUDIENCE  # the memory caught up with the retry


@pytest.mark.parametrize("lose_access", ["revoked", "expired", "user_deleted", "seat_taken"])
def test_access_lost_between_turns_refuses_the_turn_and_writes_nothing(app, room, lose_access):
    with app.app_context():
        alice = room.world.alice
        login = (AuthSession.__table__.c.user_id == alice)
        statement = {
            "revoked": update(AuthSession).where(login).values(revoked_at=utcnow()),
            "expired": update(AuthSession).where(login).values(expires_at=utcnow() - timedelta(seconds=1)),
            "user_deleted": update(User).where(User.id == alice).values(deleted_at=utcnow()),
            "seat_taken": update(CoupleMember).where(CoupleMember.user_id == alice).values(active_user_id=None),
        }[lose_access]
    change(app, statement)
    before = stored(app, room.pid)
    ack, _ = room.turn("alice", "start_exercise", {"exercise": "greeting"})
    assert not ack["ok"]
    assert ack["error"]["code"] == ("forbidden" if lose_access == "seat_taken" else "unauthenticated")
    assert stored(app, room.pid) == before


def test_a_heartbeat_is_one_read_outside_any_session_and_still_ends_a_dead_login(app, room):
    """Every socket sends one every 20 s (75 a second at 500 sessions). Its whole work is the
    login re-check: on PostgreSQL one prepared read straight through the driver, no Session."""
    room.statements.clear()
    ack = room.socks["alice"].emit("heartbeat", {"session_id": room.pid}, callback=True)
    assert ack["ok"] and ack["server_now"]
    if room.postgresql:
        assert room.statements == ["couples_socket"]
    change(app, update(AuthSession).where(AuthSession.user_id == room.world.alice).values(
        expires_at=utcnow() - timedelta(seconds=1)))
    ack = room.socks["alice"].emit("heartbeat", {"session_id": room.pid}, callback=True)
    assert ack["error"]["code"] == "unauthenticated"
    assert not room.socks["alice"].is_connected()


def test_a_socket_that_left_the_session_cannot_act_in_it(app, room):
    assert room.socks["alice"].emit("leave", {"session_id": room.pid}, callback=True)["ok"]
    before = stored(app, room.pid)
    ack, _ = room.turn("alice", "start_exercise", {"exercise": "greeting"})
    assert ack["error"]["code"] == "not_joined"
    assert stored(app, room.pid) == before


def test_a_resent_action_id_is_answered_with_the_original_and_applied_once(app, room):
    first, _ = room.turn("alice", "start_exercise", {"exercise": "greeting"}, client_id="start-greeting")
    again, _ = room.turn("alice", "start_exercise", {"exercise": "greeting"}, client_id="start-greeting")
    assert first["ok"] and again == {"ok": True, "seq": first["seq"], "duplicate": True}
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ClientAction).where(
            ClientAction.client_id == "start-greeting")) == 1


def test_a_resend_whose_first_answer_was_lost_brings_every_page_up_to_date(app, room, monkeypatch):
    """The turn was committed but nobody heard of it (the reply and its broadcast were lost, as
    when the connection fails right after the commit). The resend is answered as a duplicate AND
    every viewer is told how far its log now goes, so a page that missed the turn rejoins instead
    of waiting for a turn that was already taken."""
    from couples.room import sockets
    before = {who: sock.emit("join", {"session_id": room.pid, "last_seq": 0}, callback=True)["snapshot"]["last_seq"]
              for who, sock in room.socks.items()}
    for sock in room.socks.values():
        sock.get_received()
    send, lost = sockets.broadcast, []
    monkeypatch.setattr(sockets, "broadcast", lost.append)
    first, _ = room.turn("alice", "start_exercise", {"exercise": "greeting"}, client_id="lost-reply")
    assert first["ok"] and lost
    monkeypatch.setattr(sockets, "broadcast", send)
    again, _ = room.turn("alice", "start_exercise", {"exercise": "greeting"}, client_id="lost-reply")
    assert again == {"ok": True, "seq": first["seq"], "duplicate": True}
    for who, sock in room.socks.items():
        updates = [m["args"][0] for m in sock.get_received() if m["name"] == "update"]
        assert len(updates) == 1 and updates[0]["events"] == [], (who, updates)
        told = updates[0]["last_seq"]
        assert told > before[who]
        rejoin = sock.emit("join", {"session_id": room.pid, "last_seq": before[who]}, callback=True)
        assert [e["seq"] for e in rejoin["events"]] == list(range(before[who] + 1, told + 1))
        assert rejoin["events"][0]["type"] == "exercise_started"
        assert rejoin["snapshot"]["last_seq"] == told and rejoin["snapshot"]["view"]["exercise"] == "greeting"


def test_a_refused_move_gets_its_precise_reason(app, room):
    assert room.turn("alice", "start_exercise", {"exercise": "greeting"})[0]["ok"]
    ack, _ = room.turn("alice", "start_exercise", {"exercise": "needs"})
    assert ack["error"]["code"] == "exercise_in_progress"


def last_seen(app, user_id):
    with app.app_context():
        return db.session.scalar(select(AuthSession.last_seen_at).where(AuthSession.user_id == user_id))


def test_socket_activity_keeps_an_idle_login_alive(app, room):
    """A turn renews its login's last-seen stamp (at most once a minute). On PostgreSQL within
    the turn's one statement: logins made together fall due together, and a write of its own per
    login cost a Session each (a one-second stall a minute at 500 sessions)."""
    old = utcnow() - timedelta(minutes=5)
    change(app, update(AuthSession).where(AuthSession.user_id == room.world.alice).values(last_seen_at=old))
    ack, statements = room.turn("alice", "start_exercise", {"exercise": "greeting"})
    assert ack["ok"], ack
    assert last_seen(app, room.world.alice) > old + timedelta(minutes=4)
    if room.postgresql:
        assert statements == 1 + AUDIENCE


def test_a_heartbeat_renews_an_idle_login_still_outside_any_session(app, room):
    old = utcnow() - timedelta(minutes=5)
    change(app, update(AuthSession).where(AuthSession.user_id == room.world.bob).values(last_seen_at=old))
    room.statements.clear()
    assert room.socks["bob"].emit("heartbeat", {"session_id": room.pid}, callback=True)["ok"]
    if room.postgresql:
        assert room.statements == ["couples_socket", "couples_touch_login"]
    assert last_seen(app, room.world.bob) > old + timedelta(minutes=4)


def test_an_idle_cookie_login_cannot_act(app, room):
    client, _ = cookie_client(app, room.world.bob)
    sock = socketio.test_client(app, flask_test_client=client)
    assert sock.emit("join", {"session_id": room.pid, "last_seq": 0}, callback=True)["ok"]
    idle = utcnow() - app.config["SESSION_IDLE_TIMEOUT"] - timedelta(seconds=5)
    change(app, update(AuthSession).where(AuthSession.kind == "cookie").values(last_seen_at=idle))
    before = stored(app, room.pid)
    ack = sock.emit("action", {"session_id": room.pid, "id": "cookie-0001", "kind": "start_exercise",
                               "data": {"exercise": "greeting"}}, callback=True)
    assert ack["error"]["code"] == "unauthenticated"
    assert stored(app, room.pid) == before


def test_a_failing_login_renewal_writes_nothing_and_the_resend_lands_once(app, room):
    """The renewal is part of the turn's write (PostgreSQL: the same statement; SQLite: the
    lookup before it), so when it fails nothing is written and the turn is refused: never a
    committed turn that nobody hears of. On PostgreSQL the renewal fails as a lock timeout on the
    login's row would (`unavailable`: the client resends by itself); SQLite's trigger can only
    abort (`server_error`). The resend, same id, lands once."""
    from sqlalchemy import text
    old = utcnow() - timedelta(minutes=5)
    change(app, update(AuthSession).where(AuthSession.user_id == room.world.alice).values(last_seen_at=old))
    refuse = ({"create": """CREATE FUNCTION couples_test_refuse() RETURNS trigger LANGUAGE plpgsql
                              AS $$ BEGIN RAISE EXCEPTION 'renewal refused' USING ERRCODE = 'lock_not_available'; END $$;
                            CREATE TRIGGER couples_test_refuse BEFORE UPDATE ON auth_sessions
                              FOR EACH ROW EXECUTE FUNCTION couples_test_refuse()""",
               "drop": "DROP TRIGGER couples_test_refuse ON auth_sessions; DROP FUNCTION couples_test_refuse()"}
              if room.postgresql else
              {"create": """CREATE TRIGGER couples_test_refuse BEFORE UPDATE ON auth_sessions
                            BEGIN SELECT RAISE(ABORT, 'renewal refused'); END""",
               "drop": "DROP TRIGGER couples_test_refuse"})
    change(app, text(refuse["create"]))
    try:
        before = stored(app, room.pid)
        ack, _ = room.turn("alice", "start_exercise", {"exercise": "greeting"}, client_id="renew-0001")
        assert ack["error"]["code"] == ("unavailable" if room.postgresql else "server_error"), ack
        assert stored(app, room.pid) == before
        assert not [m for m in room.socks["bob"].get_received() if m["name"] == "update"]
    finally:
        change(app, text(refuse["drop"]))
    ack, _ = room.turn("alice", "start_exercise", {"exercise": "greeting"}, client_id="renew-0001")
    assert ack["ok"], ack
    assert stored(app, room.pid)[0] == before[0] + 1
    updates = [m["args"][0] for m in room.socks["bob"].get_received() if m["name"] == "update"]
    assert updates and updates[-1]["view"]["exercise"] == "greeting"
