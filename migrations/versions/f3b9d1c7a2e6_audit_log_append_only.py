"""audit log: database triggers refuse UPDATE and DELETE (and, on PostgreSQL, TRUNCATE)

The app only ever INSERTs audit rows (couples/privacy/audit.py); these triggers make that a rule
of the database too, so neither a bug nor a stray statement can edit or remove an entry. They
do not stop the database's owner or a superuser (who can drop a trigger): against them the
chain's key and its checkpoints outside the database are the guard (docs/privacy.md).

SQLite: a later batch migration that recreates audit_log drops these triggers with the old
table; such a migration must create them again (`create_triggers()` below).

Revision ID: f3b9d1c7a2e6
Revises: e5a1c9d3f7b2
Create Date: 2026-12-10 10:00:00

"""
from alembic import op


revision = 'f3b9d1c7a2e6'
down_revision = 'e5a1c9d3f7b2'
branch_labels = None
depends_on = None

SQLITE = (
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE refused'); END",
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: DELETE refused'); END",
)
POSTGRESQL = (
    "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP "
    "USING ERRCODE = 'insufficient_privilege'; END $$",
    "CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
    "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()",
)


def create_triggers():
    for statement in (POSTGRESQL if op.get_bind().dialect.name == 'postgresql' else SQLITE):
        op.execute(statement)


def upgrade():
    create_triggers()


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update_delete ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
