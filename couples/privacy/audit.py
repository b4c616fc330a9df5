"""An append-only audit trail: who viewed or changed what, each entry chained to the previous
and signed with a key kept outside the database.

`record()` adds a row to the caller's transaction (it never commits), so an entry exists exactly
when the change it describes does. Each row's `hash` is HMAC-SHA256, under the audit key
(COUPLES_AUDIT_KEY, config.py), of the previous row's hash plus the canonical JSON of the row's
own fields: editing, deleting or inserting a row breaks the chain, and without the key nobody can
recompute it. `verify()` names the first row where it breaks. Appends are serialised (a write
lock taken before the last hash is read) and `prev_hash` is UNIQUE, so two writers can never fork
the chain; database triggers refuse UPDATE and DELETE on the table (migration f3b9d1c7a2e6).

Removing the newest rows, or every row, leaves a valid (shorter, or empty) chain: so every commit
that appended entries also appends the signed head to a checkpoint file outside the database
(checkpoints.py), and `verify()` requires the chain to still hold every entry checkpointed
there (since the last restore).

Rows written before the key existed carry a plain SHA-256 (`legacy_digest`): they verify as
"before the key" as long as they come first; once a signed row follows them, it anchors them.
"""
from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import select, text

from ..extensions import db
from ..models import AuditEntry, utcnow
from . import checkpoints

GENESIS = "0" * 64

# Actions that record a therapist reading a couple's data, or pausing their joint practice (shown
# to the partners).
VIEW_ACTIONS = {
    "session_observed": "Observed a live session",
    "transcript_read": "Opened a transcript",
    "session_events_read": "Read a session's events",
    "session_read": "Looked at a session's current step",
    "progress_read": "Looked at your progress",
    "note_added": "Wrote a private note on a session",
    # Written on every view of the couple's signals, whatever they held (review/signals.py).
    "signals_read": "Looked at the safety signals meant for them",
    # A therapist's hold on joint practice (room/holds.py): what they did, never why.
    "practice_held": "Paused your joint practice",
    "practice_released": "Lifted the pause on your joint practice",
}


def _canonical(entry: AuditEntry) -> str:
    return json.dumps({
        "at": entry.at.isoformat(), "actor_id": entry.actor_id, "action": entry.action,
        "couple_id": entry.couple_id, "subject": entry.subject, "detail": entry.detail,
        "prev_hash": entry.prev_hash,
    }, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def legacy_digest(entry: AuditEntry) -> str:
    """The digest of entries written before the key: anyone can recompute it."""
    return hashlib.sha256((entry.prev_hash + _canonical(entry)).encode()).hexdigest()


def signed_digest(entry: AuditEntry, key: str) -> str:
    """HMAC-SHA256 under the audit key: only who holds the key can compute it."""
    return hmac.new(key.encode(), (entry.prev_hash + _canonical(entry)).encode(), hashlib.sha256).hexdigest()


def _key() -> str:
    return current_app.config["AUDIT_KEY"]


def _take_write_lock() -> None:
    """Serialise appends until this transaction ends, before the newest hash is read."""
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(4242001)"))  # released at commit
    elif dialect == "sqlite":
        # A write statement (even one touching no row) takes SQLite's single RESERVED lock; it
        # touches no row, so the append-only trigger does not fire.
        db.session.execute(text("UPDATE audit_log SET id = id WHERE 0 = 1"))


def _last_hash() -> str:
    _take_write_lock()
    query = select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)
    return db.session.scalar(query) or GENESIS


def record(actor, action: str, couple_id: int | None = None, subject: str | None = None,
           detail: dict | None = None) -> AuditEntry:
    """Append one entry to the current transaction (after the changes it records); the caller commits."""
    db.session.flush()
    entry = AuditEntry(at=utcnow().replace(microsecond=0), actor_id=getattr(actor, "id", actor),
                       action=action, couple_id=couple_id, subject=subject, detail=detail or {},
                       prev_hash=_last_hash())
    entry.hash = signed_digest(entry, _key())
    db.session.add(entry)
    db.session.flush()
    checkpoints.note_appended(db.session, entry.id, entry.hash)  # written once this commits
    return entry


def therapist_read(user, role: str, session, action: str, detail: dict | None = None) -> None:
    """A therapist's read of a couple's session is recorded (and committed); partners' are not."""
    if role != "therapist":
        return
    record(user, action, session.couple_id, f"session:{session.public_id}", detail)
    db.session.commit()


@dataclass
class Report:
    """The result of walking the chain: truthy when intact, else the first broken row and why.

    `head` is "N:hash" of the last verified entry: kept somewhere else, it lets a later check
    (`expect`) see that the chain still holds that entry. `legacy`: entries before the key;
    `checkpoint`: the id of the checkpointed entry the chain was found to hold (None: none was
    recorded for this database, or checkpoints were not consulted)."""

    checked: int
    broken_id: int | None = None
    reason: str | None = None
    head: str = f"0:{GENESIS}"
    legacy: int = 0
    checkpoint: int | None = None
    notes: list = field(default_factory=list)

    def __bool__(self) -> bool:
        return self.reason is None

    def describe(self) -> str:
        if self:
            signed = f" ({self.legacy} before the key, {self.checked - self.legacy} signed)" if self.legacy else ""
            held = f", checkpoint at entry id={self.checkpoint} holds" if self.checkpoint is not None else ""
            return f"audit log intact: {self.checked} entries, chain verified{signed}{held}; head {self.head}"
        where = f" at entry id={self.broken_id}" if self.broken_id is not None else ""
        return f"audit log BROKEN{where}: {self.reason} ({self.checked} entries before it verified)"


