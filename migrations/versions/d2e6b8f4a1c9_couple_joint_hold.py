"""couples: joint_hold_at and joint_hold_by_id, a linked therapist's hold on joint practice

Set by a therapist whose link is active (room/holds.py), cleared when they release it. While it
is set, the couple's live session is held (the engine's system action "hold") and a session
started meanwhile starts held. No reason is stored: nothing says which answer led to it.

Revision ID: d2e6b8f4a1c9
Revises: a4c7e2b9d8f1
Create Date: 2026-12-06 23:55:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'd2e6b8f4a1c9'
down_revision = 'a4c7e2b9d8f1'
branch_labels = None
depends_on = None


def upgrade():
    # Added in place (ALTER TABLE ... ADD COLUMN), never by copying the table: on SQLite a copy
    # drops the old table, and the rows of couple_members, invitations and therapist_links
    # would go with it (ON DELETE CASCADE). So no foreign key on joint_hold_by_id: like the audit
    # log's actor_id, it names a user, whose row is never removed (a deletion leaves a tombstone).
    op.add_column('couples', sa.Column('joint_hold_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('couples', sa.Column('joint_hold_by_id', sa.Integer(), nullable=True))


def downgrade():
    op.drop_column('couples', 'joint_hold_by_id')
    op.drop_column('couples', 'joint_hold_at')
