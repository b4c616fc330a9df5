"""audit log: UNIQUE prev_hash, so two concurrent appends can never fork the hash chain

Revision ID: b7c1e5a9d2f4
Revises: da317b841f06
Create Date: 2026-11-26 23:55:00

"""
from alembic import op


revision = 'b7c1e5a9d2f4'
down_revision = 'da317b841f06'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_audit_log_prev_hash', ['prev_hash'])


def downgrade():
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_constraint('uq_audit_log_prev_hash', type_='unique')
