"""invoices reimbursed once (invoice_claims) and bookings marked used by a cash redemption

Revision ID: 0015
Revises: 0013
Create Date: 2026-12-01 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0013'
branch_labels = None
depends_on = None

OLD_STATUS = "status IN ('booked', 'cancelled')"
NEW_STATUS = "status IN ('booked', 'cancelled', 'used')"
BOOKED = sa.text("status = 'booked'")


def _one_per_slot(batch) -> None:
    batch.create_index('uq_appointments_one_per_slot', ['slot_id', 'person_id'], unique=True,
                       sqlite_where=BOOKED, postgresql_where=BOOKED)


def upgrade() -> None:
    op.create_table('invoice_claims',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('application_id', sa.String(length=24), nullable=False),
    sa.Column('person_id', sa.String(length=24), nullable=False),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('number', 'einvoice')", name=op.f('ck_invoice_claims_kind')),
    sa.ForeignKeyConstraint(['application_id'], ['applications.id'],
                            name=op.f('fk_invoice_claims_application_id_applications')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_invoice_claims_person_id_persons')),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_invoice_claims'))
    )
    with op.batch_alter_table('invoice_claims') as batch:
        batch.create_index(batch.f('ix_invoice_claims_application_id'), ['application_id'], unique=False)
    with op.batch_alter_table('appointments') as batch:
        batch.add_column(sa.Column('used_at', sa.DateTime(timezone=True), nullable=True))
        batch.drop_index('uq_appointments_one_per_slot')
        batch.drop_constraint(op.f('ck_appointments_status'), type_='check')
        batch.create_check_constraint(op.f('ck_appointments_status'), NEW_STATUS)
        _one_per_slot(batch)


def downgrade() -> None:
    with op.batch_alter_table('appointments') as batch:
        batch.drop_index('uq_appointments_one_per_slot')
        batch.drop_constraint(op.f('ck_appointments_status'), type_='check')
        batch.create_check_constraint(op.f('ck_appointments_status'), OLD_STATUS)
        _one_per_slot(batch)
        batch.drop_column('used_at')
    with op.batch_alter_table('invoice_claims') as batch:
        batch.drop_index(batch.f('ix_invoice_claims_application_id'))
    op.drop_table('invoice_claims')
