"""payment_codes: one-minute, one-use payment codes of an e-voucher (the content of its QR), kept as digests

Revision ID: 0021
Revises: 0018
Create Date: 2026-12-01 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'payment_codes',
        sa.Column('code_digest', sa.String(length=64), nullable=False),
        sa.Column('evoucher_id', sa.String(length=24), nullable=False),
        sa.Column('person_id', sa.String(length=24), nullable=False),
        sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('used_for', sa.String(length=40), nullable=True),
        sa.CheckConstraint('expires_at > issued_at', name=op.f('ck_payment_codes_expires_after_issue')),
        sa.CheckConstraint('(used_at IS NULL) = (used_for IS NULL)', name=op.f('ck_payment_codes_used')),
        sa.ForeignKeyConstraint(['evoucher_id'], ['evouchers.id'], name=op.f('fk_payment_codes_evoucher_id_evouchers')),
        sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_payment_codes_person_id_persons')),
        sa.PrimaryKeyConstraint('code_digest', name=op.f('pk_payment_codes')),
    )
    op.create_index(op.f('ix_payment_codes_evoucher_id'), 'payment_codes', ['evoucher_id'], unique=False)
    op.create_index(op.f('ix_payment_codes_person_id'), 'payment_codes', ['person_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_payment_codes_person_id'), table_name='payment_codes')
    op.drop_index(op.f('ix_payment_codes_evoucher_id'), table_name='payment_codes')
    op.drop_table('payment_codes')
