"""Backups (issue 21, item 13): `flask backup` while a served `python app.py` has partners acting,
then `flask restore` into a new instance: the audit chain verifies there (with the head the
backup printed) and every event acknowledged before the backup began is in it.

On SQLite (default) the backup is SQLite's online backup API; with TEST_DATABASE=postgresql it is
pg_dump sharing a snapshot with the audit head's check, restored by pg_restore into a new, empty
database. Both run as an operator would: the `flask` command in its own process.
"""
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from couples import create_app
from couples.extensions import db
from couples.models import AuditEntry
from couples.privacy import audit
from support import checks
from support.clients import Duo, Peer
from support.driver import Driver
from support.inprocess import base_config
from support.people import Api, seed_paired
from support.server import ROOT, ServerProcess, dispose, migrate
from support.services import PG_ADMIN_URL, postgres_database, service_unavailable
from support.tamper import past_the_triggers

POSTGRES = os.environ.get("TEST_DATABASE", "sqlite") == "postgresql"


def _flask(env: dict, *args, timeout=120) -> subprocess.CompletedProcess:
    """`flask --app app ...` as its own process, on the database and audit settings in `env`."""
    full = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL",)}
    full.update(env)
    return subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], cwd=ROOT, env=full,
                          capture_output=True, text=True, timeout=timeout)


class EmptyPostgres:
    """A new, empty database on the shared PostgreSQL (no schema: a restore brings it)."""

    def __enter__(self):
        self.name = "couples_restore_" + uuid.uuid4().hex[:10]
        self.admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        try:
            with self.admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{self.name}"'))
        except Exception as err:  # noqa: BLE001
            self.admin.dispose()
            service_unavailable("PostgreSQL", err)
        return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + self.name

    def __exit__(self, *exc):
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self.admin.dispose()


def _source_database(tmp_path):
    if POSTGRES:
        return postgres_database("couples_backup_")
    from contextlib import nullcontext
    url = f"sqlite:///{tmp_path / 'live.db'}"
    dispose(migrate(url))
    return nullcontext(url)


def test_a_backup_taken_while_partners_act_restores_with_its_audit_chain_and_every_acked_event(tmp_path):
    key = "audit-key-" + uuid.uuid4().hex * 2
    live_ckpts, new_ckpts = tmp_path / "live-checkpoints", tmp_path / "restored-checkpoints"
    with _source_database(tmp_path) as url:
        seeder = create_app({**base_config(url, tmp_path), "AUDIT_KEY": key, "AUDIT_CHECKPOINTS": str(live_ckpts)})
        people = seed_paired(seeder)  # through the pairing service: audit entries from the start
        dispose(seeder)
        env = {"COUPLES_AUDIT_KEY": key, "COUPLES_AUDIT_CHECKPOINTS": str(live_ckpts), "DATABASE_URL": url}
        with ServerProcess(tmp_path, url, env=env) as server:
            started = Api(server.url, people.tokens["alice"]).call("POST", "/api/v1/sessions", {}, expect=(201,))
            session = started["session"]["id"]
            peers = {name: Peer(name, role, people.tokens[name], session, server.url)
                     for name, role in (("alice", "a"), ("bob", "b"), ("theo", "therapist"))}
            for peer in peers.values():
                peer.connect()  # Theo observing: an audit entry, written by the server
            import random
            duo = Duo(peers["alice"], peers["bob"], ["greeting", "needs"] * 20, random.Random(7),
                      timeout_in_needs_at=None)
            driver = Driver(duo, observers=[peers["theo"]], clock=server)
            stop, moves = threading.Event(), []

            def play():
                while not stop.is_set():
                    moves.append(driver.step())
                    if moves[-1] == "idle":
                        time.sleep(0.02)
            player = threading.Thread(target=play, daemon=True)
            player.start()
            deadline = time.monotonic() + 30
            while moves.count("acked") < 25 and time.monotonic() < deadline:
                time.sleep(0.05)
            # What was acknowledged before the backup began must all be in it.
            before = {p.name: (dict(p.acks), p.contiguous()) for p in peers.values()}
            backup = tmp_path / "backup.db"
            made = _flask(env, "backup", str(backup))
            acked_during = moves.count("acked")
            time.sleep(0.5)  # and the partners go on after it
            stop.set()
            player.join(15)
            for peer in peers.values():
                peer.close()
        assert made.returncode == 0, made.stdout + made.stderr
        assert "audit log intact" in made.stdout and backup.stat().st_mode & 0o077 == 0
        head = made.stdout.split("--expect ", 1)[1].split()[0]
        assert moves.count("acked") > acked_during or acked_during > 25, "the partners acted around the backup"

        # The live instance's own chain, with its checkpoints, is intact too.
        live_check = _flask(env, "audit-verify")
        assert live_check.returncode == 0, live_check.stdout + live_check.stderr

        # A new instance: a new database, its own checkpoint file, the same audit key.
        new_db = EmptyPostgres() if POSTGRES else None
        new_url = new_db.__enter__() if new_db else f"sqlite:///{tmp_path / 'restored.db'}"
        try:
            new_env = {"COUPLES_AUDIT_KEY": key, "COUPLES_AUDIT_CHECKPOINTS": str(new_ckpts), "DATABASE_URL": new_url}
            restored = _flask(new_env, "restore", str(backup))
            assert restored.returncode == 0, restored.stdout + restored.stderr
            verified = _flask(new_env, "audit-verify", "--expect", head)
            assert verified.returncode == 0, verified.stdout + verified.stderr
            assert "checkpoint at entry id=" in verified.stdout and "intact" in verified.stdout

            engine = create_engine(new_url.replace("postgresql://", "postgresql+psycopg2://", 1))
            with engine.connect() as conn:
                actions = conn.execute(text("SELECT action FROM audit_log ORDER BY id")).scalars().all()
            engine.dispose()
            assert "couple_joined" in actions and "session_observed" in actions  # the seeder's and the server's
            log = checks.Log(new_url, session)
            assert checks.gap_free(log) == [] and checks.applied_once(log) == []
            users = _user_ids(new_url)
            acked = 0
            for name, (acks, seen) in before.items():
                peer = peers[name]
                visible = {e["seq"]: e for e in log.visible(peer.role)}
                for seq in range(1, seen + 1):  # every event the peer was told of before the backup
                    got, want = peer.log[seq], visible.get(seq)
                    assert want is not None, f"{name}: event {seq} ({got['type']}) is not in the backup"
                    assert {k: got[k] for k in ("type", "actor", "data")} == \
                           {k: want[k] for k in ("type", "actor", "data")}
                rows = {a["client_id"] for a in log.actions if a["user_id"] == users.get(name)}
                for cid, ack in acks.items():
                    if ack.get("ok"):
                        acked += 1
                        assert cid in rows, f"{name}: action {cid} was acknowledged before the backup, not in it"
            assert acked >= 10
            print(f"\nbackup during a live session: {acked} actions acknowledged before it, all restored; "
                  f"{moves.count('acked')} acknowledged in all; audit head {head[:12]}...")
        finally:
            if new_db:
                new_db.__exit__(None, None, None)


