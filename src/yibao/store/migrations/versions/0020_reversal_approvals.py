"""reversal_requests: a reversal of a ledger entry asked by one admin, approved or rejected by another

Revision ID: 0020
Revises: 0018
Create Date: 2026-12-01 11:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('reversal_requests',
    sa.Column('id', sa.String(length=24), nullable=False),
    sa.Column('entry_id', sa.String(length=24), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('requested_by', sa.String(length=64), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('decided_by', sa.String(length=64), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('note', sa.String(length=200), server_default='', nullable=False),
    sa.Column('reversal_entry_id', sa.String(length=24), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'approved', 'rejected')", name=op.f('ck_reversal_requests_status')),
    sa.CheckConstraint("(status = 'pending' AND decided_at IS NULL) OR "
                       "(status = 'rejected' AND decided_at IS NOT NULL) OR "
                       "(status = 'approved' AND decided_at IS NOT NULL AND reversal_entry_id IS NOT NULL)",
                       name=op.f('ck_reversal_requests_decided')),
    sa.ForeignKeyConstraint(['entry_id'], ['ledger_entries.id'],
                            name=op.f('fk_reversal_requests_entry_id_ledger_entries')),
    sa.ForeignKeyConstraint(['reversal_entry_id'], ['ledger_entries.id'],
                            name=op.f('fk_reversal_requests_reversal_entry_id_ledger_entries')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reversal_requests'))
    )
    with op.batch_alter_table('reversal_requests', schema=None) as batch_op:
        batch_op.create_index('ix_reversal_requests_entry_id', ['entry_id'], unique=False)
        batch_op.create_index('uq_reversal_requests_pending_entry', ['entry_id'], unique=True,
                              sqlite_where=sa.text("status = 'pending'"),
                              postgresql_where=sa.text("status = 'pending'"))


def downgrade() -> None:
    with op.batch_alter_table('reversal_requests', schema=None) as batch_op:
        batch_op.drop_index('uq_reversal_requests_pending_entry')
        batch_op.drop_index('ix_reversal_requests_entry_id')
    op.drop_table('reversal_requests')
