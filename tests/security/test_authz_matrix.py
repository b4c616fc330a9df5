"""The authorization matrix: every HTTP route and every socket event, for every actor.

Built from the app's own list of routes (app.url_map) and socket handlers, so a new endpoint or
event without a row here FAILS `test_every_route_and_event_has_a_row`. Each cell runs on a freshly
restored database and checks the exact status (or ack), that a refused cell changed nothing,
that nobody outside the couple sees its names or session id, and that therapist reads are audited.

Columns: anonymous, partner (Alice, this couple), other_partner (Carol, another couple), therapist
(Theo, linked), other_therapist (Tess), revoked_therapist (Rex), left_user (Lena: her couple ended
when she left; her column targets that former couple, whose history stays hers to read).
"L" = redirected to the login page.
"""
import datetime as dt
import hashlib
import json
import uuid

import pytest
from sqlalchemy import func, select

from couples.exercises import engine
from couples.extensions import db, socketio
from couples.room.packets import REFUSED_EVENT, RESERVED_EVENTS
from couples.models import Connection
from couples.models import (AuditEntry, Couple, CoupleMember, Invitation, PracticeSession,
                            SessionEvent, SignalRead, TherapistLink, TherapistNote)
from exercise_walks import Replay, covering_walks, every_step
from secworld import ACTORS, SUMMARY
from support.inprocess import FakeClock

OUTSIDERS = ("anonymous", "other_partner", "other_therapist", "revoked_therapist")
THERAPIST_READS = {"session_observed", "transcript_read", "session_events_read", "progress_read",
                   "signals_read", "signal_marked_read", "signals_marked_read",
                   "practice_held", "practice_released"}

