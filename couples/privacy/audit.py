"""An append-only audit trail: who viewed or changed what, each entry chained to the previous.

`record()` adds a row to the caller's transaction (it never commits), so an entry exists exactly
when the change it describes does. Each row's `hash` is SHA-256 of the previous row's hash plus
the canonical JSON of the row's own fields; editing, deleting or inserting a row breaks the
chain, and `verify()` names the first row where it breaks. Appends are serialised (a write lock
taken before the last hash is read) and `prev_hash` is UNIQUE, so two writers can never fork the
chain. The app never updates or deletes a row (no database trigger refuses it yet). Removing the
newest rows leaves a valid, shorter chain: only a head recorded elsewhere shows it (`verify(expect=)`).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from sqlalchemy import select, text

from ..extensions import db
from ..models import AuditEntry, utcnow

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
    (`expect`) see that the chain still holds that entry, which a hash chain alone cannot show
    when its newest rows are deleted."""

    checked: int
    broken_id: int | None = None
    reason: str | None = None
    head: str = f"0:{GENESIS}"

    def __bool__(self) -> bool:
        return self.reason is None

    def describe(self) -> str:
        if self:
            return f"audit log intact: {self.checked} entries, chain verified; head {self.head}"
        where = f" at entry id={self.broken_id}" if self.broken_id is not None else ""
        return f"audit log BROKEN{where}: {self.reason} ({self.checked} entries before it verified)"


def parse_head(text: str) -> tuple[int, str]:
    """ "N:hash" as printed by `describe`, or ValueError saying what is wrong with it."""
    count, sep, digest = text.strip().partition(":")
    if not sep or not count.isdigit() or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise ValueError("expected N:HASH as audit-verify prints it (a count, a colon, 64 hex digits)")
    return int(count), digest


def verify(batch: int = 1000, expect: tuple[int, str] | None = None) -> Report:
    """Walk the chain from the first entry; report the first row whose link or hash is wrong.
    `expect` (count, hash): a head recorded earlier, which entry number `count` must still have."""
    prev, checked, last_id = GENESIS, 0, 0
    while True:
        rows = db.session.scalars(select(AuditEntry).where(AuditEntry.id > last_id)
                                  .order_by(AuditEntry.id).limit(batch)).all()
        if not rows:
            break
        for entry in rows:
            if entry.prev_hash != prev:
                return Report(checked, entry.id, "prev_hash does not match the previous entry's hash "
                                                  "(a row was removed, inserted or reordered)")
            if entry.hash != _digest(entry):
                return Report(checked, entry.id, "hash does not match the entry's content (the row was edited)")
            prev, checked, last_id = entry.hash, checked + 1, entry.id
            if expect and checked == expect[0] and entry.hash != expect[1]:
                return Report(checked - 1, entry.id, f"entry {checked} is not the one recorded earlier "
                                                     f"(the chain was rewritten from there or before)")
        db.session.expunge_all()
    if expect and checked < expect[0]:
        return Report(checked, None, f"the chain has {checked} entries, but {expect[0]} were recorded "
                                     f"earlier: its newest entries were removed")
    return Report(checked, head=f"{checked}:{prev}")


def entries_about(couple_ids: list[int], actions=None) -> list[AuditEntry]:
    """Entries about these couples, newest first (optionally only some actions)."""
    if not couple_ids:
        return []
    query = select(AuditEntry).where(AuditEntry.couple_id.in_(couple_ids))
    if actions:
        query = query.where(AuditEntry.action.in_(list(actions)))
    return list(db.session.scalars(query.order_by(AuditEntry.id.desc())))