def _user_ids(url) -> dict:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg2://", 1))
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, email FROM users")).all()
    engine.dispose()
    return {email.split("@")[0]: uid for uid, email in rows}


# --------------------------------------------------------------------------- refusals, in-process


@pytest.fixture
def seeded(app):
    with app.app_context():
        for i in range(3):
            audit.record(None, "test_entry", None, f"n:{i}")
        db.session.commit()
    return app


@pytest.mark.skipif(POSTGRES, reason="a SQLite file")
def test_backup_never_overwrites_and_restore_never_lands_on_data(seeded, tmp_path):
    runner = seeded.test_cli_runner()
    dest = tmp_path / "copy.db"
    made = runner.invoke(args=["backup", str(dest)])
    assert made.exit_code == 0 and "intact: 3 entries" in made.output, made.output
    again = runner.invoke(args=["backup", str(dest)])
    assert again.exit_code == 1 and "already exists" in again.output
    onto_data = runner.invoke(args=["restore", str(dest)])  # this app's database has tables
    assert onto_data.exit_code == 1 and "already has tables" in onto_data.output


@pytest.mark.skipif(POSTGRES, reason="a SQLite file")
def test_restore_refuses_a_backup_whose_chain_does_not_verify(seeded, tmp_path):
    dest = tmp_path / "copy.db"
    assert seeded.test_cli_runner().invoke(args=["backup", str(dest)]).exit_code == 0
    tampered = create_app(base_config(f"sqlite:///{dest}", tmp_path / "elsewhere"))
    with tampered.app_context(), past_the_triggers():
        db.session.execute(text("UPDATE audit_log SET subject = 'forged' WHERE id = 2"))
    dispose(tampered)
    target = create_app(base_config(f"sqlite:///{tmp_path / 'new.db'}", tmp_path / "new"))
    refused = target.test_cli_runner().invoke(args=["restore", str(dest)])
    assert refused.exit_code == 1 and "does not verify" in refused.output
    wrong_key = create_app({**base_config(f"sqlite:///{tmp_path / 'other.db'}", tmp_path / "other"),
                            "AUDIT_KEY": "another-instance-key-" + "x" * 40})
    fresh = tmp_path / "fresh-copy.db"
    assert seeded.test_cli_runner().invoke(args=["backup", str(fresh)]).exit_code == 0
    refused = wrong_key.test_cli_runner().invoke(args=["restore", str(fresh)])
    assert refused.exit_code == 1 and "key" in refused.output
    for app in (target, wrong_key):
        dispose(app)


def test_restore_into_a_new_database_records_the_restored_head(seeded, tmp_path):
    """In-process, both databases: backup, restore elsewhere, the chain and its checkpoint hold."""
    dest = tmp_path / "copy.dump"
    made = seeded.test_cli_runner().invoke(args=["backup", str(dest)])
    assert made.exit_code == 0, made.output
    head = made.output.split("--expect ", 1)[1].split()[0]
    with (EmptyPostgres() if POSTGRES else _nothing(f"sqlite:///{tmp_path / 'restored.db'}")) as url:
        target = create_app(base_config(url, tmp_path / "restored"))
        runner = target.test_cli_runner()
        restored = runner.invoke(args=["restore", str(dest)])
        assert restored.exit_code == 0, restored.output
        checked = runner.invoke(args=["audit-verify", "--expect", head])
        assert checked.exit_code == 0 and "checkpoint at entry id=3 holds" in checked.output, checked.output
        with target.app_context():
            assert [e.subject for e in db.session.query(AuditEntry).order_by(AuditEntry.id)] == ["n:0", "n:1", "n:2"]
        dispose(target)


class _nothing:
    def __init__(self, value):
        self.value = value

    def __enter__(self):
        return self.value

    def __exit__(self, *exc):
        return False