# method, rule -> (expected status per actor in ACTORS order, cells allowed to change data, body)
# Bodies are realistic, so a cell tests authorization rather than input validation.
HTTP = {
    ("GET", "/"): ("L 302 302 302 302 302 302", "", None),
    ("GET", "/static/<path:filename>"): ("200 200 200 200 200 200 200", "", None),
    ("GET", "/login"): ("200 302 302 302 302 302 302", "", None),
    ("POST", "/login"): ("422 422 422 422 422 422 422", "", None),
    ("GET", "/register"): ("200 302 302 302 302 302 302", "", None),
    ("POST", "/register"): ("422 302 302 302 302 302 302", "", None),
    ("POST", "/logout"): ("L L L L L L L", "", None),
    ("GET", "/dashboard"): ("L 200 200 200 200 200 200", "", None),
    ("POST", "/couple"): ("L 303 303 303 303 303 303", "left_user", None),
    ("POST", "/couple/invitation"): ("L 303 303 303 303 303 303", "", None),
    ("GET", "/couple/leave"): ("L 200 200 200 200 200 200", "", None),
    ("POST", "/couple/leave"): ("L 303 303 303 303 303 303", "partner other_partner", None),
    ("POST", "/couple/therapists"): ("L 303 409 403 403 403 409", "partner",
                                     {"email": "tess@example.com"}),
    ("POST", "/couple/therapists/<int:link_id>/consent"): ("L 303 303 303 303 303 303", "", None),
    ("POST", "/couple/therapists/<int:link_id>/revoke"): ("L 303 303 303 303 303 303", "partner", None),
    ("GET", "/join/<code>"): ("L 200 200 200 200 200 200", "", None),
    ("POST", "/join"): ("L 409 409 403 403 403 404", "", {"code": "ZZZZZZZZ"}),
    ("GET", "/practice"): ("L 200 200 302 302 302 200", "", None),
    ("POST", "/practice"): ("L 303 303 303 303 303 303", "", None),
    ("GET", "/practice/<public_id>"): ("L 200 403 200 403 403 302", "", None),
    ("GET", "/progress"): ("L 200 200 302 302 302 200", "", None),
    ("GET", "/sessions/<public_id>/transcript"): ("L 200 403 200 403 403 200", "", None),
    ("POST", "/sessions/<public_id>/notes"): ("L 403 403 303 403 403 403", "therapist", {"body": "A note."}),
    ("GET", "/therapist"): ("L 403 403 200 200 200 403", "", None),
    ("GET", "/therapist/couples/<int:couple_id>"): ("L 403 403 200 403 403 403", "", None),
    # --- the JSON API ---
    ("POST", "/api/v1/accounts"): ("202 202 202 202 202 202 202", "*", "new-account"),
    ("POST", "/api/v1/tokens"): ("201 201 201 201 201 201 201", "", "own-credentials"),
    ("DELETE", "/api/v1/tokens/current"): ("401 204 204 204 204 204 204", "", None),
    ("GET", "/api/v1/me"): ("401 200 200 200 200 200 200", "", None),
    ("GET", "/api/v1/couple"): ("401 200 200 403 403 403 200", "", None),
    ("POST", "/api/v1/couple"): ("401 409 409 403 403 403 201", "left_user", {}),
    ("POST", "/api/v1/couple/invitations"): ("401 409 409 403 403 403 409", "", {}),
    ("POST", "/api/v1/couple/join"): ("401 409 409 403 403 403 404", "", {"code": "ZZZZZZZZ"}),
    ("POST", "/api/v1/couple/leave"): ("401 200 200 403 403 403 409", "partner other_partner", {}),
    ("POST", "/api/v1/couple/therapists"): ("401 201 409 403 403 403 409", "partner",
                                            {"email": "tess@example.com"}),
    ("POST", "/api/v1/couple/therapists/<int:link_id>/consent"): ("401 200 404 403 403 403 409", "", {}),
    ("POST", "/api/v1/couple/therapists/<int:link_id>/revoke"): ("401 200 404 403 403 403 409", "partner", {}),
    ("POST", "/api/v1/sessions"): ("401 200 200 403 403 403 409", "", {}),
    ("GET", "/api/v1/sessions"): ("401 200 200 200 200 200 200", "", None),
    ("GET", "/api/v1/sessions/<public_id>"): ("401 200 403 200 403 403 200", "", None),
    ("GET", "/api/v1/sessions/<public_id>/events"): ("401 200 403 200 403 403 200", "", None),
    ("GET", "/api/v1/sessions/<public_id>/transcript"): ("401 200 403 200 403 403 200", "", None),
    ("GET", "/api/v1/therapist/couples"): ("401 403 403 200 200 200 403", "", None),
    # Each person's own live status: never another couple's (the outsiders' cells check the names).
    ("GET", "/api/v1/dashboard"): ("401 200 200 200 200 200 200", "", None),
    ("GET", "/api/v1/therapist/couples/<int:couple_id>"): ("401 403 403 200 403 403 403", "", None),
}

# The privacy feature's routes (couples/privacy/).
HTTP.update({
    ("GET", "/privacy"): ("L 200 200 200 200 200 200", "", None),
    ("GET", "/privacy/export"): ("L 200 200 200 200 200 200", "", None),
    ("GET", "/privacy/delete"): ("L 200 200 200 200 200 200", "", None),
    ("POST", "/privacy/delete"): ("L 200 200 200 200 200 200", "*", "own-password"),
    ("GET", "/api/v1/me/export"): ("401 200 200 200 200 200 200", "", None),
    ("POST", "/api/v1/me/delete"): ("401 200 200 200 200 200 200", "*", "own-password"),
    ("GET", "/api/v1/couple/audit"): ("401 200 200 403 403 403 200", "", None),
})

# The Help page (couples/help.py): crisis services, for anyone, logged in or not.
HTTP.update({
    ("GET", "/help"): ("200 200 200 200 200 200 200", "", None),
})

