"""residents register: who exists by the agency's word, how each person was verified, and superseded
self-registrations

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 09:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

OLD_STATUS = "status IN ('requested', 'active', 'ended')"
NEW_STATUS = "status IN ('requested', 'active', 'ended', 'superseded')"
OLD_OPEN = sa.text("status != 'ended'")
NEW_OPEN = sa.text("status IN ('requested', 'active')")


def _open_index(batch, where) -> None:
    batch.create_index('uq_enrollments_open_per_scheme', ['person_id', 'scheme'], unique=True,
                       sqlite_where=where, postgresql_where=where)


def upgrade() -> None:
    op.create_table('residents',
    sa.Column('id', sa.String(length=24), nullable=False),
    sa.Column('id_number', sa.String(length=18), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('event_date', sa.Date(), nullable=True),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('alive', 'deceased', 'emigrated')", name=op.f('ck_residents_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_residents')),
    sa.UniqueConstraint('id_number', name=op.f('uq_residents_id_number'))
    )
    with op.batch_alter_table('persons') as batch:
        batch.add_column(sa.Column('verified_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('verified_by', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('verified_how', sa.String(length=10), nullable=True))
        batch.create_check_constraint(op.f('ck_persons_verified_how'), "verified_how IN ('counter', 'register')")
    with op.batch_alter_table('enrollments') as batch:
        batch.drop_index('uq_enrollments_open_per_scheme')
        batch.drop_constraint(op.f('ck_enrollments_status'), type_='check')
        batch.create_check_constraint(op.f('ck_enrollments_status'), NEW_STATUS)
        _open_index(batch, NEW_OPEN)


def downgrade() -> None:
    with op.batch_alter_table('enrollments') as batch:
        batch.drop_index('uq_enrollments_open_per_scheme')
        batch.drop_constraint(op.f('ck_enrollments_status'), type_='check')
        batch.create_check_constraint(op.f('ck_enrollments_status'), OLD_STATUS)
        _open_index(batch, OLD_OPEN)
    with op.batch_alter_table('persons') as batch:
        batch.drop_constraint(op.f('ck_persons_verified_how'), type_='check')
        batch.drop_column('verified_how')
        batch.drop_column('verified_by')
        batch.drop_column('verified_at')
    op.drop_table('residents')
