"""Account deletion, tested against docs/privacy.md's list of every place personal data lives.

Canary words are planted in every place a deleted person's private data can be (their name and
email, a token's label, private pause and end reasons in events AND in the session state, a
therapist's notes), the account is deleted, and then:

- on SQLite, the database file's bytes are searched, with its -wal and -shm: no canary is left,
  not in a live row, not in free space, not in an old page image in the write-ahead log;
- on PostgreSQL, every row of every table is searched (what VACUUM does and does not promise
  about dead tuples and the WAL is in docs/privacy.md: the files are not searched there).

A positive control runs first: before the deletion every canary IS found (so an empty search
means erased, not mis-searched), and what stays by design (the other partner's own private
reason) is still found after it. Places of the list that hold no words (audit entries, connection
rows, client action ids) are inside the searched bytes and rows too: no canary may reach them.
"""
import os
from pathlib import Path

import pytest
from sqlalchemy import select, text

from couples.extensions import db
from couples.models import PracticeSession, User
from couples.room import turns

POSTGRES = os.environ.get("TEST_DATABASE", "sqlite") == "postgresql"
DELETE = {"password": "correct horse battery", "confirm": "delete my account"}

CANARIES = {
    "email": "zqcanarymail",            # in the address zqcanarymail@example.com
    "name": "Zqcanaryname",             # the display name
    "label": "zqcanary-token-label",    # a bearer token's label
    "pause_then_resumed": "zqcanary-pause-resumed",  # a private pause reason, resumed from
    "end_reason": "zqcanary-end-reason",             # a private reason for ending
    "pause_at_deletion": "zqcanary-pause-open",      # a private reason still in the state when deleting
    "checkin_kept": "zqcanarycheckin",               # a check-in feeling she chose not to show
    "break_note": "zqcanary-break-note",             # a private note during a time-out's break
    "pause_feeling": "zqcanarypausefeel",            # the pause technique's feeling word
}
KEPT = "zqkept-bobs-own-reason"  # Bob's private reason: his, so it stays


def _found(app, words) -> set:
    """Which of `words` the database still holds anywhere."""
    with app.app_context():
        db.session.remove()
        if db.engine.dialect.name == "postgresql":
            return _found_in_rows(words)
        # Connections stay open, as a served app's pool keeps them: closing the last one would
        # checkpoint and delete the -wal file, hiding what a running server leaves in it.
        path = Path(db.engine.url.database)
    blob = b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists())
    return {w for w in words if w.encode() in blob}


def _found_in_rows(words) -> set:
    tables = db.session.scalars(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).all()
    found = set()
    for table in tables:
        for word in words:
            hits = db.session.scalar(text(f'SELECT count(*) FROM "{table}" t WHERE t::text LIKE :w'),
                                     {"w": f"%{word}%"})
            if hits:
                found.add(word)
    db.session.rollback()
    return found


def _act(app, user_id, public_id, seat, kind, data=None, step=None):
    with app.app_context():
        session = db.session.scalar(select(PracticeSession).where(PracticeSession.public_id == public_id))
        out = turns.apply(user_id, session.id, seat, None, kind, step, data or {})
        assert out.ack["ok"], out.ack
        db.session.remove()


def _state(app, public_id):
    with app.app_context():
        state = db.session.scalar(select(PracticeSession.state).where(PracticeSession.public_id == public_id))
        db.session.remove()
        return state


@pytest.fixture
def trio(app, make_user, api_as):
    """Alice (canary name and email), Bob, and Theo their consented therapist, over the API."""
    alice = make_user(f"{CANARIES['email']}@example.com", display_name=CANARIES["name"])
    bob = make_user("bob@example.com", display_name="Bob")
    theo = make_user("theo@example.com", role="therapist", display_name="Theo")
    as_alice, as_bob, as_theo = api_as(alice), api_as(bob), api_as(theo)
    code = as_alice.post("/api/v1/couple").get_json()["invitation"]["code"]
    assert as_bob.post("/api/v1/couple/join", json={"code": code}).status_code == 200
    link = as_alice.post("/api/v1/couple/therapists", json={"email": theo.email}).get_json()
    link_id = link.get("id") or link.get("link", {}).get("id")
    assert as_bob.post(f"/api/v1/couple/therapists/{link_id}/consent").status_code == 200
    labelled = app.test_client().post("/api/v1/tokens", json={
        "email": alice.email, "password": alice.password, "label": CANARIES["label"]})
    assert labelled.status_code == 201, labelled.get_json()
    return alice, bob, theo, as_alice, as_bob, as_theo


def _start(as_alice) -> str:
    resp = as_alice.post("/api/v1/sessions")
    assert resp.status_code in (200, 201), resp.get_json()
    return resp.get_json()["session"]["id"]