def parse_head(text: str) -> tuple[int, str]:
    """ "N:hash" as printed by `describe`, or ValueError saying what is wrong with it."""
    count, sep, digest = text.strip().partition(":")
    if not sep or not count.isdigit() or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise ValueError("expected N:HASH as audit-verify prints it (a count, a colon, 64 hex digits)")
    return int(count), digest


def _checkpoints(session) -> checkpoints.Checkpoints:
    cfg = current_app.config
    return checkpoints.read(cfg["AUDIT_CHECKPOINTS"], cfg["AUDIT_KEY"],
                            checkpoints.database_id(session.get_bind().url))


def verify(batch: int = 1000, expect: tuple[int, str] | None = None, *, session=None, key: str | None = None,
           use_checkpoints: bool = True) -> Report:
    """Walk the chain from the first entry; report the first row whose link or signature is wrong,
    then whether the chain still holds every entry this database's checkpoints recorded
    (`use_checkpoints`).
    `expect` (count, hash): a head recorded earlier, which entry number `count` must still have.
    `session`: another database's Session (a backup being checked); `key`: the audit key."""
    sess = session if session is not None else db.session
    key = key if key is not None else _key()
    marks = _checkpoints(sess) if use_checkpoints else checkpoints.Checkpoints()
    prev, checked, last_id, legacy, held = GENESIS, 0, 0, 0, set()

    def broken(entry_id, reason):
        return Report(checked, entry_id, reason, legacy=legacy)

    while True:
        rows = sess.scalars(select(AuditEntry).where(AuditEntry.id > last_id)
                            .order_by(AuditEntry.id).limit(batch)).all()
        if not rows:
            break
        for entry in rows:
            if entry.prev_hash != prev:
                return broken(entry.id, "prev_hash does not match the previous entry's hash "
                                        "(a row was removed, inserted or reordered)")
            if entry.hash != signed_digest(entry, key):
                if entry.hash != legacy_digest(entry):
                    return broken(entry.id, "hash does not match the entry's content under the audit key "
                                            "(the row was edited, or the key is not the one it was signed with)")
                if checked > legacy:
                    return broken(entry.id, "the entry is not signed with the audit key, yet signed entries "
                                            "come before it (rewritten by someone without the key)")
                legacy += 1
            if entry.id in marks.marks:
                if entry.hash != marks.marks[entry.id]:
                    return broken(entry.id, "the entry is not the one the checkpoint file recorded "
                                            "(the chain was rewritten from there or before)")
                held.add(entry.id)
            prev, checked, last_id = entry.hash, checked + 1, entry.id
            if expect and checked == expect[0] and entry.hash != expect[1]:
                return Report(checked - 1, entry.id, f"entry {checked} is not the one recorded earlier "
                                                     f"(the chain was rewritten from there or before)", legacy=legacy)
        sess.expunge_all()
    missing = sorted(set(marks.marks) - held)
    if missing:
        if checked == 0:
            return broken(None, f"the table is empty, but the checkpoint file records entry id={missing[-1]}: "
                                f"the table was emptied")
        if missing[0] > last_id:
            return broken(None, f"the chain ends at entry id={last_id}, but the checkpoint file records entry "
                                f"id={missing[-1]}: its newest entries were removed")
        return broken(missing[0], "the checkpoint file records this entry, which the chain no longer holds")
    if marks.problems:
        return broken(None, "the checkpoint file does not verify: " + "; ".join(marks.problems[:3]))
    if expect and checked < expect[0]:
        return broken(None, f"the chain has {checked} entries, but {expect[0]} were recorded "
                            f"earlier: its newest entries were removed")
    report = Report(checked, head=f"{checked}:{prev}", legacy=legacy, checkpoint=max(held) if held else None)
    if use_checkpoints and not held and checked:
        report.notes.append("no checkpoint recorded for this database yet (a restored or moved database, "
                            "or no entry appended since the key): removing the newest entries would not show")
    if legacy and legacy == checked:
        report.notes.append(f"all {legacy} entries are from before the key: they are anchored once a signed "
                            f"entry follows them")
    return report


def accept_restore(session=None) -> Report:
    """After a restore: verify the chain as it is (ignoring this database's checkpoints, which are
    newer than the backup) and, if intact, record its head as this database's new checkpoint."""
    sess = session if session is not None else db.session
    report = verify(session=sess, use_checkpoints=False)
    if report:
        last = sess.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).first()
        cfg = current_app.config
        db_id = checkpoints.database_id(sess.get_bind().url)
        checkpoints.append(cfg["AUDIT_CHECKPOINTS"], checkpoints.line(
            cfg["AUDIT_KEY"], "r", db_id, last.id if last else 0, last.hash if last else GENESIS))
        report.checkpoint = last.id if last else None
    return report


def entries_about(couple_ids: list[int], actions=None) -> list[AuditEntry]:
    """Entries about these couples, newest first (optionally only some actions)."""
    if not couple_ids:
        return []
    query = select(AuditEntry).where(AuditEntry.couple_id.in_(couple_ids))
    if actions:
        query = query.where(AuditEntry.action.in_(list(actions)))
    return list(db.session.scalars(query.order_by(AuditEntry.id.desc())))
