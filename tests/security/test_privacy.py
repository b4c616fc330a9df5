"""Data rights and the audit log: export, delete (what happens to shared data), who viewed our
sessions, and the tamper-evident hash chain with its verifier command."""
import json
import threading

import pytest
from sqlalchemy import delete, select, update

from couples.privacy import audit, cli as cli_privacy
from couples.room import sessions, turns
from couples.extensions import db
from couples.models import AuditEntry, PracticeSession, SessionEvent, User
from support.tamper import past_the_triggers

DELETE = {"password": "correct horse battery", "confirm": "delete my account"}


def _act(world, who, kind, data):
    """A partner's action, applied through the practice service (as the socket handler does)."""
    with world.app.app_context():
        user = db.session.get(User, world.users[who])
        session = sessions.find(world.targets["partner"].session)
        seat = "a" if who == "partner" else "b"
        out = turns.apply(user.id, session.id, seat, None, kind, None, data)
        assert out.ack["ok"], out.ack
        db.session.remove()


def _api(world, actor, method, path, **kw):
    return world.app.test_client().open(path, method=method, headers=world.headers(actor), **kw)


# --------------------------------------------------------------------------- export


def test_export_holds_everything_about_me_and_no_secrets(fresh):
    _act(fresh, "partner", "safety", {"safe": True})
    _act(fresh, "partner_b", "safety", {"safe": True})
    _act(fresh, "partner", "pause", {"reason": "I need a glass of water"})
    resp = _api(fresh, "partner", "GET", "/api/v1/me/export")
    assert resp.status_code == 200 and "attachment" in resp.headers["Content-Disposition"]
    data = resp.get_json()
    assert data["account"]["email"] == "alice@example.com"
    couple = data["couples"][0]
    assert couple["partner"] == "Bob" and couple["your_seat"] == "a"
    assert [t["therapist"] for t in couple["therapists"]] == ["Theo", "Rex"]
    types = [e["type"] for e in couple["sessions"][0]["events"]]
    assert "safety_answered" in types and "pause_reason" in types
    assert any(e["action"] == "data_exported" for e in data["audit"])
    raw = resp.get_data(as_text=True)
    assert "secret_hash" not in raw and "password" not in raw and "$argon2" not in raw
    assert fresh.tokens["partner"] not in raw


def test_bob_never_sees_alices_private_reason_in_his_export(fresh):
    _act(fresh, "partner", "pause", {"reason": "PRIVATE-REASON-CANARY"})
    assert "PRIVATE-REASON-CANARY" in _api(fresh, "partner", "GET", "/api/v1/me/export").get_data(as_text=True)
    assert "PRIVATE-REASON-CANARY" not in _api(fresh, "partner_b", "GET", "/api/v1/me/export").get_data(as_text=True)


def test_therapist_export_has_their_notes(fresh):
    client = fresh.client("therapist")
    session = fresh.targets["therapist"].session
    assert client.post(f"/sessions/{session}/notes", data={"body": "Try the timeout next."}).status_code == 303
    data = _api(fresh, "therapist", "GET", "/api/v1/me/export").get_json()
    assert [n["body"] for n in data["therapist"]["notes"]] == ["Try the timeout next."]


# --------------------------------------------------------------------------- who viewed


def test_partners_see_who_viewed_their_sessions_and_when(fresh):
    session = fresh.targets["therapist"].session
    assert _api(fresh, "therapist", "GET", f"/api/v1/sessions/{session}/transcript").status_code == 200
    assert fresh.client("therapist").get(f"/sessions/{session}/transcript").status_code == 200
    for partner in ("partner", "partner_b"):
        entries = _api(fresh, partner, "GET", "/api/v1/couple/audit").get_json()["entries"]
        assert [(e["who"], e["action"]) for e in entries] == [("Theo", "transcript_read")] * 2
        assert all(e["at"] for e in entries)
    page = fresh.client("partner").get("/privacy").get_data(as_text=True)
    assert "Theo" in page and "Opened a transcript" in page
    assert _api(fresh, "other_partner", "GET", "/api/v1/couple/audit").get_json()["entries"] == []


# --------------------------------------------------------------------------- deletion


def test_delete_page_explains_before_confirming(fresh):
    page = fresh.client("partner").get("/privacy/delete").get_data(as_text=True)
    for words in ("with <bdi>Bob</bdi> ends for both of you", "A former partner", "stays in their record",
                  "What only you could see", "is erased", "download your data"):
        assert words in page, words


