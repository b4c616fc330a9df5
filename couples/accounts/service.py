"""Accounts and logins: Argon2id password hashes, login sessions and bearer tokens.

A login (browser cookie) and a bearer token are both an AuthSession row holding only the SHA-256
of a random secret, so either can be revoked at once, and every socket event re-checks its row.
"""
import hashlib
import secrets
from datetime import datetime

from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..errors import DomainError
from ..extensions import db
from ..models import AuthSession, User, new_code, utcnow
from .passwords import dummy_hash, hash_password, hasher, verify_password


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def register(email: str, password: str, display_name: str, role: str) -> User | None:
    """Create an account; None when the email (case-insensitively) already has one.

    Both cases cost the same (one Argon2id hash, one lookup) and the pages and the API answer them
    alike, so registering says nothing about who else has an account (docs/security.md)."""
    email = email.strip().lower()
    password_hash = hash_password(password)  # before the lookup: a taken email costs the same
    if db.session.scalar(select(User.id).where(User.email == email)) is not None:
        return None
    user = User(email=email, display_name=display_name, role=role, password_hash=password_hash,
                therapist_code=new_code(5) if role == "therapist" else None)
    db.session.add(user)
    try:
        db.session.commit()
    except IntegrityError:  # registered a moment ago by another request
        db.session.rollback()
        return None
    return user


def authenticate(email: str, password: str) -> User:
    """The user with these credentials, or `bad_credentials` (never saying which part was wrong).

    Exactly one Argon2id verify either way: an unknown email is checked against a dummy hash made
    once, so it takes as long as a known email with a wrong password."""
    ph = hasher()
    dummy = dummy_hash(ph)  # made on the first call of any kind, never again
    user = db.session.scalar(select(User).where(User.email == email.strip().lower(), User.deleted_at.is_(None)))
    try:
        if user is None:
            verify_password(dummy, password, ph)
            raise VerificationError
        verify_password(user.password_hash, password, ph)
    except (VerificationError, InvalidHashError):
        raise DomainError("bad_credentials", "That email and password do not match.", 401) from None
    if ph.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password, ph)
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