# A therapist's safety signals (couples/review/signals.py): therapists only, of linked couples.
HTTP.update({
    ("POST", "/therapist/signals/<int:signal_id>/read"): ("L 403 403 303 404 404 403", "therapist", None),
    ("POST", "/therapist/couples/<int:couple_id>/signals/read"): ("L 403 403 303 403 403 403", "therapist", None),
    ("GET", "/api/v1/therapist/signals"): ("401 403 403 200 200 200 403", "", None),
    ("POST", "/api/v1/therapist/signals/<int:signal_id>/read"): ("401 403 403 200 404 404 403", "therapist", {}),
    ("POST", "/api/v1/therapist/couples/<int:couple_id>/signals/read"): ("401 403 403 200 403 403 403",
                                                                        "therapist", {}),
})

# A therapist's hold on a couple's joint practice (couples/room/holds.py): a linked therapist only.
# Release in the seeded world (not held) changes nothing and records nothing.
HTTP.update({
    ("POST", "/therapist/couples/<int:couple_id>/hold"): ("L 403 403 303 403 403 403", "therapist", None),
    ("POST", "/therapist/couples/<int:couple_id>/release"): ("L 403 403 303 403 403 403", "", None),
    ("POST", "/api/v1/therapist/couples/<int:couple_id>/hold"): ("401 403 403 200 403 403 403", "therapist", {}),
    ("POST", "/api/v1/therapist/couples/<int:couple_id>/release"): ("401 403 403 200 403 403 403", "", {}),
})

# What a successful cell must add to the audit log, exactly (of THERAPIST_READS), by actor; every
# other cell adds none of those (a therapist's cells not listed here are not checked).
AUDITED = {
    ("GET", "/sessions/<public_id>/transcript"): {"therapist": ["transcript_read"]},
    ("GET", "/api/v1/sessions/<public_id>/events"): {"therapist": ["session_events_read"]},
    ("GET", "/api/v1/sessions/<public_id>/transcript"): {"therapist": ["transcript_read"]},
    ("GET", "/therapist/couples/<int:couple_id>"): {"therapist": ["progress_read", "signals_read"]},
    # Tess reads her own couple's signals: one entry about that couple (Rex has no linked couple).
    ("GET", "/api/v1/therapist/signals"): {"therapist": ["signals_read"], "other_therapist": ["signals_read"]},
    ("POST", "/therapist/signals/<int:signal_id>/read"): {"therapist": ["signal_marked_read"]},
    ("POST", "/api/v1/therapist/signals/<int:signal_id>/read"): {"therapist": ["signal_marked_read"]},
    ("POST", "/therapist/couples/<int:couple_id>/signals/read"): {"therapist": ["signals_marked_read"]},
    ("POST", "/api/v1/therapist/couples/<int:couple_id>/signals/read"): {"therapist": ["signals_marked_read"]},
    ("POST", "/therapist/couples/<int:couple_id>/hold"): {"therapist": ["practice_held"]},
    ("POST", "/api/v1/therapist/couples/<int:couple_id>/hold"): {"therapist": ["practice_held"]},
    ("POST", "/therapist/couples/<int:couple_id>/release"): {"therapist": []},
    ("POST", "/api/v1/therapist/couples/<int:couple_id>/release"): {"therapist": []},
}

# event -> expected ack per actor ("ok", an error code, "refused" = connection refused, "-" = no ack)
EVENTS = {
    "connect": "refused ok ok ok ok ok ok",
    "join": "refused ok forbidden ok forbidden forbidden forbidden",
    "action": "refused ok forbidden observer_read_only forbidden forbidden forbidden",
    "heartbeat": "refused ok ok ok ok ok ok",
    "leave": "refused ok not_joined ok not_joined not_joined not_joined",
    "disconnect": "refused - - - - - -",
    # Any other name, and every reserved or lifecycle name sent as an event (RESERVED below).
    "*": "refused unknown_event unknown_event unknown_event unknown_event unknown_event unknown_event",
}
# Names a client may send that the library or the client libraries give a meaning of their own:
# "connect" and "disconnect" sent as events once reached the lifecycle handlers.
RESERVED = sorted(RESERVED_EVENTS | {REFUSED_EVENT, "", "Disconnect", "disconnect ", "nope"})