def test_deleting_a_partner_leaves_no_private_word_anywhere_in_the_database(app, trio):
    alice, bob, theo, as_alice, as_bob, as_theo = trio
    first = _start(as_alice)
    _act(app, alice.id, first, "a", "safety", {"safe": True})
    _act(app, bob.id, first, "b", "safety", {"safe": True})
    for _ in range(6):  # the state, with the reason in it, rewritten again and again
        _act(app, alice.id, first, "a", "pause", {"reason": CANARIES["pause_then_resumed"]})
        _act(app, alice.id, first, "a", "ready")
        _act(app, bob.id, first, "b", "ready")
    _act(app, bob.id, first, "b", "pause", {"reason": KEPT})
    _act(app, bob.id, first, "b", "ready")
    _act(app, alice.id, first, "a", "ready")
    _act(app, alice.id, first, "a", "end", {"reason": CANARIES["end_reason"]})
    second = _start(as_alice)
    _act(app, alice.id, second, "a", "safety", {"safe": False})
    _act(app, bob.id, second, "b", "safety", {"safe": True})
    assert _state(app, second)["safety"] == {"a": False, "b": True}
    third = None
    if _state(app, second)["phase"] == "hold":  # a "no" holds the session: end it, open another
        _act(app, bob.id, second, "b", "end")
        third = _start(as_alice)
        _act(app, alice.id, third, "a", "safety", {"safe": True})
        _act(app, bob.id, third, "b", "safety", {"safe": True})
        # Private answers kept in the state too: an unshared check-in (Bob has not answered, so
        # it waits among the step's answers), a break's note in the running time-out's data.
        _act(app, alice.id, third, "a", "start_exercise", {"exercise": "greeting"})
        _act(app, alice.id, third, "a", "submit", {"suds": 8, "connected": 2, "share": False,
                                                   "feeling": CANARIES["checkin_kept"]}, step="suds_before")
        _act(app, alice.id, third, "a", "timeout", {"activity": CANARIES["break_note"]})
        _act(app, alice.id, third, "a", "pause", {"reason": CANARIES["pause_at_deletion"]})
        _act(app, alice.id, third, "a", "pause_check", {"feeling": CANARIES["pause_feeling"], "rating": 8})
        assert _state(app, third)["flooded"]["a"] is True
        assert _state(app, third)["distress"]["a"] == 8  # her latest rating (the calm gate)
        assert _state(app, third)["paused"]["reason"] == CANARIES["pause_at_deletion"]

    assert _found(app, [*CANARIES.values(), KEPT]) == {*CANARIES.values(), KEPT}  # the search works

    resp = as_alice.post("/api/v1/me/delete", json=DELETE)
    assert resp.status_code == 200, resp.get_json()

    left = _found(app, [*CANARIES.values(), KEPT])
    assert left == {KEPT}, f"still in the database after the deletion: {sorted(left - {KEPT})}"
    for public_id in filter(None, (first, second, third)):  # her safety answers, gone from the state
        assert _state(app, public_id)["safety"]["a"] is None
        assert _state(app, public_id)["safety"]["b"] is True
    if third:
        assert not _state(app, third)["flooded"]["a"]  # derived from her private ratings
        assert _state(app, third)["distress"]["a"] is None
    if not POSTGRES:
        with app.app_context():
            path = Path(db.engine.url.database)
        wal = Path(f"{path}-wal")
        assert not wal.exists() or wal.stat().st_size == 0  # checkpointed and truncated


def test_deleting_a_therapist_leaves_none_of_their_notes_or_name(app, make_user, api_as):
    alice, bob = make_user("alice@example.com", display_name="Alice"), make_user("bob@example.com", display_name="Bob")
    theo = make_user("zqcanarytheo@example.com", role="therapist", display_name="Zqcanarytherapist")
    as_alice, as_bob, as_theo = api_as(alice), api_as(bob), api_as(theo)
    code = as_alice.post("/api/v1/couple").get_json()["invitation"]["code"]
    as_bob.post("/api/v1/couple/join", json={"code": code})
    link = as_alice.post("/api/v1/couple/therapists", json={"email": theo.email}).get_json()
    link_id = link.get("id") or link.get("link", {}).get("id")
    assert as_bob.post(f"/api/v1/couple/therapists/{link_id}/consent").status_code == 200
    session = _start(as_alice)
    notes = ["zqcanary-note-one", "zqcanary-note-two"]
    browser = app.test_client()
    assert browser.post("/login", data={"email": theo.email, "password": theo.password}).status_code in (302, 303)
    for note in notes:
        assert browser.post(f"/sessions/{session}/notes", data={"body": note}).status_code == 303
    words = [*notes, "zqcanarytheo", "Zqcanarytherapist"]
    assert _found(app, words) == set(words)

    assert as_theo.post("/api/v1/me/delete", json=DELETE).status_code == 200

    assert _found(app, words) == set()


@pytest.mark.skipif(POSTGRES, reason="SQLite's pragmas")
def test_every_sqlite_connection_zeroes_what_it_deletes(app, tmp_path):
    """Debian's SQLite zeroes deleted content by default; python.org's builds do not. The app sets
    it on every connection itself: here on a connection whose build default is off."""
    from sqlalchemy import create_engine, event

    from couples.database import configure_engine
    engine = create_engine(f"sqlite:///{tmp_path / 'pragmas.db'}")

    @event.listens_for(engine, "connect")
    def _a_build_without_it(dbapi_conn, _record):  # runs before the app's own hook
        dbapi_conn.execute("PRAGMA secure_delete=OFF")
    configure_engine(engine)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA secure_delete").scalar() == 1
    engine.dispose()
    with app.app_context():
        assert db.session.execute(text("PRAGMA secure_delete")).scalar() == 1
        db.session.remove()
