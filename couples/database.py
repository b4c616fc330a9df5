"""Database set-up shared by every backend: SQLite durability settings on each connection."""
from sqlalchemy import event
from sqlalchemy.engine import Engine

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",       # readers do not block the writer
    "PRAGMA synchronous=FULL",       # an acknowledged commit survives a power cut
    "PRAGMA busy_timeout=15000",     # wait for the writer instead of failing at once
    "PRAGMA foreign_keys=ON",
)


def configure_engine(engine: Engine) -> None:
    """Apply the SQLite pragmas on every new connection (no-op for other backends)."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        cur = dbapi_conn.cursor()
        for pragma in SQLITE_PRAGMAS:
            cur.execute(pragma)
        cur.close()
