"""A therapist's hold on a couple's joint practice (issue 23), through the service, the API and
the pages: a linked therapist holds and releases, each audited and listed to the partners (that
it happened, never why); the couple's live session is held in the same write, and one started
while held starts held; nobody else can do it; the partners' pages say so."""
from contextlib import contextmanager

import pytest
from sqlalchemy import select

from couples.accounts import service as accounts
from couples.extensions import db
from couples.models import AuditEntry, Couple, SessionEvent, TherapistLink
from couples.pairing import service as pairing
from support.errors import refused
from support.inprocess import Room, logged_in, user
from support.people import make_account

SAYS = "Your therapist has paused joint practice for now"


def api(app, token):
    client = app.test_client()

    def call(method, path, json=None):
        return client.open(path, method=method, json=json, headers={"Authorization": f"Bearer {token}"})
    return call


def hold_path(world, what="hold", api=True):
    return f"{'/api/v1' if api else ''}/therapist/couples/{world.couple_id}/{what}"


def audited(couple_id):
    return [(e.action, e.subject, e.detail) for e in db.session.scalars(
        select(AuditEntry).where(AuditEntry.couple_id == couple_id, AuditEntry.action.like("practice_%"))
        .order_by(AuditEntry.id))]


def types(room):
    return list(db.session.scalars(select(SessionEvent.type).where(SessionEvent.session_id == room.sid)
                                   .order_by(SessionEvent.seq)))


@pytest.fixture
def greeting(app, world):
    """Alice and Bob both safe, the greeting started: a live session mid-exercise. No app context
    stays pushed around the test's requests (it would share Flask-Login's user between them):
    each look at the database opens its own (`inside`)."""
    with app.app_context():
        room = Room(world)
        room.safe()
        room.ok("alice", "start_exercise", {"exercise": "greeting"})
        db.session.remove()
    return room


@contextmanager
def inside(app):
    with app.app_context():
        yield
        db.session.remove()


def test_a_linked_therapist_holds_and_releases_and_each_is_audited(app, world, greeting):
    as_theo = api(app, world.tokens["theo"])
    resp = as_theo("POST", hold_path(world), {})
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["couple_id"] == world.couple_id and body["held"] is True and body["held_at"]
    with inside(app):
        state = greeting.row().state
        assert state["held"] and state["run"] is None and state["phase"] == "ready"
        assert types(greeting)[-2:] == ["practice_held", "exercise_abandoned"]
        couple = db.session.get(Couple, world.couple_id)
        assert couple.joint_hold_at is not None and couple.joint_hold_by_id == world.theo
        refusal = greeting.act("bob", "start_exercise", {"exercise": "needs"}).ack
        assert refusal["error"]["code"] == "therapist_hold" and SAYS in refusal["error"]["message"]
    # Again: nothing changes, nothing more is recorded.
    assert as_theo("POST", hold_path(world), {}).get_json()["held"] is True
    with inside(app):
        assert types(greeting).count("practice_held") == 1
        assert audited(world.couple_id) == [("practice_held", f"couple:{world.couple_id}", {})]
    # The partners see what their therapist did, and nothing about why.
    entries = api(app, world.tokens["alice"])("GET", "/api/v1/couple/audit").get_json()["entries"]
    held = [e for e in entries if e["action"] == "practice_held"]
    assert [(e["who"], e["what"]) for e in held] == [("Theo", "Paused your joint practice")]
    resp = as_theo("POST", hold_path(world, "release"), {})
    assert resp.get_json() == {"couple_id": world.couple_id, "held": False, "held_at": None}
    with inside(app):
        assert "held" not in greeting.row().state and types(greeting)[-1] == "practice_released"
        assert [a for a, _, _ in audited(world.couple_id)] == ["practice_held", "practice_released"]
        greeting.ok("bob", "start_exercise", {"exercise": "needs"})


def test_the_therapists_couple_page_holds_and_releases(app, world, greeting):
    theo = logged_in(app, "theo")
    page = theo.get(f"/therapist/couples/{world.couple_id}").get_data(as_text=True)
    assert "Put joint practice on hold" in page and f'action="{hold_path(world, api=False)}"' in page
    resp = theo.post(hold_path(world, api=False))
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"/therapist/couples/{world.couple_id}#hold")
    page = theo.get(resp.headers["Location"]).get_data(as_text=True)
    assert "On hold</strong> since" in page and "Open joint practice again" in page
    with inside(app):
        assert greeting.row().state["held"]
    resp = theo.post(hold_path(world, "release", api=False))
    assert resp.status_code == 303
    assert "Joint practice is open again." in theo.get(resp.headers["Location"]).get_data(as_text=True)
    with inside(app):
        assert "held" not in greeting.row().state


