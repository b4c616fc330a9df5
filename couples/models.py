"""The data model: accounts, couples, consent, practice sessions and their event log.

Invariants live in the schema, not in Python checks, so they hold with several processes:
a nullable UNIQUE "active_*" column is set only while a row is current (NULLs never collide).
"""
from __future__ import annotations

import secrets
from datetime import datetime, timezone

from flask_login import UserMixin
from sqlalchemy import (JSON, BigInteger, DateTime, ForeignKey, Integer, String, Text,
                        TypeDecorator, UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .extensions import db


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def new_code(nbytes: int = 6) -> str:
    """A short random code a person can type (base32, no padding, uppercase)."""
    import base64
    return base64.b32encode(secrets.token_bytes(nbytes)).decode().rstrip("=")


class User(UserMixin, db.Model):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(80))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))  # "partner" | "therapist"
    # A therapist shares this code with clients who want to link them.
    therapist_code: Mapped[str | None] = mapped_column(String(16), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # Flask-Login identifies a login by its AuthSession row, not by the user id, so that logging
    # out (or an expiry) invalidates exactly that login everywhere, sockets included.
    auth_session_id = None  # the login secret, set when loaded (not a column)
    auth_row_id = None

    def get_id(self):
        return self.auth_session_id

    @property
    def is_therapist(self) -> bool:
        return self.role == "therapist"


class AuthSession(db.Model):
    """One login (a browser cookie) or one bearer token. Only a hash of the secret is stored."""

    __tablename__ = "auth_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # "cookie" | "token"
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    user: Mapped[User] = relationship()


class Couple(db.Model):
    __tablename__ = "couples"
    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # A linked therapist's hold on the couple's joint practice (room/holds.py): since when, by whom.
    joint_hold_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    joint_hold_by_id: Mapped[int | None] = mapped_column(Integer)  # no FK: see migration d2e6b8f4a1c9
    members: Mapped[list[CoupleMember]] = relationship(back_populates="couple", order_by="CoupleMember.seat")

    @property
    def active(self) -> bool:
        return self.ended_at is None


class CoupleMember(db.Model):
    """A partner's seat ("a" created the couple, "b" joined). One active couple per person."""

    __tablename__ = "couple_members"
    __table_args__ = (UniqueConstraint("couple_id", "seat"), UniqueConstraint("couple_id", "user_id"))
    id: Mapped[int] = mapped_column(primary_key=True)
    couple_id: Mapped[int] = mapped_column(ForeignKey("couples.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    seat: Mapped[str] = mapped_column(String(1))
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Equal to user_id while the couple is active, NULL afterwards: UNIQUE makes "at most one
    # active couple per person" a database guarantee.
    active_user_id: Mapped[int | None] = mapped_column(Integer, unique=True)
    couple: Mapped[Couple] = relationship(back_populates="members")
    user: Mapped[User | None] = relationship()


class Invitation(db.Model):
    """A code and link that lets the second partner join a couple, once, before it expires."""

    __tablename__ = "invitations"
    id: Mapped[int] = mapped_column(primary_key=True)
    couple_id: Mapped[int] = mapped_column(ForeignKey("couples.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(32), unique=True, default=new_code)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    used_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TherapistLink(db.Model):
    """A therapist invited by a couple. Active only once both partners consented and not revoked."""

    __tablename__ = "therapist_links"
    id: Mapped[int] = mapped_column(primary_key=True)
    couple_id: Mapped[int] = mapped_column(ForeignKey("couples.id", ondelete="CASCADE"), index=True)
    therapist_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    consent_a_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    consent_b_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # "couple_id:therapist_id" while not revoked: one live link per therapist and couple.
    live_key: Mapped[str | None] = mapped_column(String(40), unique=True)
    therapist: Mapped[User | None] = relationship(foreign_keys=[therapist_id])

    @property
    def active(self) -> bool:
        return self.revoked_at is None and self.consent_a_at is not None and self.consent_b_at is not None


class PracticeSession(db.Model):
    """A live practice room. `state` is the exercise engine's state; the event log is the truth."""

    __tablename__ = "practice_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True, default=lambda: secrets.token_hex(8))
    couple_id: Mapped[int] = mapped_column(ForeignKey("couples.id", ondelete="CASCADE"), index=True)
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    state: Mapped[dict] = mapped_column(JSON)
    # Optimistic concurrency: every change bumps version with "UPDATE ... WHERE version = :seen".
    version: Mapped[int] = mapped_column(Integer, default=0)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    # How many events of the log each viewer may see (its own last seq on the wire), kept in the
    # same versioned UPDATE that appends events, so numbering a write never re-reads the log.
    seen_a: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    seen_b: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    seen_therapist: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # Bumped, in the same transaction, by every change of who may receive this session's events
    # (a join, a leave, a disconnect, a revocation): a process re-reads its audience only then.
    audience_epoch: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # When the engine's timer falls due (NULL: none). The sweeper claims rows by this column.
    deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    # couple_id while the session is live: one active practice session per couple.
    active_couple_id: Mapped[int | None] = mapped_column(Integer, unique=True)
    couple: Mapped[Couple] = relationship()


class SessionEvent(db.Model):
    """One entry of a session's log: gap-free `seq`, written with the state it changes."""

    __tablename__ = "session_events"
    __table_args__ = (UniqueConstraint("session_id", "seq"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("practice_sessions.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(BigInteger)
    type: Mapped[str] = mapped_column(String(40))
    seat: Mapped[str | None] = mapped_column(String(1))  # "a" | "b" | None (system)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    audience: Mapped[list] = mapped_column(JSON)  # subset of ["a", "b", "therapist"]
    data: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SignalRead(db.Model):
    """A therapist has read one safety signal (review/signals.py: the signals are events, derived
    from the log; only who read which, and when, is stored)."""

    __tablename__ = "signal_reads"
    __table_args__ = (UniqueConstraint("event_id", "therapist_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                          ForeignKey("session_events.id", ondelete="CASCADE"))
    therapist_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    read_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ClientAction(db.Model):
    """Idempotency: a client's action id is recorded with the commit it caused, once (UNIQUE)."""

    __tablename__ = "client_actions"
    __table_args__ = (UniqueConstraint("session_id", "user_id", "client_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("practice_sessions.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    client_id: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(BigInteger)  # the last seq the action wrote
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Connection(db.Model):
    """A live socket (presence), kept in the database so every process sees every connection.

    Rows are leases: a process refreshes `last_seen_at`; rows of a crashed process expire.
    """

    __tablename__ = "connections"
    sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    auth_session_id: Mapped[int] = mapped_column(ForeignKey("auth_sessions.id", ondelete="CASCADE"))
    session_id: Mapped[int | None] = mapped_column(ForeignKey("practice_sessions.id", ondelete="CASCADE"), index=True)
    role: Mapped[str | None] = mapped_column(String(10))  # "a" | "b" | "therapist"
    process: Mapped[str] = mapped_column(String(64), index=True)
    connected_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TherapistNote(db.Model):
    """A therapist's private note on a session; partners never see it."""

    __tablename__ = "therapist_notes"
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("practice_sessions.id", ondelete="CASCADE"), index=True)
    therapist_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditEntry(db.Model):
    """Who viewed or changed what. Append-only; each row's hash covers the previous row's hash."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(Integer)  # no FK: the log outlives accounts
    action: Mapped[str] = mapped_column(String(40))
    couple_id: Mapped[int | None] = mapped_column(Integer, index=True)
    subject: Mapped[str | None] = mapped_column(String(80))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)  # one successor per row: no forks
    hash: Mapped[str] = mapped_column(String(64), unique=True)


