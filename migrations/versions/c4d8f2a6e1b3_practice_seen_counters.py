"""practice_sessions: per-viewer counters (seen_a, seen_b, seen_therapist)

Each counter is how many events of the session's log the viewer may see: its own last seq on
the wire. They are maintained in the same versioned UPDATE that appends events, so a write no
longer re-reads the whole log to number its events. Existing rows are backfilled from
session_events.

Revision ID: c4d8f2a6e1b3
Revises: b7c1e5a9d2f4
Create Date: 2026-11-27 00:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'c4d8f2a6e1b3'
down_revision = 'b7c1e5a9d2f4'
branch_labels = None
depends_on = None

VIEWERS = ("a", "b", "therapist")


def upgrade():
    with op.batch_alter_table('practice_sessions', schema=None) as batch_op:
        for viewer in VIEWERS:
            batch_op.add_column(sa.Column(f'seen_{viewer}', sa.BigInteger(), nullable=False,
                                          server_default='0'))
    bind = op.get_bind()
    # Backfill: count, per session, the events whose audience (a JSON list) holds the viewer.
    if bind.dialect.name == 'postgresql':
        has = "(e.audience::jsonb ? '{v}')"
    else:
        has = "EXISTS (SELECT 1 FROM json_each(e.audience) WHERE json_each.value = '{v}')"
    sets = ", ".join(
        f"seen_{v} = (SELECT COUNT(*) FROM session_events e WHERE e.session_id = practice_sessions.id "
        f"AND {has.format(v=v)})" for v in VIEWERS)
    op.execute(f"UPDATE practice_sessions SET {sets} WHERE last_seq > 0")


def downgrade():
    with op.batch_alter_table('practice_sessions', schema=None) as batch_op:
        for viewer in reversed(VIEWERS):
            batch_op.drop_column(f'seen_{viewer}')
