"""collection: contribution declarations, pending until the collector confirms the payment

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01 09:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('contribution_declarations',
    sa.Column('id', sa.String(length=24), nullable=False),
    sa.Column('person_id', sa.String(length=24), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('base_fen', sa.BigInteger(), nullable=False),
    sa.Column('payer', sa.String(length=24), nullable=False),
    sa.Column('employer_id', sa.String(length=24), nullable=True),
    sa.Column('declared_by', sa.String(length=64), nullable=False),
    sa.Column('declared_role', sa.String(length=12), nullable=False),
    sa.Column('declared_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('collected_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('collected_by', sa.String(length=64), nullable=True),
    sa.Column('contribution_id', sa.String(length=24), nullable=True),
    sa.Column('credited_fen', sa.BigInteger(), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'collected')", name=op.f('ck_contribution_declarations_status')),
    sa.CheckConstraint('base_fen > 0', name=op.f('ck_contribution_declarations_base_positive')),
    sa.CheckConstraint("(status = 'pending' AND collected_at IS NULL) OR "
                       "(status = 'collected' AND collected_at IS NOT NULL AND credited_fen IS NOT NULL)",
                       name=op.f('ck_contribution_declarations_collected')),
    sa.ForeignKeyConstraint(['employer_id'], ['employers.id'],
                            name=op.f('fk_contribution_declarations_employer_id_employers')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'],
                            name=op.f('fk_contribution_declarations_person_id_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contribution_declarations')),
    sa.UniqueConstraint('person_id', 'period', 'payer', name='uq_contribution_declarations_person_period_payer')
    )
    with op.batch_alter_table('contribution_declarations', schema=None) as batch_op:
        batch_op.create_index('ix_contribution_declarations_status_period', ['status', 'period'], unique=False)
        batch_op.create_index('ix_contribution_declarations_employer_id', ['employer_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('contribution_declarations', schema=None) as batch_op:
        batch_op.drop_index('ix_contribution_declarations_employer_id')
        batch_op.drop_index('ix_contribution_declarations_status_period')
    op.drop_table('contribution_declarations')
