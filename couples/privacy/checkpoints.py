"""The audit chain's checkpoints: its head, signed, appended to a file outside the database.

A keyed hash chain (audit.py) shows every edited, inserted or removed row, except the newest
ones: delete the tail, or empty the table, and what is left is still a valid chain. So after
every commit that appended audit entries, one line is appended here, in a file the database
cannot write (by default `instance/audit-checkpoints`, COUPLES_AUDIT_CHECKPOINTS):

    ckpt1 c <database> <entry id> <entry hash> <HMAC of the line's fields with the audit key>

`verify` then requires the chain to still hold every checkpointed entry, with that hash (so a
table emptied and refilled does not pass either). Several databases may share one file
(development, tests): `<database>` is a digest of the database URL without its password, and only
a database's own lines count for it. Processes append whole lines (O_APPEND), in any order.

A restore (`flask restore`, or `flask audit-verify --accept-restore` after pg_restore) appends an
`r` line: the restored head, which replaces every earlier line of that database.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from flask import current_app
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

VERSION = "ckpt1"
_PENDING = "couples_audit_checkpoint"  # Session.info key: the newest entry this transaction appended


def database_id(url) -> str:
    """A short digest naming one database: its URL without the password (an absolute path for
    SQLite)."""
    url = make_url(url).set(password=None)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        url = url.set(database=os.path.abspath(url.database))
    text = url.set(drivername=url.get_backend_name()).render_as_string(hide_password=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _mac(key: str, kind: str, db_id: str, entry_id: int, digest: str) -> str:
    msg = f"couples-audit-checkpoint|{kind}|{db_id}|{entry_id}|{digest}"
    return hmac.new(key.encode(), msg.encode(), hashlib.sha256).hexdigest()


def line(key: str, kind: str, db_id: str, entry_id: int, digest: str) -> str:
    return f"{VERSION} {kind} {db_id} {entry_id} {digest} {_mac(key, kind, db_id, entry_id, digest)}\n"


def append(path: str, text: str) -> None:
    """One whole line at the end of the file (created 0600), in one write."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


@dataclass
class Checkpoints:
    """What the file says about one database (since its last restore line)."""

    marks: dict = field(default_factory=dict)  # entry id -> hash: the chain must still hold each
    restored: bool = False  # the lines start at a restore
    problems: list = field(default_factory=list)  # lines of this database that do not verify

    @property
    def latest(self) -> tuple[int, str] | None:
        if not self.marks:
            return None
        newest = max(self.marks)
        return newest, self.marks[newest]


def read(path: str, key: str, db_id: str) -> Checkpoints:
    """This database's checkpoints in the file (none if the file does not exist). A last line
    without its newline (a crash mid-write) is ignored. A problem: any other line of this database
    that does not parse, whose signature does not match the key, or that gives an entry id
    another hash than an earlier line did (the table was emptied or rewritten, then went on)."""
    out = Checkpoints()
    try:
        data = Path(path).read_bytes().decode("utf-8", "replace")
    except FileNotFoundError:
        return out
    for number, text in enumerate(data.split("\n")[:-1], 1):  # after the last newline: "" or a torn line
        parts = text.split(" ")
        if len(parts) < 3 or parts[2] != db_id:
            continue
        try:
            version, kind, _, entry_id, digest, mac = parts
            entry_id = int(entry_id)
        except ValueError:
            out.problems.append(f"line {number} does not parse")
            continue
        if version != VERSION or kind not in ("c", "r") or not hmac.compare_digest(
                mac, _mac(key, kind, db_id, entry_id, digest)):
            out.problems.append(f"line {number} is not signed with this audit key")
            continue
        if kind == "r":
            out.marks, out.restored = ({entry_id: digest} if entry_id else {}), True
        elif out.marks.setdefault(entry_id, digest) != digest:
            out.problems.append(f"line {number} gives entry id={entry_id} another hash than an earlier line "
                                f"(the chain was emptied or rewritten, then continued)")
    return out


# --------------------------------------------------------------------------- written at commit


def note_appended(session: Session, entry_id: int, digest: str) -> None:
    """Remember the entry this transaction appended; its checkpoint is written once it commits."""
    cfg = current_app.config
    pending = session.info.get(_PENDING)
    if pending is None or entry_id > pending[3]:
        url = session.get_bind().url
        session.info[_PENDING] = (cfg["AUDIT_CHECKPOINTS"], cfg["AUDIT_KEY"], database_id(url), entry_id, digest)


@event.listens_for(Session, "after_commit")
def _write_after_commit(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if pending is None:
        return
    path, key, db_id, entry_id, digest = pending
    try:
        append(path, line(key, "c", db_id, entry_id, digest))
    except OSError as err:  # the entry is committed; only the checkpoint lags (verify says so)
        log.error("audit checkpoint not written to %s: %s", path, err)


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)
