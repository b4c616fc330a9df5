"""Bulk test data for the benchmark: couples with a consented therapist, bearer tokens, practice
sessions, and pre-loaded event history. Rows go straight in through the models' tables (fast:
executemany in big batches, COPY on PostgreSQL); nothing here is used by the app itself.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from sqlalchemy import create_engine, insert, select, text

from couples.exercises import engine
from couples.extensions import db
from couples.models import (AuthSession, Couple, CoupleMember, PracticeSession, SessionEvent,
                            TherapistLink, User, utcnow)

PASSWORD = "bench-password-1"
EVENT_DATA = {"exercise": "greeting", "step": "day_speaker", "by": "a", "data": {
    "day": "A turn from the benchmark, about the length of a real answer. " * 3}}


def migrate(url: str) -> None:
    """Build the schema with the real Alembic migrations."""
    from flask_migrate import upgrade
    from couples import create_app
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "ASYNC_MODE": "threading",
                      "REDIS_URL": None, "RATELIMIT_STORAGE_URI": "memory://"})
    with app.app_context():
        upgrade()
        db.engine.dispose()


def create_pg_database(admin_url: str, prefix: str = "couples_bench_") -> str:
    name = prefix + secrets.token_hex(5)
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return admin_url.rsplit("/", 1)[0] + "/" + name


def drop_pg_database(admin_url: str, url: str) -> None:
    name = url.rsplit("/", 1)[1]
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def seed_couples(app, n: int, tag: str = "c", with_session: bool = True) -> list[dict]:
    """n couples (partners a, b) each with a consented therapist and bearer tokens for all three.

    Returns [{"couple_id", "session_pk", "session_public_id", "tokens": {role: token},
              "emails": {role: email}, "user_ids": {role: id}}].
    """
    now = utcnow()
    pw_hash = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(PASSWORD)
    out = []
    with app.app_context():
        users = []
        for i in range(n):
            for role in ("a", "b", "therapist"):
                users.append({"email": f"{tag}{i}-{role}-{secrets.token_hex(3)}@bench.example",
                              "display_name": f"{role.upper()} {i}", "password_hash": pw_hash,
                              "role": "therapist" if role == "therapist" else "partner",
                              "therapist_code": secrets.token_hex(5).upper() if role == "therapist" else None,
                              "created_at": now})
        db.session.execute(insert(User), users)
        ids = dict(db.session.execute(select(User.email, User.id).where(
            User.email.in_([u["email"] for u in users]))).all())
        db.session.execute(insert(Couple), [{"created_at": now} for _ in range(n)])
        couple_ids = db.session.scalars(select(Couple.id).order_by(Couple.id.desc()).limit(n)).all()[::-1]
        members, links, logins, sessions = [], [], [], []
        for i, cid in enumerate(couple_ids):
            emails = {r: users[3 * i + k]["email"] for k, r in enumerate(("a", "b", "therapist"))}
            uid = {r: ids[e] for r, e in emails.items()}
            tokens = {r: secrets.token_urlsafe(32) for r in emails}
            for seat in ("a", "b"):
                members.append({"couple_id": cid, "user_id": uid[seat], "seat": seat,
                                "active_user_id": uid[seat], "joined_at": now})
            links.append({"couple_id": cid, "therapist_id": uid["therapist"], "invited_by_id": uid["a"],
                          "created_at": now, "consent_a_at": now, "consent_b_at": now,
                          "live_key": f"{cid}:{uid['therapist']}"})
            for r, tok in tokens.items():
                logins.append({"user_id": uid[r], "kind": "token", "secret_hash": _digest(tok),
                               "label": "bench", "created_at": now, "last_seen_at": now,
                               "expires_at": now + timedelta(days=2)})
            if with_session:
                sessions.append({"public_id": secrets.token_hex(8), "couple_id": cid,
                                 "started_by_id": uid["a"], "created_at": now, "state": engine.new_state(),
                                 "version": 0, "last_seq": 0, "active_couple_id": cid})
            out.append({"couple_id": cid, "tokens": tokens, "emails": emails, "user_ids": uid})
        db.session.execute(insert(CoupleMember), members)
        db.session.execute(insert(TherapistLink), links)
        db.session.execute(insert(AuthSession), logins)
        if sessions:
            db.session.execute(insert(PracticeSession), sessions)
            rows = dict(db.session.execute(select(PracticeSession.couple_id, PracticeSession.id).where(
                PracticeSession.couple_id.in_(couple_ids))).all())
            pub = dict(db.session.execute(select(PracticeSession.id, PracticeSession.public_id).where(
                PracticeSession.couple_id.in_(couple_ids))).all())
            for c in out:
                c["session_pk"] = rows[c["couple_id"]]
                c["session_public_id"] = pub[c["session_pk"]]
        db.session.commit()
    return out


def preload_events(app, session_pks: list[int], per_session: int, actor_id: int | None = None) -> int:
    """Append `per_session` events to each session (seq 1..n) and set its last_seq. Returns rows."""
    with app.app_context():
        engine_ = db.engine
        total = len(session_pks) * per_session
        if engine_.dialect.name == "postgresql":
            _copy_events(engine_, session_pks, per_session, actor_id)
        else:
            _insert_events(engine_, session_pks, per_session, actor_id)
        with engine_.begin() as conn:
            conn.execute(PracticeSession.__table__.update().where(
                PracticeSession.id.in_(session_pks)).values(
                last_seq=per_session, **{f"seen_{v}": per_session for v in engine.EVERYONE}))
        return total


def _event_rows(session_pks, per_session, actor_id):
    now = utcnow().isoformat()
    audience = json.dumps(engine.EVERYONE)
    data = json.dumps(EVENT_DATA)
    for pk in session_pks:
        for seq in range(1, per_session + 1):
            yield (pk, seq, "step_submitted", "a", actor_id, audience, data, now)


_COLUMNS = ("session_id", "seq", "type", "seat", "actor_id", "audience", "data", "created_at")


def _copy_events(engine_, session_pks, per_session, actor_id):
    raw = engine_.raw_connection()
    try:
        cur = raw.cursor()
        rows = _event_rows(session_pks, per_session, actor_id)
        while True:
            buf = io.StringIO()
            w = csv.writer(buf)
            n = 0
            for row in rows:
                w.writerow(["" if v is None else v for v in row])
                n += 1
                if n >= 200_000:
                    break
            if n == 0:
                break
            buf.seek(0)
            cur.copy_expert(f"COPY {SessionEvent.__tablename__} ({', '.join(_COLUMNS)}) "
                            "FROM STDIN WITH (FORMAT csv, NULL '')", buf)
        raw.commit()
        # A database that has been running has vacuumed and checkpointed its history; without
        # this, autovacuum's pass over the fresh million rows and the checkpoint writing them out
        # land in the measured window (an 80 ms stall in one run), which is the load, not the
        # history, being measured.
        raw.dbapi_connection.autocommit = True  # VACUUM runs outside a transaction
        cur.execute(f"VACUUM (ANALYZE) {SessionEvent.__tablename__}")
        cur.execute("CHECKPOINT")
        raw.dbapi_connection.autocommit = False
    finally:
        raw.close()


def _insert_events(engine_, session_pks, per_session, actor_id):
    raw = engine_.raw_connection()
    try:
        cur = raw.cursor()
        sql = (f"INSERT INTO {SessionEvent.__tablename__} ({', '.join(_COLUMNS)}) "
               f"VALUES ({', '.join('?' * len(_COLUMNS))})")
        batch = []
        for row in _event_rows(session_pks, per_session, actor_id):
            # SQLite stores UTC datetimes naive (see models.UTCDateTime)
            batch.append(row[:-1] + (row[-1].replace("+00:00", "").replace("T", " "),))
            if len(batch) >= 100_000:
                cur.executemany(sql, batch)
                batch.clear()
        if batch:
            cur.executemany(sql, batch)
        raw.commit()
        cur.execute("ANALYZE")
        raw.commit()
        # A database that has been running holds its history in the main file, not in a huge WAL
        # that the first checkpoint during the measurement would have to copy back.
        cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        raw.close()


def filler_sessions(app, couple_id: int, user_id: int, count: int) -> list[int]:
    """`count` ended practice sessions of one couple, to hang pre-loaded history on."""
    now = utcnow()
    with app.app_context():
        rows = [{"public_id": secrets.token_hex(8), "couple_id": couple_id, "started_by_id": user_id,
                 "created_at": now, "ended_at": now, "state": engine.new_state(), "version": 0,
                 "last_seq": 0, "active_couple_id": None} for _ in range(count)]
        db.session.execute(insert(PracticeSession), rows)
        db.session.commit()
        return db.session.scalars(select(PracticeSession.id).where(
            PracticeSession.couple_id == couple_id, PracticeSession.ended_at.is_not(None))).all()
