"""Settings from the environment, with safe defaults. `.env.example` lists every variable."""
import json
import os
import re
import secrets
from datetime import timedelta
from pathlib import Path


def _bool(name: str, default: bool) -> bool:
    val = os.environ.get(name)
    return default if val is None else val.strip().lower() in {"1", "true", "yes", "on"}


def _secret_key(instance: Path, production: bool) -> str:
    """SECRET_KEY from the environment; else a generated one kept under instance/ (dev only)."""
    key = os.environ.get("SECRET_KEY")
    if key:
        return key
    if production:
        raise RuntimeError("SECRET_KEY must be set when COUPLES_ENV=production")
    path = instance / "secret_key"
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def _audit_key(instance: Path, production: bool) -> str:
    """COUPLES_AUDIT_KEY (signs the audit chain and its checkpoints, privacy/audit.py); else a
    generated one kept under instance/ (dev only). Never in the database, whose rows it signs."""
    key = os.environ.get("COUPLES_AUDIT_KEY", "").strip()
    if key:
        if len(key) < 32:
            raise RuntimeError("COUPLES_AUDIT_KEY must be at least 32 characters (e.g. 64 hex digits)")
        return key
    if production:
        raise RuntimeError("COUPLES_AUDIT_KEY must be set when COUPLES_ENV=production")
    path = instance / "audit_key"
    if not path.exists():  # created whole or not at all: processes starting together agree on it
        instance.mkdir(parents=True, exist_ok=True)
        tmp = instance / f".audit_key.{os.getpid()}.{secrets.token_hex(4)}"
        tmp.write_text(secrets.token_hex(32))
        tmp.chmod(0o600)
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip()


def _rate_limit(name: str, default: str) -> str:
    """A limit in the `limits` notation ("60 per minute", several joined by ";"), checked here so
    that a typo stops the start instead of the first socket."""
    from limits import parse_many
    value = os.environ.get(name, default).strip()
    try:
        parse_many(value)
    except ValueError:
        raise RuntimeError(f"{name} must be a rate such as '60 per minute' (got {value!r})") from None
    return value


def _base_url(production: bool, port: str) -> str:
    """COUPLES_BASE_URL: the public address every link the app hands out starts with (an
    invitation link). Never derived from the request's Host or forwarded headers, which the sender
    chooses. Required in production; in development the address `python app.py` serves on."""
    from urllib.parse import urlsplit
    url = os.environ.get("COUPLES_BASE_URL", "").strip()
    if not url:
        if production:
            raise RuntimeError("COUPLES_BASE_URL must be set when COUPLES_ENV=production "
                               "(the public address, e.g. https://couples.example.org)")
        return f"http://127.0.0.1:{port}"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc \
            or parts.query or parts.fragment:
        raise RuntimeError("COUPLES_BASE_URL must be like https://couples.example.org (scheme, host, "
                           "optional port and path; nothing else)")
    return url.rstrip("/")


# Crisis and domestic-violence services, shown on the Help page and on the room's "not today"
# screen, after "If you are in danger now, call your local emergency number." A deployment
# replaces the list with COUPLES_CRISIS_RESOURCES (a JSON file of entries like these); numbers as
# each service publishes them. `phone` (optional) is dialled by the page's "Call" link.
DEFAULT_CRISIS_RESOURCES = [
    {"name": "Find A Helpline", "url": "https://findahelpline.com",
     "contact": "Free, confidential helplines in many countries: search by country and by what you need."},
    {"name": "988 Suicide & Crisis Lifeline", "region": "United States", "phone": "988",
     "url": "https://988lifeline.org", "contact": "Call or text 988, at any time."},
    {"name": "National Domestic Violence Hotline", "region": "United States", "phone": "1-800-799-7233",
     "url": "https://www.thehotline.org",
     "contact": "Call 1-800-799-7233 or text START to 88788, at any time."},
    {"name": "National Domestic Abuse Helpline (Refuge)", "region": "United Kingdom", "phone": "0808 2000 247",
     "url": "https://www.nationaldahelpline.org.uk", "contact": "Call 0808 2000 247, free, at any time."},
    {"name": "Samaritans", "region": "United Kingdom and Ireland", "phone": "116 123",
     "url": "https://www.samaritans.org", "contact": "Call 116 123, free, at any time."},
    {"name": "1800RESPECT", "region": "Australia", "phone": "1800 737 732",
     "url": "https://www.1800respect.org.au",
     "contact": "Call 1800 737 732, at any time, about domestic, family or sexual violence."},
    {"name": "Lifeline", "region": "Australia", "phone": "13 11 14",
     "url": "https://www.lifeline.org.au", "contact": "Call 13 11 14, at any time."},
]
_RESOURCE_KEYS = {"name": True, "contact": True, "url": False, "region": False, "phone": False}