def _routes(app):
    return {(m, r.rule) for r in app.url_map.iter_rules() for m in r.methods - {"HEAD", "OPTIONS"}}


def _events():
    return set(socketio.server.handlers.get("/", {}))


def test_every_route_and_event_has_a_row(world):
    """A route or socket event without a row in this matrix fails here: add the row."""
    routes = _routes(world.app)
    assert routes - set(HTTP) == set(), "routes without a row in the authorization matrix"
    assert set(HTTP) - routes == set(), "rows for routes that no longer exist"
    assert _events() == set(EVENTS), "socket events without a row (or rows without an event)"


def _fill(rule, target):
    return (rule.replace("<int:couple_id>", str(target.couple_id)).replace("<public_id>", target.session)
            .replace("<int:link_id>", str(target.link_id)).replace("<code>", "ZZZZZZZZ")
            .replace("<int:signal_id>", str(target.signal_id))
            .replace("<path:filename>", "css/app.css"))


def _fingerprint(app) -> dict:
    """Everything a cell might change, as digests per table (the audit log counted separately)."""
    out = {}
    with app.app_context():
        for model in (Couple, CoupleMember, Invitation, TherapistLink, PracticeSession, SessionEvent,
                      TherapistNote, SignalRead):
            rows = db.session.execute(select(model.__table__)).all()
            out[model.__tablename__] = hashlib.sha256(repr(sorted(map(repr, rows))).encode()).hexdigest()
        out["audit"] = list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
        out["users"] = db.session.scalar(select(func.count()).select_from(db.Model.metadata.tables["users"]))
        db.session.remove()
    return out


def _body(spec, world, actor):
    if spec == "new-account":
        return {"email": f"new-{uuid.uuid4().hex[:8]}@example.com", "password": "a long new password",
                "display_name": "New", "role": "partner"}
    if spec in ("own-credentials", "own-password"):
        if actor == "anonymous":
            return {"email": "alice@example.com", "password": "correct horse battery"} \
                if spec == "own-credentials" else {"password": "correct horse battery"}
        name = {"partner": "alice", "other_partner": "carol", "therapist": "theo", "other_therapist": "tess",
                "revoked_therapist": "rex", "left_user": "lena"}[actor]
        creds = {"email": f"{name}@example.com", "password": "correct horse battery"}
        return creds if spec == "own-credentials" else {"password": creds["password"],
                                                         "confirm": "delete my account"}
    return spec


def _status(resp):
    if resp.status_code in (301, 302, 303) and "/login" in resp.headers.get("Location", ""):
        return "L"
    return str(resp.status_code)


CELLS = [(m, r, a) for (m, r) in HTTP for a in ACTORS]


@pytest.mark.parametrize("method,rule,actor", CELLS, ids=[f"{m} {r} {a}" for m, r, a in CELLS])
def test_http_cell(world, method, rule, actor):
    expected_codes, writers, spec = HTTP[(method, rule)]
    expected = dict(zip(ACTORS, expected_codes.split()))[actor]
    world.restore()
    before = _fingerprint(world.app)
    target = world.targets[actor]
    path, body = _fill(rule, target), _body(spec, world, actor)
    if rule.startswith("/api/"):
        resp = world.app.test_client().open(path, method=method, headers=world.headers(actor),
                                            json=body if method != "GET" else None)
    else:
        resp = world.client(actor).open(path, method=method, data=body if method != "GET" else None)
    SUMMARY["authorization cells checked"] += 1
    assert _status(resp) == expected, (actor, method, path, resp.status_code, resp.get_data(as_text=True)[:300])
    assert resp.status_code < 500
    if resp.status_code >= 400 and rule.startswith("/api/"):
        err = resp.get_json()["error"]
        assert set(err) == {"code", "message", "fields"}
    after = _fingerprint(world.app)
    _check_audit(before, after, actor, method, rule, resp)
    if writers != "*" and actor not in writers.split():
        assert {k: v for k, v in after.items() if k != "audit"} == \
               {k: v for k, v in before.items() if k != "audit"}, f"{actor} changed data via {method} {rule}"
    redirect_to_login = _status(resp) == "L"  # it echoes the path the visitor asked for themselves
    if actor in OUTSIDERS and spec not in ("own-credentials", "own-password") and not redirect_to_login:
        _no_leak(resp, world)


