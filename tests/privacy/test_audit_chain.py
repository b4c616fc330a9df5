"""The audit chain under attack (issue 21, item 11): each tampering a person holding the database,
but not the audit key nor the checkpoint file, can do is caught by `flask audit-verify`; and
UPDATE and DELETE are refused by the database itself, on SQLite and PostgreSQL.

The tampering goes past the triggers (support/tamper.py), as the table's owner could."""
import os
from pathlib import Path

import pytest
from sqlalchemy import create_engine, delete, select, text, update
from sqlalchemy.exc import DBAPIError

from couples.config import Config
from couples.extensions import db
from couples.models import AuditEntry, utcnow
from couples.privacy import audit, checkpoints
from support.tamper import past_the_triggers

POSTGRES = os.environ.get("TEST_DATABASE", "sqlite") == "postgresql"


def _seed(app, n=5, commits=True, tag="n"):
    """n entries, each committed on its own (so each has its checkpoint line)."""
    with app.app_context():
        for i in range(n):
            audit.record(None, "test_entry", None, f"{tag}:{i}", {"i": i})
            if commits:
                db.session.commit()
        db.session.commit()
        ids = db.session.scalars(select(AuditEntry.id).order_by(AuditEntry.id)).all()
        db.session.remove()
        return ids


def _rechain(digest, after_id=0):
    """Re-link every entry after `after_id` to its predecessor and recompute its hash with
    `digest` (what someone who deleted rows would do to hide it). In an app context."""
    entries = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    prev = audit.GENESIS
    with past_the_triggers():
        for entry in entries:
            if entry.id > after_id:
                entry.prev_hash = prev
                entry.hash = "0" * 64  # free the UNIQUE value first
                db.session.flush()
                entry.hash = digest(entry)
                db.session.flush()
            prev = entry.hash


def _verify_cli(app, *args):
    return app.test_cli_runner().invoke(args=["audit-verify", *args])


# --------------------------------------------------------------------------- each tampering


def test_an_edited_row_is_named(app):
    ids = _seed(app)
    with app.app_context():
        with past_the_triggers():
            db.session.execute(update(AuditEntry).where(AuditEntry.id == ids[2]).values(subject="n:forged"))
        report = audit.verify()
        assert not report and report.broken_id == ids[2] and "edited" in report.reason


def test_a_deleted_row_rechained_with_the_codes_own_plain_digest_is_caught(app):
    """Before the key, `_digest` was SHA-256 of public data: delete a row, recompute the rest
    with it, and the chain verified. Now the rest is not signed with the key."""
    ids = _seed(app)
    with app.app_context():
        with past_the_triggers():
            db.session.execute(delete(AuditEntry).where(AuditEntry.id == ids[1]))
        _rechain(audit.legacy_digest, after_id=ids[0])
        report = audit.verify(use_checkpoints=False)  # the chain alone, without the file
        assert not report and report.broken_id == ids[2] and "not signed with the audit key" in report.reason
        assert not _verify_cli(app).exit_code == 0


def test_a_whole_chain_rewritten_with_the_plain_digest_is_caught(app):
    """Every row recomputed with plain SHA-256 looks like "before the key": the checkpoint, kept
    outside the database, shows it is not the chain that was written."""
    ids = _seed(app)
    with app.app_context():
        with past_the_triggers():
            db.session.execute(delete(AuditEntry).where(AuditEntry.id == ids[1]))
        _rechain(audit.legacy_digest)
        assert audit.verify(use_checkpoints=False).legacy == 4  # all "before the key": not enough
        report = audit.verify()
        assert not report and "checkpoint file" in report.reason
    out = _verify_cli(app)
    assert out.exit_code == 1 and "BROKEN" in out.output


def test_a_row_rechained_with_a_guessed_key_is_caught(app):
    ids = _seed(app)
    with app.app_context():
        with past_the_triggers():
            db.session.execute(delete(AuditEntry).where(AuditEntry.id == ids[3]))
        _rechain(lambda e: audit.signed_digest(e, "a guessed key, not the one in the config"), after_id=ids[2])
        report = audit.verify(use_checkpoints=False)
        assert not report and report.broken_id == ids[4] and "key" in report.reason


def test_a_row_rechained_with_the_real_key_is_caught_by_the_checkpoint(app):
    """Even with the key, a rewrite shows, as long as the checkpoint file was out of reach."""
    ids = _seed(app)
    with app.app_context():
        key = app.config["AUDIT_KEY"]
        with past_the_triggers():
            db.session.execute(delete(AuditEntry).where(AuditEntry.id == ids[1]))
        _rechain(lambda e: audit.signed_digest(e, key), after_id=ids[0])
        assert audit.verify(use_checkpoints=False)  # a perfect chain
        report = audit.verify()
        assert not report and "checkpoint file recorded" in report.reason