def _crisis_resources() -> list[dict]:
    """COUPLES_CRISIS_RESOURCES names a JSON file holding a list of {name, contact, url?, region?,
    phone?}; unset, the default list. A file that cannot be read or is malformed stops the start
    with what is wrong, rather than leave a page of help empty or broken."""
    path = os.environ.get("COUPLES_CRISIS_RESOURCES", "").strip()
    if not path:
        return [dict(entry) for entry in DEFAULT_CRISIS_RESOURCES]
    try:
        entries = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise RuntimeError(f"COUPLES_CRISIS_RESOURCES: cannot read {path} as JSON: {err}") from None
    if not isinstance(entries, list) or not entries:
        raise RuntimeError(f"COUPLES_CRISIS_RESOURCES: {path} must hold a JSON list of at least one "
                           "resource, each {\"name\", \"contact\", optional \"url\", \"region\", \"phone\"}")
    return [_crisis_resource(entry, f"COUPLES_CRISIS_RESOURCES: {path}: entry {n}")
            for n, entry in enumerate(entries, 1)]


def _crisis_resource(entry, where: str) -> dict:
    """One entry, checked: known keys, non-empty text, an https/http address, a dialable number."""
    if not isinstance(entry, dict):
        raise RuntimeError(f"{where} must be an object with \"name\" and \"contact\"")
    unknown = sorted(set(entry) - set(_RESOURCE_KEYS))
    if unknown:
        raise RuntimeError(f"{where}: unknown key(s) {', '.join(unknown)} (known: {', '.join(_RESOURCE_KEYS)})")
    for key, required in _RESOURCE_KEYS.items():
        value = entry.get(key)
        if value is None and not required:
            continue
        if not isinstance(value, str) or not value.strip():
            raise RuntimeError(f"{where}: \"{key}\" must be {'' if required else 'absent or '}non-empty text")
    url = entry.get("url")
    if url is not None and not re.fullmatch(r"https?://[^\s/?#]+\S*", url.strip()):
        raise RuntimeError(f"{where}: \"url\" must be a web address starting with https:// (got {url!r})")
    phone = entry.get("phone")
    if phone is not None and not re.fullmatch(r"\+?[0-9][0-9 ().-]*", phone.strip()):
        raise RuntimeError(f"{where}: \"phone\" must be a number to dial, digits with spaces or "
                           f"dashes, optionally starting with + (got {phone!r})")
    return {key: value.strip() for key, value in entry.items() if value is not None}


