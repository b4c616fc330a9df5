"""An append-only audit trail: who viewed or changed what, each entry chained to the previous.

`record()` adds a row to the caller's transaction (it never commits), so an entry exists exactly
when the change it describes does. Each row's `hash` is SHA-256 of the previous row's hash plus
the canonical JSON of the row's own fields; editing, deleting or inserting a row breaks the
chain, and `verify()` names the first row where it breaks. Appends are serialised (a write lock
taken before the last hash is read) and `prev_hash` is UNIQUE, so two writers can never fork the
chain; the database refuses UPDATE and DELETE on the table (triggers, see migrations).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from sqlalchemy import select, text

from .extensions import db
from .models import AuditEntry, utcnow

GENESIS = "0" * 64

# Actions that record a therapist reading a couple's data (shown to the partners).
VIEW_ACTIONS = {
    "session_observed": "Observed a live session",
    "transcript_read": "Opened a transcript",
    "session_events_read": "Read a session's events",
    "session_read": "Looked at a session's current step",
    "progress_read": "Looked at your progress",
    "note_added": "Wrote a private note on a session",
}


def _canonical(entry: AuditEntry) -> str:
    return json.dumps({
        "at": entry.at.isoformat(), "actor_id": entry.actor_id, "action": entry.action,
        "couple_id": entry.couple_id, "subject": entry.subject, "detail": entry.detail,
        "prev_hash": entry.prev_hash,
    }, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _digest(entry: AuditEntry) -> str:
    return hashlib.sha256((entry.prev_hash + _canonical(entry)).encode()).hexdigest()


def _take_write_lock() -> None:
    """Serialise appends until this transaction ends, before the newest hash is read."""
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(4242001)"))  # released at commit
    elif dialect == "sqlite":
        # A write statement (even one touching no row) takes SQLite's single RESERVED lock.
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
    entry.hash = _digest(entry)
    db.session.add(entry)
    db.session.flush()
    return entry


@dataclass
class Report:
    """The result of walking the chain: truthy when intact, else the first broken row and why."""

    checked: int
    broken_id: int | None = None
    reason: str | None = None

    def __bool__(self) -> bool:
        return self.broken_id is None

    def describe(self) -> str:
        if self:
            return f"audit log intact: {self.checked} entries, chain verified"
        return f"audit log BROKEN at entry id={self.broken_id}: {self.reason} ({self.checked} entries before it verified)"


def verify(batch: int = 1000) -> Report:
    """Walk the chain from the first entry; report the first row whose link or hash is wrong."""
    prev, checked, last_id = GENESIS, 0, 0
    while True:
        rows = db.session.scalars(select(AuditEntry).where(AuditEntry.id > last_id)
                                  .order_by(AuditEntry.id).limit(batch)).all()
        if not rows:
            return Report(checked)
        for entry in rows:
            if entry.prev_hash != prev:
                return Report(checked, entry.id, "prev_hash does not match the previous entry's hash "
                                                  "(a row was removed, inserted or reordered)")
            if entry.hash != _digest(entry):
                return Report(checked, entry.id, "hash does not match the entry's content (the row was edited)")
            prev, checked, last_id = entry.hash, checked + 1, entry.id
        db.session.expunge_all()


def entries_about(couple_ids: list[int], actions=None) -> list[AuditEntry]:
    """Entries about these couples, newest first (optionally only some actions)."""
    if not couple_ids:
        return []
    query = select(AuditEntry).where(AuditEntry.couple_id.in_(couple_ids))
    if actions:
        query = query.where(AuditEntry.action.in_(list(actions)))
    return list(db.session.scalars(query.order_by(AuditEntry.id.desc())))