def _check_audit(before, after, actor, method, rule, resp):
    """A successful therapist read of a couple's data (or mark of its signals) adds exactly the
    audit entries AUDITED says; a refused one adds none, and nobody else adds any."""
    new = after["audit"][len(before["audit"]):]
    assert after["audit"][:len(before["audit"])] == before["audit"], "audit log rewritten"
    reads = [a for a in new if a in THERAPIST_READS]
    expected = AUDITED.get((method, rule), {})
    if actor in expected:
        assert reads == (expected[actor] if resp.status_code < 400 else []), (actor, rule, new)
    elif actor != "therapist":
        assert reads == [], (actor, rule, new)


def _no_leak(resp, world):
    """Nothing about Alice and Bob's couple reaches someone outside it."""
    text = resp.get_data(as_text=True)
    for secret in (world.targets["partner"].session, "alice@example.com", "bob@example.com",
                   ">Alice<", ">Bob<", '"Alice"', '"Bob"'):
        assert secret not in text, f"{secret!r} leaked to an outsider"


# --------------------------------------------------------------------------- socket events

def _connect(world, actor, kind="token"):
    if actor == "anonymous":
        return socketio.test_client(world.app, flask_test_client=world.app.test_client())
    if kind == "cookie":
        return socketio.test_client(world.app, flask_test_client=world.client(actor))
    return socketio.test_client(world.app, auth={"token": world.tokens[actor]})


def _ack_code(ack):
    if ack is None:
        return "-"
    return "ok" if ack.get("ok") else ack["error"]["code"]


def _socket_cell(world, actor, event):
    target = world.targets[actor]
    client = _connect(world, actor)
    if not client.is_connected():
        return "refused", client
    if event == "connect":
        return "ok", client
    if event == "disconnect":
        client.disconnect()
        return "-", client
    join = {"session_id": target.session, "last_seq": 0}
    if event == "join":
        return _ack_code(client.emit("join", join, callback=True)), client
    if event == "heartbeat":
        return _ack_code(client.emit("heartbeat", {}, callback=True)), client
    client.emit("join", join, callback=True)
    if event == "*":
        return _ack_code(client.emit("no such event", {"session_id": target.session}, callback=True)), client
    if event == "leave":
        return _ack_code(client.emit("leave", {"session_id": target.session}, callback=True)), client
    action = {"session_id": target.session, "id": "cell-" + uuid.uuid4().hex[:10], "kind": "safety",
              "step": None, "data": {"safe": True}}
    return _ack_code(client.emit("action", action, callback=True)), client


SOCKET_CELLS = [(e, a) for e in EVENTS for a in ACTORS]


@pytest.mark.parametrize("event,actor", SOCKET_CELLS, ids=[f"{e} {a}" for e, a in SOCKET_CELLS])
def test_socket_cell(world, event, actor):
    expected = dict(zip(ACTORS, EVENTS[event].split()))[actor]
    world.restore()
    before = _fingerprint(world.app)
    got, client = _socket_cell(world, actor, event)
    SUMMARY["authorization cells checked"] += 1
    received = client.get_received() if client.is_connected() else []
    if client.is_connected():
        client.disconnect()
    assert got == expected, (event, actor, got)
    after = _fingerprint(world.app)
    new = after["audit"][len(before["audit"]):]
    if actor == "therapist" and event in ("join", "action", "leave", "*"):
        assert new.count("session_observed") == 1, new  # observing live is audited, once per join
    else:
        assert "session_observed" not in new
    if actor in OUTSIDERS or actor == "left_user":
        assert {k: v for k, v in after.items() if k != "audit"} == \
               {k: v for k, v in before.items() if k != "audit"}
        assert not any(r["name"] == "update" for r in received), received
        assert world.targets["partner"].session not in json.dumps(received)


