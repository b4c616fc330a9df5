"""practice_sessions: audience_epoch, bumped whenever who may receive the session's events changes

A join, a leave, a disconnect, an expired lease, and every revocation (consent, logout, token,
leaving, account deletion) bump it in the same transaction as their change. A turn's write
returns it, so a process re-reads the session's audience (access.live_sockets) only when it
changed, not on every turn.

Revision ID: e5a1c9d3f7b2
Revises: c4d8f2a6e1b3
Create Date: 2026-12-06 21:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'e5a1c9d3f7b2'
down_revision = 'c4d8f2a6e1b3'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('practice_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('audience_epoch', sa.BigInteger(), nullable=False, server_default='0'))


def downgrade():
    with op.batch_alter_table('practice_sessions', schema=None) as batch_op:
        batch_op.drop_column('audience_epoch')
