"""settlements: an emergency the institution stated (急诊抢救), recorded whether or not the policy let it count
as filed, so stated emergencies can be looked at later

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('settlements', sa.Column('emergency', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_index('ix_settlements_emergency_day', 'settlements', ['business_date'], unique=False,
                    sqlite_where=sa.text('emergency'), postgresql_where=sa.text('emergency'))


def downgrade() -> None:
    op.drop_index('ix_settlements_emergency_day', table_name='settlements')
    # a plain DROP COLUMN (SQLite 3.35+): a batch would rebuild settlements, which refunds refer to, and lose its
    # append-only triggers
    op.drop_column('settlements', 'emergency')