# --------------------------------------------------------------------------- every step's answer

STEP_OUTSIDERS = ("other_partner", "other_therapist", "revoked_therapist", "left_user")
STEP_OBSERVERS = ("therapist",) + STEP_OUTSIDERS


def test_every_steps_answer_is_taken_only_from_the_partner_whose_turn_it_is(world):
    """Table-driven from the registry: walks through every step of every exercise
    (exercise_walks.py), and at each step's first entry its valid answer sent by the partner whose
    turn it is not (unless both are asked) and by Theo or an outsider, in turn (the cells of the
    `action` row above, sampled: one of them at each step) is refused with the row's code, and
    nobody hears of it (an accepted change would reach both partners); then the awaited partner's
    answer is taken."""
    expected = dict(zip(ACTORS, EVENTS["action"].split()))
    t0 = dt.datetime.now(dt.timezone.utc).replace(second=0, microsecond=0)
    clock, checked, n = FakeClock(), set(), 0
    world.app.config["CLOCK"] = clock
    try:
        for walk in covering_walks(t0):
            replay = Replay(world, clock, t0)
            outsiders = {a: _connect(world, a) for a in STEP_OUTSIDERS}
            for a, c in outsiders.items():
                c.emit("join", {"session_id": world.targets[a].session, "last_seq": 0}, callback=True)
            at = {i: target for target, i in walk.reaches.items() if target not in checked}
            for i, move in enumerate(walk.moves):
                if i in at and move.kind == "submit":
                    checked.add(at[i])
                    n += 1
                    senders = [(STEP_OBSERVERS[n % 5], STEP_OBSERVERS[n % 5])]
                    other = "b" if move.seat == "a" else "a"
                    if other not in replay.waiting():
                        senders.append((other, "not_your_turn"))
                    for who, code in senders:
                        client = outsiders.get(who) or replay.clients[who]
                        action = {"session_id": replay.session, "id": f"step-{uuid.uuid4().hex[:10]}",
                                  "kind": "submit", "step": move.step, "data": move.data}
                        got = _ack_code(client.emit("action", action, callback=True))
                        SUMMARY["authorization cells checked"] += 1
                        assert got == expected.get(code, code), (at[i], who, got)
                    for a, c in {**outsiders, **replay.clients}.items():
                        assert not any(r["name"] == "update" for r in c.get_received()), (at[i], a)
                replay.play(move)
                replay.drain()
            for c in outsiders.values():
                c.disconnect()
            replay.close()
        assert checked == {t for t in every_step() if not _only_timer(*t)}
    finally:
        world.app.config.pop("CLOCK", None)


def _only_timer(exercise, step):
    """A step only the timer moves on (a time-out's break): nobody's answer completes it."""
    return engine.EXERCISES[exercise].step(step).actor == engine.NOBODY


def test_cookie_login_opens_a_socket_and_a_foreign_token_does_not(world):
    world.restore()
    assert _connect(world, "partner", kind="cookie").is_connected()
    bogus = socketio.test_client(world.app, auth={"token": "not-a-token"})
    assert not bogus.is_connected()
    for auth in ([], "string", {"token": None}, {"token": ["x"]}, {"token": "x" * 10_000}):
        assert not socketio.test_client(world.app, auth=auth).is_connected(), auth
    SUMMARY["authorization cells checked"] += 7


def test_revoking_consent_cuts_off_an_observer_already_in_the_room(fresh):
    """Authorization changes apply at once: the revoke itself disconnects the therapist's socket
    (no sweeper pass), after telling it why."""
    session = fresh.targets["therapist"].session
    theo = socketio.test_client(fresh.app, auth={"token": fresh.tokens["therapist"]})
    assert theo.emit("join", {"session_id": session}, callback=True)["ok"]
    link = fresh.targets["therapist"].link_id
    resp = fresh.app.test_client().post(f"/api/v1/couple/therapists/{link}/revoke", json={},
                                        headers=fresh.headers("partner"))
    assert resp.status_code == 200
    assert not theo.is_connected()
    # The test client keeps what a disconnected socket was sent in `queue` (get_received refuses).
    assert {"name": "revoked", "args": [{"reason": "access_revoked", "cause": "link_removed"}], "namespace": "/"} in theo.queue
    SUMMARY["authorization cells checked"] += 2


