"""roles: agency counter staff, self-service terminals and contribution collectors

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 09:10:00
"""

from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

OLD = "role IN ('person', 'unit', 'institution', 'reviewer', 'auditor', 'admin')"
NEW = ("role IN ('person', 'unit', 'institution', 'counter', 'terminal', 'collector', 'reviewer', 'auditor', "
       "'admin')")


def upgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.drop_constraint(op.f('ck_users_role'), type_='check')
        batch.create_check_constraint(op.f('ck_users_role'), NEW)


def downgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.drop_constraint(op.f('ck_users_role'), type_='check')
        batch.create_check_constraint(op.f('ck_users_role'), OLD)
