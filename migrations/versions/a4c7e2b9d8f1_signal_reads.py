"""signal_reads: a therapist's read marks on safety signals, and an index to find the signals

A safety signal is an event of the log (couples/review/signals.py); only which therapist read
which one, and when, is stored. The partial index on session_events holds only the events of
the signal kinds, so a couple's signals are a few index entries away instead of a scan of every
event of every session; every other event (nearly all of them) costs the turn's write only the
test of the index's WHERE. That WHERE lists signals.TYPES in the same order, as the query
renders it: SQLite uses a partial index only for a query whose WHERE has the same terms
(tests/review/test_signals.py checks the plan). A new kind of signal needs a migration that
recreates the index with the longer list.

On PostgreSQL the index is built CONCURRENTLY (outside the migration's transaction), so a large
session_events table keeps taking writes while it is built.

Revision ID: a4c7e2b9d8f1
Revises: f3b9d1c7a2e6
Create Date: 2026-12-06 23:45:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'a4c7e2b9d8f1'
down_revision = 'f3b9d1c7a2e6'
branch_labels = None
depends_on = None

SIGNAL_TYPES = ('safety_concern', 'return_missed', 'distress_flagged', 'pause_reason', 'end_reason')
SIGNALS_ONLY = sa.text("type IN ({})".format(", ".join(f"'{t}'" for t in SIGNAL_TYPES)))
INDEX = 'ix_session_events_signals'


def upgrade():
    op.create_table('signal_reads',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('therapist_id', sa.Integer(), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['session_events.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['therapist_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('event_id', 'therapist_id')
    )
    with op.batch_alter_table('signal_reads', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_signal_reads_therapist_id'), ['therapist_id'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        with op.get_context().autocommit_block():
            op.create_index(INDEX, 'session_events', ['session_id', 'type'], unique=False,
                            postgresql_where=SIGNALS_ONLY, postgresql_concurrently=True)
    else:
        op.create_index(INDEX, 'session_events', ['session_id', 'type'], unique=False, sqlite_where=SIGNALS_ONLY)


def downgrade():
    op.drop_index(INDEX, table_name='session_events')
    with op.batch_alter_table('signal_reads', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_signal_reads_therapist_id'))
    op.drop_table('signal_reads')