def test_delete_refuses_a_wrong_password_or_phrase_and_changes_nothing(fresh):
    before = fresh.snapshot()
    resp = _api(fresh, "partner", "POST", "/api/v1/me/delete", json={**DELETE, "password": "wrong"})
    assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "bad_credentials"
    resp = _api(fresh, "partner", "POST", "/api/v1/me/delete", json={**DELETE, "confirm": "yes"})
    assert resp.status_code == 422 and resp.get_json()["error"]["code"] == "confirmation_required"
    page = fresh.client("partner").post("/privacy/delete", data={**DELETE, "password": "wrong"})
    assert page.status_code == 401 and b"do not match" in page.data
    after = fresh.snapshot()
    assert {k: v for k, v in after["counts"].items() if k != "audit_log"} == \
           {k: v for k, v in before["counts"].items() if k != "audit_log"}
    assert after["sessions"] == before["sessions"]


def test_deleting_a_partner_keeps_what_they_said_to_bob_and_erases_what_was_only_theirs(fresh):
    session_id = fresh.targets["partner"].session
    _act(fresh, "partner", "safety", {"safe": True})
    _act(fresh, "partner_b", "safety", {"safe": True})
    _act(fresh, "partner", "pause", {"reason": "PRIVATE-REASON-CANARY"})
    resp = _api(fresh, "partner", "POST", "/api/v1/me/delete", json=DELETE)
    assert resp.status_code == 200, resp.get_json()
    # Alice is gone: her token, her cookie login and her password no longer work.
    assert _api(fresh, "partner", "GET", "/api/v1/me").status_code == 401
    assert fresh.client("partner").get("/dashboard").status_code == 302
    login = fresh.app.test_client().post("/api/v1/tokens", json={"email": "alice@example.com",
                                                                 "password": DELETE["password"]})
    assert login.status_code == 401
    # The couple ended; Theo lost access; Bob keeps his history, with Alice as "A former partner".
    assert _api(fresh, "partner_b", "GET", "/api/v1/couple").get_json()["couple"] is None
    assert _api(fresh, "therapist", "GET", f"/api/v1/sessions/{session_id}/transcript").status_code == 403
    bob = _api(fresh, "partner_b", "GET", f"/api/v1/sessions/{session_id}")
    assert bob.status_code == 200 and bob.get_json()["session"]["partners"]["a"] == "A former partner"
    assert bob.get_json()["session"]["active"] is False
    bobs_events = _api(fresh, "partner_b", "GET", f"/api/v1/sessions/{session_id}/events").get_json()["events"]
    assert "paused" in [e["type"] for e in bobs_events]  # what she did in front of him stays
    with fresh.app.app_context():
        rows = db.session.scalars(select(SessionEvent).order_by(SessionEvent.seq)).all()
        private = [r for r in rows if r.type in ("safety_answered", "pause_reason") and r.seat == "a"]
        assert private and all(r.data == {"erased": True} for r in private)
        shared = [r for r in rows if r.type == "paused"]
        assert shared[0].data == {"by": "a"}
        state = db.session.scalar(select(PracticeSession.state).where(PracticeSession.public_id == session_id))
        assert "PRIVATE-REASON-CANARY" not in json.dumps(state)
        alice = db.session.get(User, fresh.users["partner"])
        assert alice.deleted_at is not None and "alice" not in alice.email and alice.display_name == "A former partner"
        assert audit.verify()
        assert db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id.desc())).first() == "account_deleted"
    # Her address is free again.
    again = fresh.app.test_client().post("/api/v1/accounts", json={
        "email": "alice@example.com", "password": "another long password", "display_name": "Alice", "role": "partner"})
    assert again.status_code == 202  # the same answer either way: the new login below tells
    assert fresh.app.test_client().post("/api/v1/tokens", json={
        "email": "alice@example.com", "password": "another long password"}).status_code == 201


def test_deleting_a_therapist_ends_their_links_and_deletes_their_notes(fresh):
    session = fresh.targets["therapist"].session
    fresh.client("therapist").post(f"/sessions/{session}/notes", data={"body": "A private note."})
    resp = fresh.client("therapist").post("/privacy/delete", data=DELETE)
    assert resp.status_code == 200 and b"Your account is deleted" in resp.data
    assert _api(fresh, "therapist", "GET", "/api/v1/me").status_code == 401
    status = _api(fresh, "partner", "GET", "/api/v1/couple").get_json()
    assert [v["role"] for v in status["can_see_our_data"]] == ["partner", "partner"]
    with fresh.app.app_context():
        from couples.models import TherapistNote
        assert db.session.scalars(select(TherapistNote)).all() == []


# --------------------------------------------------------------------------- the audit chain


def _seed_entries(app, n=5):
    with app.app_context():
        for i in range(n):
            audit.record(None, "test_entry", None, f"n:{i}", {"i": i})
        db.session.commit()


