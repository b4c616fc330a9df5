"""Accounts and logins: Argon2id password hashes, login sessions and bearer tokens.

A login (browser cookie) and a bearer token are both an AuthSession row holding only the SHA-256
of a random secret, so either can be revoked at once, and every socket event re-checks its row.
"""
import hashlib
import secrets
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from sqlalchemy import select

from ..errors import DomainError
from ..extensions import db
from ..models import AuthSession, User, new_code, utcnow

# Computed once so that a login for an unknown email costs as much as for a known one.
_DUMMY_HASH: dict[tuple, str] = {}


def hasher() -> PasswordHasher:
    cfg = current_app.config
    return PasswordHasher(time_cost=cfg.get("ARGON2_TIME_COST", 3),
                          memory_cost=cfg.get("ARGON2_MEMORY_KIB", 65536),
                          parallelism=cfg.get("ARGON2_PARALLELISM", 1))


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def register(email: str, password: str, display_name: str, role: str) -> User:
    """Create an account; the email is unique, case-insensitively."""
    email = email.strip().lower()
    if db.session.scalar(select(User.id).where(User.email == email)) is not None:
        raise DomainError("email_taken", "An account with this email already exists.", 409,
                          {"email": "Already registered."})
    user = User(email=email, display_name=display_name, role=role,
                password_hash=hasher().hash(password),
                therapist_code=new_code(5) if role == "therapist" else None)
    db.session.add(user)
    db.session.commit()
    return user


def authenticate(email: str, password: str) -> User:
    """The user with these credentials, or `bad_credentials` (never saying which part was wrong)."""
    user = db.session.scalar(select(User).where(User.email == email.strip().lower(), User.deleted_at.is_(None)))
    ph = hasher()
    try:
        if user is None:
            key = (ph.time_cost, ph.memory_cost)
            ph.verify(_DUMMY_HASH.setdefault(key, ph.hash("not a password")), password)
            raise VerificationError
        ph.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        raise DomainError("bad_credentials", "That email and password do not match.", 401) from None
    if ph.check_needs_rehash(user.password_hash):
        user.password_hash = ph.hash(password)
        db.session.commit()
    return user


def start_login(user: User, kind: str = "cookie", label: str | None = None) -> str:
    """Open a login or issue a token; returns the secret, which is never stored."""
    secret = secrets.token_urlsafe(32)
    cfg = current_app.config
    lifetime = cfg["TOKEN_LIFETIME"] if kind == "token" else cfg["SESSION_ABSOLUTE_TIMEOUT"]
    row = AuthSession(user_id=user.id, kind=kind, label=label, secret_hash=_digest(secret),
                      expires_at=utcnow() + lifetime)
    db.session.add(row)
    db.session.commit()
    user.auth_session_id = secret
    return secret


def find_login(secret: str | None, kind: str) -> AuthSession | None:
    """The live AuthSession for this secret, refreshing its idle clock; None when not valid."""
    if not secret or not isinstance(secret, str) or len(secret) > 200:
        return None
    row = db.session.scalar(select(AuthSession).where(AuthSession.secret_hash == _digest(secret),
                                                      AuthSession.kind == kind))
    now = utcnow()
    if row is None or not is_live(row, now):
        return None
    if (now - row.last_seen_at).total_seconds() > 60:  # one write a minute, not one per request
        row.last_seen_at = now
        db.session.commit()
    return row


def is_live(row: AuthSession, now: datetime | None = None) -> bool:
    """Not revoked, not past its absolute expiry, and (for cookies) not idle for too long."""
    return login_live(row.revoked_at, row.expires_at, row.user.deleted_at, row.kind, row.last_seen_at, now)


def login_live(revoked_at, expires_at, user_deleted_at, kind, last_seen_at, now: datetime | None = None) -> bool:
    """is_live on plain column values (the socket path reads them in one Core statement)."""
    now = now or utcnow()
    if revoked_at is not None or expires_at <= now or user_deleted_at is not None:
        return False
    if kind == "cookie" and now - last_seen_at > current_app.config["SESSION_IDLE_TIMEOUT"]:
        return False
    return True


def load_user(secret: str | None, kind: str) -> User | None:
    row = find_login(secret, kind)
    if row is None:
        return None
    user = row.user
    user.auth_session_id = secret
    user.auth_row_id = row.id
    return user


def end_login(secret: str | None, kind: str = "cookie") -> None:
    """Revoke a login or token; its sockets, on every process, are disconnected before this returns."""
    if not secret:
        return
    row = db.session.scalar(select(AuthSession).where(AuthSession.secret_hash == _digest(secret)))
    if row is not None and row.revoked_at is None:
        from ..room import presence  # the room reads logins through this module
        row.revoked_at = utcnow()
        user_id = row.user_id
        presence.audience_changed(login_id=row.id)
        db.session.commit()
        presence.cut_lost_sockets([user_id])
