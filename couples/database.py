"""Database set-up: SQLite's durability settings on every connection; on PostgreSQL, every
connection goes back to the pool in transaction mode (a statement run alone switches it to
autocommit, see perf/prepared.py)."""
from sqlalchemy import event
from sqlalchemy.engine import Engine

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",       # readers do not block the writer
    "PRAGMA synchronous=FULL",       # an acknowledged commit survives a power cut
    "PRAGMA busy_timeout=15000",     # wait for the writer instead of failing at once
    "PRAGMA foreign_keys=ON",
    "PRAGMA secure_delete=ON",       # deleted and overwritten content is zeroed, not left in free space
)


def configure_engine(engine: Engine) -> None:
    """Apply the SQLite pragmas on every new connection; on PostgreSQL, hand every connection
    back to the pool in transaction mode whatever a request switched it to."""
    if engine.dialect.name == "postgresql":
        @event.listens_for(engine, "checkin")
        def _back_to_transactions(dbapi_conn, _record):
            if dbapi_conn is not None and dbapi_conn.autocommit:
                dbapi_conn.autocommit = False  # client-side in psycopg2: no round trip
        return
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        cur = dbapi_conn.cursor()
        for pragma in SQLITE_PRAGMAS:
            cur.execute(pragma)
        cur.close()


def scrub_wal(engine: Engine) -> bool:
    """After an erasure on SQLite: copy the write-ahead log into the database file and truncate it
    to zero bytes, so no older page image holding erased words stays in `-wal` (secure_delete has
    zeroed them in the file itself). Waits for readers (the busy timeout); False if some reader
    still held an older snapshot. Nothing to do on PostgreSQL (docs/privacy.md says what is kept)."""
    if engine.dialect.name != "sqlite":
        return True
    with engine.connect() as conn:
        busy = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").first()[0]
    return busy == 0