def _connection(world, sid):
    with world.app.app_context():
        row = db.session.get(Connection, sid)
        found = None if row is None else (row.session_id, row.role, row.user_id, row.auth_session_id)
        db.session.remove()
    return found


RESERVED_CELLS = [(name, actor) for name in RESERVED for actor in ACTORS if actor != "anonymous"]


@pytest.mark.parametrize("name,actor", RESERVED_CELLS, ids=[f"{n!r} {a}" for n, a in RESERVED_CELLS])
def test_a_reserved_event_name_sent_by_a_client_reaches_no_handler(world, name, actor):
    """Each reserved or lifecycle name, sent as an event: the error ack `unknown_event`, the
    socket stays connected and its connection row (what it joined, whose login) is unchanged."""
    world.restore()
    client = _connect(world, actor)
    client.emit("join", {"session_id": world.targets[actor].session, "last_seq": 0}, callback=True)
    sid = socketio.server.manager.sid_from_eio_sid(client.eio_sid, "/")
    row, before = _connection(world, sid), _fingerprint(world.app)
    for payload in ({}, None, "x", [1], {"reason": "client disconnect"}):
        ack = client.emit(name, payload, callback=True) if payload is not None else client.emit(name, callback=True)
        assert _ack_code(ack) == "unknown_event", (name, payload, ack)
    SUMMARY["authorization cells checked"] += 1
    assert client.is_connected()
    assert _connection(world, sid) == row is not None
    assert _fingerprint(world.app) == before
    client.disconnect()


def test_a_therapist_who_sends_disconnect_still_loses_the_room_on_revoke(fresh):
    """The attack of the review: the observer sends `disconnect` and `connect` as events, hoping
    to drop out of the connections table and so out of reach of revocation. The row stays, the
    revoke cuts the socket at once, and nothing more of the session reaches it."""
    session = fresh.targets["therapist"].session
    theo = socketio.test_client(fresh.app, auth={"token": fresh.tokens["therapist"]})
    alice = socketio.test_client(fresh.app, auth={"token": fresh.tokens["partner"]})
    for c in (theo, alice):
        assert c.emit("join", {"session_id": session}, callback=True)["ok"]
    for name in ("disconnect", "connect", "disconnect"):
        assert _ack_code(theo.emit(name, {}, callback=True)) == "unknown_event"
    presence = [m["args"][0]["presence"] for m in alice.get_received() if m["name"] == "presence"]
    assert presence[-1]["therapist"]["observing"] is True
    link = fresh.targets["therapist"].link_id
    assert fresh.app.test_client().post(f"/api/v1/couple/therapists/{link}/revoke", json={},
                                        headers=fresh.headers("partner")).status_code == 200
    assert not theo.is_connected()
    assert theo.queue[-1]["name"] == "revoked"
    heard = len(theo.queue)
    assert alice.emit("action", {"session_id": session, "id": "after-revoke-1", "kind": "pause",
                                 "data": {"reason": "canary pause reason"}}, callback=True)["ok"]
    assert len(theo.queue) == heard and "canary pause reason" not in json.dumps(theo.queue)
    alice.disconnect()


def test_a_therapist_reading_a_sessions_current_view_is_audited(fresh):
    session = fresh.targets["therapist"].session
    before = _fingerprint(fresh.app)["audit"]
    resp = fresh.app.test_client().get(f"/api/v1/sessions/{session}", headers=fresh.headers("therapist"))
    assert resp.status_code == 200
    assert _fingerprint(fresh.app)["audit"][len(before):] == ["session_read"]