def test_nobody_else_can_hold_a_couples_practice(app, world, greeting):
    with inside(app):
        uma_token = accounts.start_login(make_account("uma@example.com", "therapist"), "token")
        db.session.commit()
    uma = logged_in(app, "uma")
    for what in ("hold", "release"):
        refused(api(app, world.tokens["alice"])("POST", hold_path(world, what), {}), 403, "therapist_only")
        refused(api(app, uma_token)("POST", hold_path(world, what), {}), 403, "no_consent")
        as_alice = logged_in(app, "alice").post(hold_path(world, what, api=False))
        assert as_alice.status_code == 403 and "This page is for therapists." in as_alice.get_data(as_text=True)
        as_uma = uma.post(hold_path(world, what, api=False))
        assert as_uma.status_code == 403 and "has not given you access" in as_uma.get_data(as_text=True)
    # Alice revokes Theo: from then on he can neither hold nor release.
    with inside(app):
        link = db.session.scalar(select(TherapistLink.id).where(
            TherapistLink.therapist_id == world.theo, TherapistLink.couple_id == world.couple_id))
        pairing.revoke(user(world.alice), link)
    refused(api(app, world.tokens["theo"])("POST", hold_path(world), {}), 403, "no_consent")
    assert logged_in(app, "theo").post(hold_path(world, api=False)).status_code == 403
    with inside(app):
        assert db.session.get(Couple, world.couple_id).joint_hold_at is None
        assert "held" not in greeting.row().state and audited(world.couple_id) == []


def test_a_session_started_while_held_starts_held_and_the_pages_say_so(app, world):
    alice = logged_in(app, "alice")
    assert SAYS not in alice.get("/practice").get_data(as_text=True)
    resp = api(app, world.tokens["theo"])("POST", hold_path(world), {})
    assert resp.status_code == 200 and resp.get_json()["held"] is True  # no session yet: nothing else
    assert SAYS in alice.get("/practice").get_data(as_text=True)
    assert SAYS in alice.get("/dashboard").get_data(as_text=True)
    started = api(app, world.tokens["alice"])("POST", "/api/v1/sessions", {})
    assert started.status_code == 201
    view = started.get_json()["view"]
    assert view["held"] is True and view["phase"] == "safety"
    with inside(app):
        room = Room(world)  # the same session
        room.safe()
        refusal = room.act("alice", "start_exercise", {"exercise": "greeting"}).ack
        assert refusal["error"]["code"] == "therapist_hold"
        room.ok("bob", "timeout")  # a time-out is always in reach
        public_id = room.row().public_id
    page = alice.get(f"/practice/{public_id}").get_data(as_text=True)
    assert 'id="held-note"' in page and "Your therapist has paused joint practice for now." in page
    api(app, world.tokens["theo"])("POST", hold_path(world, "release"), {})
    assert SAYS not in alice.get("/practice").get_data(as_text=True)
    assert SAYS not in alice.get("/dashboard").get_data(as_text=True)


@pytest.mark.parametrize("committed", [False, True], ids=["rolled back", "committed first"])
def test_a_hold_that_loses_a_race_is_tried_again_and_recorded_once(app, world, greeting, monkeypatch, committed):
    """Another turn won the session's row: the store raised Conflict, having rolled the hold back
    (SQLite) or committed the couple's flag with nothing of the session (PostgreSQL's one
    statement). The next try holds the session, and the audit entry is written once either way."""
    from couples.room import holds, turns
    real, lost = turns.apply_system, []

    def first_loses(session_id, kind):
        if not lost:
            lost.append(kind)
            if committed:
                db.session.commit()
            raise holds.Conflict()
        return real(session_id, kind)
    monkeypatch.setattr(turns, "apply_system", first_loses)
    assert api(app, world.tokens["theo"])("POST", hold_path(world), {}).status_code == 200
    with inside(app):
        assert lost == ["hold"] and greeting.row().state["held"]
        assert types(greeting).count("practice_held") == 1
        assert [a for a, _, _ in audited(world.couple_id)] == ["practice_held"]
