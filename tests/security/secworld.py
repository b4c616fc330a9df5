"""A seeded world for the security suites: every actor of the authorization matrix, their
logins (a cookie session and a bearer token each), and a way to put the database back exactly
as seeded before each cell (a file copy: fast, and no cell can leak into the next).

Actors (issue 5): anonymous, a partner of this couple, a partner of another couple, the linked
therapist, another therapist, a therapist after revocation, a user who has left the couple.
"""
from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select

from couples import create_app
from couples.accounts import service as accounts
from couples.extensions import db
from couples.models import (AuditEntry, ClientAction, Couple, CoupleMember, PracticeSession,
                            SessionEvent, TherapistLink, User, utcnow)

FAST_HASH = {"ARGON2_MEMORY_KIB": 19456, "ARGON2_TIME_COST": 2}
PASSWORD = "correct horse battery"
# Counters the suites add to; printed at the end of the run (conftest.pytest_terminal_summary).
SUMMARY = {"authorization cells checked": 0, "fuzz cases run (HTTP)": 0, "fuzz cases run (socket)": 0}

ACTORS = ("anonymous", "partner", "other_partner", "therapist", "other_therapist",
          "revoked_therapist", "left_user")


def config(url: str, **extra) -> dict:
    return {"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "sec-" + uuid.uuid4().hex,
            "ASYNC_MODE": "threading", "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False,
            "REDIS_URL": None, "RATELIMIT_STORAGE_URI": "memory://", "SOCKET_RATE_PER_SECOND": 10_000,
            "SOCKET_RATE_BURST": 10_000, **FAST_HASH, **extra}


@dataclass
class Target:
    """The resources a cell is about: a couple, its session, a therapist link."""
    couple_id: int
    session: str
    link_id: int


@dataclass
class World:
    app: object
    path: Path
    template: Path
    users: dict = field(default_factory=dict)    # actor -> user id
    cookies: dict = field(default_factory=dict)  # actor -> cookie login secret
    tokens: dict = field(default_factory=dict)   # actor -> bearer token
    targets: dict = field(default_factory=dict)  # actor -> Target

    def restore(self) -> None:
        """Put the database back exactly as seeded."""
        with self.app.app_context():
            db.session.remove()
            db.engine.dispose()
        for suffix in ("-wal", "-shm"):
            Path(str(self.path) + suffix).unlink(missing_ok=True)
        shutil.copy(self.template, self.path)

    def other_app(self, **cfg):
        """Another app (other settings) on its own copy of the seeded database."""
        path = self.path.with_name(f"world-{uuid.uuid4().hex[:8]}.db")
        shutil.copy(self.template, path)
        return create_app(config(f"sqlite:///{path}", **cfg))

    def client(self, actor: str, kind: str = "cookie"):
        """A test client logged in as the actor (cookie session), or anonymous."""
        client = self.app.test_client()
        if actor != "anonymous" and kind == "cookie":
            with client.session_transaction() as sess:
                sess["_user_id"], sess["_fresh"] = self.cookies[actor], True
        return client

    def headers(self, actor: str) -> dict:
        return {} if actor == "anonymous" else {"Authorization": f"Bearer {self.tokens[actor]}"}

    def snapshot(self) -> dict:
        """What the fuzz suites compare: row counts, each session's last_seq, version and state."""
        with self.app.app_context():
            counts = {m.__tablename__: db.session.scalar(select(func.count()).select_from(m))
                      for m in (User, Couple, CoupleMember, TherapistLink, PracticeSession,
                                SessionEvent, ClientAction, AuditEntry)}
            sessions = {s.public_id: (s.last_seq, s.version, s.state, s.ended_at)
                        for s in db.session.scalars(select(PracticeSession))}
            db.session.remove()
        return {"counts": counts, "sessions": sessions}


def _couple(a: User, b: User, *, ended=False) -> Couple:
    couple = Couple()
    db.session.add(couple)
    db.session.flush()
    for seat, user in (("a", a), ("b", b)):
        db.session.add(CoupleMember(couple_id=couple.id, user_id=user.id, seat=seat,
                                    active_user_id=None if ended else user.id,
                                    left_at=utcnow() if ended else None))
    if ended:
        couple.ended_at, couple.ended_by_id = utcnow(), b.id
    db.session.flush()
    return couple


def _link(couple: Couple, therapist: User, *, revoked_by: User | None = None) -> TherapistLink:
    stamp = utcnow()
    link = TherapistLink(couple_id=couple.id, therapist_id=therapist.id, consent_a_at=stamp,
                         consent_b_at=stamp, live_key=None if revoked_by else f"{couple.id}:{therapist.id}",
                         revoked_at=stamp if revoked_by else None,
                         revoked_by_id=revoked_by.id if revoked_by else None)
    db.session.add(link)
    db.session.flush()
    return link


def _session(couple: Couple, starter: User, *, active=True) -> PracticeSession:
    from couples.exercises import engine
    session = PracticeSession(couple_id=couple.id, started_by_id=starter.id, state=engine.new_state(),
                              version=0, last_seq=0, active_couple_id=couple.id if active else None,
                              ended_at=None if active else utcnow())
    db.session.add(session)
    db.session.flush()
    return session


def build_world(tmp: Path) -> World:
    """Seed the world once into a template file; the live file is a copy of it."""
    from flask_migrate import upgrade
    template, path = tmp / "world-template.db", tmp / "world.db"
    app = create_app(config(f"sqlite:///{template}"))
    with app.app_context():
        upgrade()
        mk = lambda name, role="partner": accounts.register(  # noqa: E731
            f"{name}@example.com", PASSWORD, name.title(), role)
        alice, bob, carol, dave, lena, mo = (mk(n) for n in ("alice", "bob", "carol", "dave", "lena", "mo"))
        theo, tess, rex = (mk(n, "therapist") for n in ("theo", "tess", "rex"))
        ours = _couple(alice, bob)            # this couple: Alice and Bob
        theirs = _couple(carol, dave)         # another couple
        former = _couple(mo, lena, ended=True)  # Lena left: the couple ended, its past stays hers
        link = _link(ours, theo)
        _link(ours, rex, revoked_by=alice)
        _link(theirs, tess)
        former_link = _link(former, theo, revoked_by=lena)
        s_ours, s_former = _session(ours, alice), _session(former, mo, active=False)
        _session(theirs, carol)
        actors = {"partner": alice, "other_partner": carol, "therapist": theo,
                  "other_therapist": tess, "revoked_therapist": rex, "left_user": lena}
        world = World(app=None, path=path, template=template)
        world.users = {k: u.id for k, u in actors.items()}
        world.users["partner_b"] = bob.id
        for name, user in {**actors, "partner_b": bob}.items():
            world.cookies[name] = accounts.start_login(user, "cookie")
            world.tokens[name] = accounts.start_login(user, "token")
        here = Target(ours.id, s_ours.public_id, link.id)
        world.targets = {a: here for a in ACTORS}
        world.targets["left_user"] = Target(former.id, s_former.public_id, former_link.id)
        world.targets["other_couple"] = Target(theirs.id, "", 0)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    shutil.copy(template, path)
    world.app = create_app(config(f"sqlite:///{path}"))
    return world