def test_a_deleted_tail_is_caught_without_any_head_kept_by_hand(app):
    ids = _seed(app)
    with app.app_context():
        with past_the_triggers():
            db.session.execute(delete(AuditEntry).where(AuditEntry.id >= ids[3]))
        assert audit.verify(use_checkpoints=False)  # what the chain alone says: 3 valid entries
        report = audit.verify()
        assert not report and "newest entries were removed" in report.reason
    out = _verify_cli(app)
    assert out.exit_code == 1 and "newest entries were removed" in out.output


def test_an_emptied_table_is_caught(app):
    _seed(app, 3)
    with app.app_context():
        with past_the_triggers():
            db.session.execute(delete(AuditEntry))
        assert audit.verify(use_checkpoints=False).checked == 0
    out = _verify_cli(app)
    assert out.exit_code == 1 and "the table was emptied" in out.output


def test_a_table_emptied_then_refilled_by_the_app_is_caught(app):
    """Emptied, and the app goes on appending: the new entries reuse the old ids (SQLite) or not
    (PostgreSQL); either way the file remembers the old ones."""
    _seed(app, 4)
    with app.app_context():
        with past_the_triggers():
            db.session.execute(delete(AuditEntry))
    _seed(app, 6, tag="later")
    with app.app_context():
        assert audit.verify(use_checkpoints=False)
        assert not audit.verify()


# --------------------------------------------------------------------------- the database refuses


