"""Tampering with the audit log as someone who holds the database (not the app's key) would:
past its append-only triggers, dropped and put back on SQLite, disabled and enabled again on
PostgreSQL (both need the table's owner; the app never does this)."""
from contextlib import contextmanager

from sqlalchemy import text

from couples.extensions import db


@contextmanager
def past_the_triggers(session=None):
    """`with past_the_triggers(): db.session.execute(delete(AuditEntry)...)`, committed at the end."""
    sess = session if session is not None else db.session
    conn = sess.connection()
    if conn.dialect.name == "postgresql":
        conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
        yield sess
        conn.execute(text("ALTER TABLE audit_log ENABLE TRIGGER USER"))
    else:
        saved = conn.execute(text("SELECT name, sql FROM sqlite_master "
                                  "WHERE type = 'trigger' AND tbl_name = 'audit_log'")).all()
        for name, _ in saved:
            conn.execute(text(f'DROP TRIGGER "{name}"'))
        yield sess
        for _, sql in saved:
            conn.execute(text(sql))
    sess.commit()