class Config:
    """Built per app so that tests can change the environment between apps."""

    def __init__(self, instance_path: str):
        instance = Path(instance_path)
        self.ENV_NAME = os.environ.get("COUPLES_ENV", "development")
        production = self.ENV_NAME == "production"
        self.SECRET_KEY = _secret_key(instance, production)
        self.AUDIT_KEY = _audit_key(instance, production)
        # Where the audit chain's signed checkpoints are appended: outside the database.
        self.AUDIT_CHECKPOINTS = os.environ.get("COUPLES_AUDIT_CHECKPOINTS") or str(instance / "audit-checkpoints")
        self.SQLALCHEMY_DATABASE_URI = normalise_db_url(
            os.environ.get("DATABASE_URL") or f"sqlite:///{instance / 'couples.db'}")
        self.REDIS_URL = os.environ.get("REDIS_URL") or None
        self.ASYNC_MODE = os.environ.get("COUPLES_ASYNC_MODE", "eventlet")
        # Origins allowed to open a socket. Explicit, never derived from request headers; by
        # default the addresses `python app.py` serves its own pages on (PORT, as app.py reads it).
        port = os.environ.get("PORT", "5000")
        self.ALLOWED_ORIGINS = [o.strip() for o in os.environ.get(
            "COUPLES_ALLOWED_ORIGINS", f"http://127.0.0.1:{port},http://localhost:{port}").split(",") if o.strip()]
        self.BASE_URL = _base_url(production, port)  # public links (invitations): never the Host header
        self.SESSION_COOKIE_SECURE = _bool("COUPLES_SECURE_COOKIES", production)
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.REMEMBER_COOKIE_SECURE = self.SESSION_COOKIE_SECURE
        self.REMEMBER_COOKIE_HTTPONLY = True
        # Idle and absolute lifetimes of a login; bearer tokens live longer but can be revoked.
        self.SESSION_IDLE_TIMEOUT = timedelta(minutes=int(os.environ.get("COUPLES_IDLE_MINUTES", "30")))
        self.SESSION_ABSOLUTE_TIMEOUT = timedelta(hours=int(os.environ.get("COUPLES_ABSOLUTE_HOURS", "12")))
        self.TOKEN_LIFETIME = timedelta(days=int(os.environ.get("COUPLES_TOKEN_DAYS", "30")))
        self.INVITE_LIFETIME = timedelta(days=7)
        self.CRISIS_RESOURCES = _crisis_resources()  # the Help page and the "not today" screen
        self.RATELIMIT_STORAGE_URI = self.REDIS_URL or "memory://"
        self.RATELIMIT_HEADERS_ENABLED = True
        # While the store (Redis) does not answer, count in this process's memory with the same
        # limits rather than fail the request or drop the limits (create_app sets its timeouts).
        self.RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
        self.LOGIN_RATE_LIMIT = os.environ.get("COUPLES_LOGIN_RATE_LIMIT", "10 per minute")
        # Per email, from any address: after LOGIN_FREE_FAILURES failures within the window, each
        # attempt at it waits its own slot (LOGIN_DELAY_BASE seconds, doubling per failure up to
        # LOGIN_DELAY_MAX), one after another; beyond LOGIN_MAX_WAIT of queue: 429 (accounts/throttle.py).
        self.LOGIN_FAILURE_WINDOW = timedelta(minutes=15)
        self.LOGIN_FREE_FAILURES = 5
        self.LOGIN_DELAY_BASE = 0.5
        self.LOGIN_DELAY_MAX = 8.0
        self.LOGIN_MAX_WAIT = 30.0
        self.REGISTER_RATE_LIMIT = os.environ.get("COUPLES_REGISTER_RATE_LIMIT", "10 per hour")
        # The live room (room/ratelimit.py). Beside each socket's own token bucket
        # (SOCKET_RATE_PER_SECOND, SOCKET_RATE_BURST): events per person across all their sockets,
        # and connects per person and per client address; moving windows in the rate-limit store
        # (Redis when REDIS_URL is set, so every process counts together). Far above what anyone
        # does: the room page sends an event every few seconds at most and reconnects with backoff.
        # SOCKET_RATE_LIMIT=False turns all of them off (tests).
        self.SOCKET_EVENTS_PER_PERSON = _rate_limit("COUPLES_SOCKET_EVENTS_PER_PERSON", "1200 per minute")
        self.SOCKET_CONNECTS_PER_PERSON = _rate_limit("COUPLES_SOCKET_CONNECTS_PER_PERSON", "60 per minute")
        self.SOCKET_CONNECTS_PER_ADDRESS = _rate_limit("COUPLES_SOCKET_CONNECTS_PER_ADDRESS", "600 per minute")
        # Argon2id hashes running at once, each in a native thread off the event loop.
        self.HASH_THREADS = max(1, (os.cpu_count() or 2) - 1)
        # Reverse proxies in front of the app (1 behind deploy/nginx.conf). Their X-Forwarded-For
        # and -Proto are believed for exactly that many hops; 0 (the default) believes none, so a
        # client cannot pick its own address to dodge the login limit.
        self.TRUSTED_PROXIES = int(os.environ.get("COUPLES_TRUSTED_PROXIES", "0"))
        self.WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the login session
        self.MAX_CONTENT_LENGTH = 64 * 1024
        self.MAX_SOCKET_MESSAGE = 64 * 1024
        # How often the sweeper looks for due timers and lost authorisation (seconds).
        self.SWEEP_INTERVAL = float(os.environ.get("COUPLES_SWEEP_INTERVAL", "0.5"))
        self.PRESENCE_TTL = float(os.environ.get("COUPLES_PRESENCE_TTL", "60"))