def test_update_and_delete_are_refused_by_the_database(app):
    ids = _seed(app, 3)
    with app.app_context():
        before = [(e.id, e.hash, e.detail) for e in db.session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
        statements = [update(AuditEntry).where(AuditEntry.id == ids[1]).values(detail={"i": 42}),
                      update(AuditEntry).values(action="forged"),
                      delete(AuditEntry).where(AuditEntry.id == ids[2]),
                      delete(AuditEntry)]
        for statement in statements:
            with pytest.raises(DBAPIError, match="append-only"):
                db.session.execute(statement)
            db.session.rollback()
        with pytest.raises(DBAPIError, match="append-only"):  # the ORM's own path
            entry = db.session.get(AuditEntry, ids[0])
            entry.action = "forged"
            db.session.commit()
        db.session.rollback()
        if POSTGRES:
            with pytest.raises(DBAPIError, match="append-only"):
                db.session.execute(text("TRUNCATE audit_log"))
            db.session.rollback()
        after = [(e.id, e.hash, e.detail) for e in db.session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
        assert after == before and audit.verify()
        url = db.engine.url
    raw = create_engine(url)  # any other client of the database, not the app
    try:
        with raw.connect() as conn:
            for sql in ("UPDATE audit_log SET subject = 'x'", "DELETE FROM audit_log"):
                with pytest.raises(DBAPIError, match="append-only"):
                    conn.execute(text(sql))
                conn.rollback()
    finally:
        raw.dispose()


def test_the_write_lock_touches_no_row_so_appends_still_work(app):
    """SQLite's append lock is an UPDATE matching no row: the trigger must not fire on it."""
    assert len(_seed(app, 3, commits=False)) == 3


# --------------------------------------------------------------------------- before the key


def _legacy_rows(n):
    """Entries as the code wrote them before the key (plain SHA-256), in an app context."""
    prev = audit.GENESIS
    for i in range(n):
        entry = AuditEntry(at=utcnow().replace(microsecond=0), actor_id=None, action="old_entry",
                           couple_id=None, subject=f"old:{i}", detail={}, prev_hash=prev)
        entry.hash = audit.legacy_digest(entry)
        db.session.add(entry)
        db.session.flush()
        prev = entry.hash
    db.session.commit()


def test_entries_from_before_the_key_verify_and_are_reported_as_such(app):
    with app.app_context():
        _legacy_rows(3)
        alone = audit.verify()
        assert alone and alone.legacy == 3 and any("before the key" in n for n in alone.notes)
        audit.record(None, "new_entry", None, "new:0")
        audit.record(None, "new_entry", None, "new:1")
        db.session.commit()
        report = audit.verify()
        assert report and report.checked == 5 and report.legacy == 3
        assert "(3 before the key, 2 signed)" in report.describe()
    out = _verify_cli(app)
    assert out.exit_code == 0 and "3 before the key, 2 signed" in out.output


def test_an_unsigned_entry_after_signed_ones_is_refused(app):
    _seed(app, 2)
    with app.app_context():
        last = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
        forged = AuditEntry(at=utcnow().replace(microsecond=0), actor_id=None, action="forged",
                            couple_id=None, subject=None, detail={}, prev_hash=last.hash)
        forged.hash = audit.legacy_digest(forged)
        db.session.add(forged)  # an INSERT: the triggers allow it, the key does not
        db.session.commit()
        report = audit.verify(use_checkpoints=False)
        assert not report and report.broken_id == forged.id and "not signed" in report.reason


# --------------------------------------------------------------------------- the checkpoint file


def _checkpoint_path(app) -> Path:
    return Path(app.config["AUDIT_CHECKPOINTS"])


def test_a_checkpoint_is_written_at_commit_and_never_for_a_rollback(app):
    path = _checkpoint_path(app)
    with app.app_context():
        audit.record(None, "rolled_back", None, None)
        db.session.rollback()
        assert not path.exists() or path.read_text() == ""
        entry = audit.record(None, "kept", None, None)
        entry_id, digest = entry.id, entry.hash
        db.session.commit()
        db_id = checkpoints.database_id(db.engine.url)
    lines = path.read_text().splitlines()
    assert len(lines) == 1 and lines[0].split(" ")[:5] == ["ckpt1", "c", db_id, str(entry_id), digest]
    assert path.stat().st_mode & 0o077 == 0


def test_forged_torn_and_foreign_checkpoint_lines(app):
    ids = _seed(app, 2)
    path = _checkpoint_path(app)
    with app.app_context():
        db_id = checkpoints.database_id(db.engine.url)
        other = checkpoints.line(app.config["AUDIT_KEY"], "c", "0123456789abcdef", 99, "e" * 64)
        path.write_text(path.read_text() + other + "ckpt1 c " + db_id + " 9")  # another database; a torn line
        assert audit.verify(), "another database's lines and a torn last line are not this chain's business"
        forged = checkpoints.line("not the audit key" * 3, "c", db_id, ids[-1] + 10, "f" * 64)
        path.write_text(path.read_text() + "\n" + forged)
        report = audit.verify()
        assert not report and "not signed with this audit key" in report.reason


def test_no_checkpoint_file_is_said_not_hidden(app):
    _seed(app, 2)
    _checkpoint_path(app).unlink()
    out = _verify_cli(app)
    assert out.exit_code == 0 and "no checkpoint recorded for this database" in out.output


def test_accept_restore_makes_the_restored_head_the_checkpoint(app):
    """A restore brings back an older database on purpose: `--accept-restore` records its head."""
    ids = _seed(app, 5)
    with app.app_context(), past_the_triggers():  # as if the backup was taken after entry 3
        db.session.execute(delete(AuditEntry).where(AuditEntry.id > ids[2]))
    assert _verify_cli(app).exit_code == 1
    accepted = _verify_cli(app, "--accept-restore")
    assert accepted.exit_code == 0 and f"checkpoint at entry id={ids[2]} holds" in accepted.output
    _seed(app, 2)
    assert _verify_cli(app).exit_code == 0
    with app.app_context(), past_the_triggers():  # and a later truncation still shows
        db.session.execute(delete(AuditEntry).where(AuditEntry.id > ids[2]))
    assert _verify_cli(app).exit_code == 1


# --------------------------------------------------------------------------- the key


def test_the_audit_key_is_generated_once_under_instance_and_required_in_production(tmp_path, monkeypatch):
    for var in ("COUPLES_AUDIT_KEY", "COUPLES_ENV"):
        monkeypatch.delenv(var, raising=False)
    first = Config(str(tmp_path)).AUDIT_KEY
    assert len(first) == 64 and (tmp_path / "audit_key").read_text().strip() == first
    assert (tmp_path / "audit_key").stat().st_mode & 0o077 == 0
    assert Config(str(tmp_path)).AUDIT_KEY == first
    assert Config(str(tmp_path)).AUDIT_CHECKPOINTS == str(tmp_path / "audit-checkpoints")
    monkeypatch.setenv("COUPLES_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 64)
    monkeypatch.setenv("COUPLES_BASE_URL", "https://couples.example.org")
    with pytest.raises(RuntimeError, match="COUPLES_AUDIT_KEY"):
        Config(str(tmp_path))
    monkeypatch.setenv("COUPLES_AUDIT_KEY", "short")
    with pytest.raises(RuntimeError, match="at least 32"):
        Config(str(tmp_path))
    monkeypatch.setenv("COUPLES_AUDIT_KEY", "k" * 64)
    assert Config(str(tmp_path)).AUDIT_KEY == "k" * 64


def test_another_key_verifies_nothing(app):
    _seed(app, 2)
    with app.app_context():
        report = audit.verify(key="z" * 64, use_checkpoints=False)
        assert not report and report.checked == 0 and "key" in report.reason