def test_verify_names_the_first_edited_row(app):
    _seed_entries(app)
    with app.app_context():
        assert audit.verify() and audit.verify().checked == 5
        with past_the_triggers():
            db.session.execute(update(AuditEntry).where(AuditEntry.id == 3).values(detail={"i": 99}))
        report = audit.verify()
        assert not report and report.broken_id == 3 and "edited" in report.reason


def test_verify_notices_a_removed_row(app):
    _seed_entries(app)
    with app.app_context():
        with past_the_triggers():
            db.session.execute(delete(AuditEntry).where(AuditEntry.id == 2))
        report = audit.verify()
        assert not report and report.broken_id == 3 and "removed" in report.reason


def test_a_head_kept_elsewhere_shows_newest_rows_removed(app):
    """A hash chain alone stays valid when its newest rows go; the head printed earlier does not."""
    _seed_entries(app, 5)
    with app.app_context():
        head = audit.verify().head
        assert head.startswith("5:")
        _seed_entries(app, 2)
        assert audit.verify(expect=audit.parse_head(head))  # the chain grew past it: fine
        with past_the_triggers():
            db.session.execute(delete(AuditEntry).where(AuditEntry.id >= 5))
        assert audit.verify(use_checkpoints=False)  # what the chain alone says: 4 valid entries
        assert "newest entries were removed" in audit.verify().reason  # the checkpoint file says more
        report = audit.verify(expect=audit.parse_head(head), use_checkpoints=False)  # a head kept off the machine
        assert not report and "5 were recorded earlier" in report.reason and "removed" in report.reason


def test_a_rewritten_chain_does_not_hold_the_recorded_head(app):
    _seed_entries(app, 3)
    with app.app_context():
        head = audit.verify().head
        with past_the_triggers():
            db.session.execute(delete(AuditEntry))
    with app.app_context():  # a whole new, valid chain, longer than the old one
        for i in range(4):
            audit.record(None, "test_entry", None, f"forged:{i}", {"i": i})
        db.session.commit()
        assert audit.verify(use_checkpoints=False)
        assert "not the one the checkpoint file recorded" in audit.verify().reason  # the file outside the database
        report = audit.verify(expect=audit.parse_head(head), use_checkpoints=False)  # a head kept off the machine
        assert not report and "entry 3 is not the one recorded" in report.reason


def test_audit_verify_command_prints_the_head_and_checks_one(app):
    cli_privacy.register(app)
    _seed_entries(app, 3)
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["audit-verify"])
    head = ok.output.rsplit("head ", 1)[1].strip()
    assert ok.exit_code == 0 and head.startswith("3:")
    assert runner.invoke(args=["audit-verify", "--expect", head]).exit_code == 0
    with app.app_context(), past_the_triggers():
        db.session.execute(delete(AuditEntry).where(AuditEntry.id == 3))
    gone = runner.invoke(args=["audit-verify", "--expect", head])
    assert gone.exit_code == 1 and "newest entries were removed" in gone.output
    for bad in ("3", "x:" + "a" * 64, "3:" + "A" * 64, "3:abc"):
        refused = runner.invoke(args=["audit-verify", "--expect", bad])
        assert refused.exit_code == 2 and "N:HASH" in refused.output, bad


def test_audit_verify_command(app):
    cli_privacy.register(app)
    _seed_entries(app)
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["audit-verify"])
    assert ok.exit_code == 0 and "intact: 5 entries" in ok.output
    with app.app_context(), past_the_triggers():
        db.session.execute(update(AuditEntry).where(AuditEntry.id == 4).values(action="forged"))
    bad = runner.invoke(args=["audit-verify"])
    assert bad.exit_code == 1 and "BROKEN at entry id=4" in bad.output


def test_concurrent_appends_never_fork_the_chain(app):
    """Eight threads append at once; the chain stays one line (the write lock, and UNIQUE prev_hash)."""
    errors = []

    def append(i):
        with app.app_context():
            try:
                for j in range(5):
                    audit.record(None, "race", None, f"t{i}:{j}")
                    db.session.commit()
            except Exception as err:  # noqa: BLE001
                errors.append(repr(err))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=append, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with app.app_context():
        assert audit.verify().checked == 40


def test_prev_hash_is_unique_in_the_schema(app):
    _seed_entries(app, 2)
    with app.app_context():
        first = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).first()
        db.session.add(AuditEntry(at=first.at, actor_id=None, action="fork", couple_id=None, subject=None,
                                  detail={}, prev_hash=first.prev_hash, hash="f" * 64))
        with pytest.raises(Exception):
            db.session.commit()
