"""Backups and restores (`flask backup`, `flask restore`), each checked against the audit chain.

SQLite: SQLite's online backup API copies a consistent snapshot while the server keeps serving
(WAL: readers and the writer are not blocked). PostgreSQL: pg_dump, run inside a REPEATABLE READ
transaction whose snapshot it shares (`--snapshot`), so the audit head printed is exactly the
dump's. Either way the copy's audit chain is verified before the command says it is done, and
the head is printed: keep it with the backup (`flask audit-verify --expect` after a restore).

A restore verifies the backup's chain first (with this instance's audit key), copies it in, and
records the restored head as this database's checkpoint (audit.accept_restore): the entries
written after the backup are gone, and the checkpoint file says so no more.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from ..extensions import db
from . import audit


class BackupError(Exception):
    """Refused or failed, with a message for the operator."""


@dataclass
class Done:
    path: Path
    report: audit.Report  # the copy's audit chain


def _new_private_file(path: Path) -> None:
    """Create `path` empty, readable by its owner only; refuse to overwrite anything."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise BackupError(f"{path} already exists: choose a new file") from None
    os.close(fd)


def _libpq(url: URL) -> tuple[str, dict]:
    """A URL for the PostgreSQL command-line tools, and PGPASSWORD apart (never on a command line)."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = url.password
    return url.set(drivername="postgresql", password=None).render_as_string(hide_password=False), env


def pg_dump_command(url: URL, dest: Path, snapshot: str | None = None) -> list[str]:
    target, _ = _libpq(url)
    return ["pg_dump", "--format=custom", "--no-owner", "--file", str(dest),
            *(["--snapshot", snapshot] if snapshot else []), "--dbname", target]


def pg_restore_command(url: URL, src: Path) -> list[str]:
    target, _ = _libpq(url)
    return ["pg_restore", "--no-owner", "--exit-on-error", "--single-transaction", "--dbname", target, str(src)]


# --------------------------------------------------------------------------- backup


def backup(dest: str) -> Done:
    """A backup of this app's database at `dest` (a new file), its audit chain verified."""
    dest_path = Path(dest).resolve()
    if db.engine.dialect.name == "sqlite":
        return _sqlite_backup(dest_path)
    if db.engine.dialect.name == "postgresql":
        return _pg_backup(dest_path)
    raise BackupError(f"no backup procedure for {db.engine.dialect.name}")


def _sqlite_backup(dest: Path) -> Done:
    _new_private_file(dest)
    source = db.engine.raw_connection()
    try:
        target = sqlite3.connect(dest)
        try:
            source.driver_connection.backup(target)  # one step: one consistent snapshot
        finally:
            target.close()
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    finally:
        source.close()
    return Done(dest, _verify_copy(f"sqlite:///{dest}"))


def _verify_copy(url: str) -> audit.Report:
    engine = create_engine(url)
    try:
        with Session(engine) as session:
            return audit.verify(session=session, use_checkpoints=False)
    finally:
        engine.dispose()


def _pg_backup(dest: Path) -> Done:
    if shutil.which("pg_dump") is None:
        raise BackupError("pg_dump is not installed here. Run, with the same snapshot as a head check:\n  "
                          + " ".join(pg_dump_command(db.engine.url, dest)))
    _new_private_file(dest)
    _, env = _libpq(db.engine.url)
    with db.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            snapshot = conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar()
            with Session(bind=conn) as session:
                report = audit.verify(session=session, use_checkpoints=False)
            done = subprocess.run(pg_dump_command(db.engine.url, dest, snapshot), env=env,
                                  capture_output=True, text=True)
    if done.returncode != 0:
        dest.unlink(missing_ok=True)
        raise BackupError(f"pg_dump failed (exit {done.returncode}): {done.stderr.strip()[-2000:]}")
    return Done(dest, report)


# --------------------------------------------------------------------------- restore


def restore(src: str, replace: bool = False) -> audit.Report:
    """Put the backup at `src` into this app's database (stopped server, empty database unless
    `replace`), then record the restored audit head as this database's checkpoint."""
    src_path = Path(src).resolve()
    if not src_path.is_file():
        raise BackupError(f"{src_path} is not a file")
    if db.engine.dialect.name == "sqlite":
        target = Path(db.engine.url.database).resolve()
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            _new_private_file(target)
    has_data = bool(inspect(db.engine).get_table_names())
    db.session.remove()
    if has_data and not replace:
        raise BackupError("this database already has tables: restore into a new, empty database "
                          "(or pass --replace, with every server of this instance stopped)")
    if db.engine.dialect.name == "sqlite":
        _sqlite_restore(src_path)
    elif db.engine.dialect.name == "postgresql":
        if replace and has_data:
            raise BackupError("PostgreSQL: restore into a new, empty database (createdb), then point "
                              "DATABASE_URL at it")
        _pg_restore(src_path)
    else:
        raise BackupError(f"no restore procedure for {db.engine.dialect.name}")
    db.engine.dispose()
    return audit.accept_restore()


def _sqlite_restore(src: Path) -> None:
    report = _verify_copy(f"sqlite:///{src}")
    if not report:
        raise BackupError("the backup's audit chain does not verify with this instance's audit key: "
                          + report.describe())
    db.engine.dispose()
    target_path = Path(db.engine.url.database).resolve()
    source = sqlite3.connect(src)
    target = sqlite3.connect(target_path, timeout=15)
    try:
        source.backup(target)
        target.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        target.close()
        source.close()


def _pg_restore(src: Path) -> None:
    if shutil.which("pg_restore") is None:
        raise BackupError("pg_restore is not installed here. Run:\n  " + " ".join(pg_restore_command(db.engine.url, src))
                          + "\nthen: flask --app app audit-verify --accept-restore")
    _, env = _libpq(db.engine.url)
    done = subprocess.run(pg_restore_command(db.engine.url, src), env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"pg_restore failed (exit {done.returncode}): {done.stderr.strip()[-2000:]}")
