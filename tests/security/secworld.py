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
from support.events import append_events, event
from support.inprocess import base_config
from support.people import form_couple, link_therapist, register_people
# Counters the suites add to; printed at the end of the run (conftest.pytest_terminal_summary).
SUMMARY = {"authorization cells checked": 0, "fuzz cases run (HTTP)": 0, "fuzz cases run (socket)": 0}

ACTORS = ("anonymous", "partner", "other_partner", "therapist", "other_therapist",
          "revoked_therapist", "left_user")


# The fuzzers and the matrix send many events, and open many sockets, as the same few people.
EASY_SOCKETS = {"SOCKET_RATE_PER_SECOND": 10_000, "SOCKET_RATE_BURST": 10_000,
                "SOCKET_EVENTS_PER_PERSON": "1000000 per minute", "SOCKET_CONNECTS_PER_PERSON": "100000 per minute",
                "SOCKET_CONNECTS_PER_ADDRESS": "100000 per minute"}


def config(url: str, **extra) -> dict:
    """The fast set's configuration, without the socket rate limits (the fuzzers send many)."""
    if url.startswith("sqlite:///"):  # each world file's audit checkpoints beside it (restore() resets them)
        extra.setdefault("AUDIT_CHECKPOINTS", url[len("sqlite:///"):] + ".audit-checkpoints")
    return base_config(url, **{**EASY_SOCKETS, **extra})


@dataclass
class Target:
    """The resources a cell is about: a couple, its session, a therapist link, a safety signal."""
    couple_id: int
    session: str
    link_id: int
    signal_id: int = 0


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
        for suffix in ("-wal", "-shm", ".audit-checkpoints"):
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
        people = register_people(("alice", "bob", "carol", "dave", "lena", "mo", "theo", "tess", "rex"),
                                 therapists=("theo", "tess", "rex"))
        alice, bob, carol, dave, lena, mo, theo, tess, rex = people.values()
        ours = form_couple(alice, bob)            # this couple: Alice and Bob
        theirs = form_couple(carol, dave)         # another couple
        former = form_couple(mo, lena, ended=True)  # Lena left: the couple ended, its past stays hers
        link = link_therapist(ours, theo)
        link_therapist(ours, rex, revoked_by=alice)
        link_therapist(theirs, tess)
        former_link = link_therapist(former, theo, revoked_by=lena)
        s_ours, s_former = _session(ours, alice), _session(former, mo, active=False)
        _session(theirs, carol)
        # Safety signals for the linked therapist, in sessions that have ended: an earlier one of
        # this couple (Alice said it did not feel safe) and one of Lena's former couple.
        signal = append_events(_session(ours, alice, active=False).id,
                               event("safety_concern", {"partner": "a"}, ["therapist"]))[0]
        former_signal = append_events(s_former.id, event("safety_concern", {"partner": "b"}, ["therapist"]))[0]
        actors = {"partner": alice, "other_partner": carol, "therapist": theo,
                  "other_therapist": tess, "revoked_therapist": rex, "left_user": lena}
        world = World(app=None, path=path, template=template)
        world.users = {k: u.id for k, u in actors.items()}
        world.users["partner_b"] = bob.id
        for name, user in {**actors, "partner_b": bob}.items():
            world.cookies[name] = accounts.start_login(user, "cookie")
            world.tokens[name] = accounts.start_login(user, "token")
        here = Target(ours.id, s_ours.public_id, link.id, signal)
        world.targets = {a: here for a in ACTORS}
        world.targets["left_user"] = Target(former.id, s_former.public_id, former_link.id, former_signal)
        world.targets["other_couple"] = Target(theirs.id, "", 0)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    shutil.copy(template, path)
    world.app = create_app(config(f"sqlite:///{path}"))
    return world