RATE_LIMIT_STORE_TIMEOUT = 0.5  # seconds: a rate-limit store that does not answer costs a request this


def rate_limit_store_options(uri: str) -> dict:
    """The rate-limit store's options for `uri`: a Redis that does not answer is given up on after
    RATE_LIMIT_STORE_TIMEOUT, so a login or a socket event never waits long on it."""
    if uri.startswith(("redis://", "rediss://", "redis+unix://")):
        return {"socket_timeout": RATE_LIMIT_STORE_TIMEOUT, "socket_connect_timeout": RATE_LIMIT_STORE_TIMEOUT}
    return {}


def engine_options(url: str) -> dict:
    """Per-backend engine options: a lock wait for SQLite; for PostgreSQL, bounded waits, so a
    handler facing an unreachable database fails closed in seconds ("unavailable") instead of
    hanging until it heals while greenlets and pool connections pile up.

    No pre-ping by default (a measured shortcut, docs/performance.md): a connection a restart broke
    fails its first statement instead; that request is answered `unavailable` (the client
    resends, never applied twice) and SQLAlchemy then invalidates the whole pool, so the next
    requests reconnect. The TCP keepalives below find silently dead connections.
    COUPLES_DB_PRE_PING=1 turns it back on."""
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 15}}
    statement_ms = int(os.environ.get("COUPLES_DB_STATEMENT_TIMEOUT_MS", "15000"))
    return {
        "pool_pre_ping": os.environ.get("COUPLES_DB_PRE_PING", "0") == "1",
        # Kept connections and no extra ones: an overflow connection is closed when handed back,
        # so under bursts they churned (at 500 sessions, 25 kept + 5 extra forked about 7
        # PostgreSQL backends a second, each preparing its statements again). A burst now waits
        # its turn for one of the 30, which the database could not serve faster anyway.
        "pool_size": int(os.environ.get("COUPLES_DB_POOL_SIZE", "30")),
        "max_overflow": int(os.environ.get("COUPLES_DB_MAX_OVERFLOW", "0")), "pool_timeout": 5,
        # Server-side prepared statements for the hot statements (perf/prepared.py);
        # COUPLES_DB_PREPARE=0 behind a pooler that shares connections per transaction.
        "execution_options": {"couples_prepare": os.environ.get("COUPLES_DB_PREPARE", "1") == "1"},
        "connect_args": {
            "connect_timeout": 5,
            "keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 3, "keepalives_count": 3,
            "tcp_user_timeout": 10000,  # a real partition: give up on unacknowledged sends
            "options": f"-c statement_timeout={statement_ms} -c lock_timeout=5000",
        },
    }


def normalise_db_url(url: str) -> str:
    """Pin PostgreSQL to psycopg2: eventlet's monkey-patching covers it (psycopg 3 does not
    support eventlet) and psycogreen makes it cooperate under gevent."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix):]
    return url
