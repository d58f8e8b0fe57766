"""family consent and bank holders: grants pending until the grantee accepts; a bank number linked by one
person at a time, and unlinking

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 09:30:00

A database that already holds one number linked by several people keeps the earliest link and marks the
later ones unlinked at the time of the upgrade (the agency reviews them: they are the case this closes).
"""

import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

GRANT_OPEN = "status IN ('pending', 'active')"


def upgrade() -> None:
    with op.batch_alter_table('family_grants') as batch:
        batch.add_column(sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True))
        batch.drop_constraint(op.f('ck_family_grants_status'), type_='check')
        batch.create_check_constraint(op.f('ck_family_grants_status'),
                                      "status IN ('pending', 'active', 'revoked', 'declined', 'cancelled')")
        batch.drop_index('uq_family_grants_one_active', sqlite_where=sa.text("status = 'active'"),
                         postgresql_where=sa.text("status = 'active'"))
        batch.create_index('uq_family_grants_one_open', ['owner_id', 'grantee_id'], unique=True,
                           sqlite_where=sa.text(GRANT_OPEN), postgresql_where=sa.text(GRANT_OPEN))
    op.execute("UPDATE family_grants SET accepted_at = created_at WHERE status = 'active'")

    with op.batch_alter_table('bank_accounts') as batch:
        batch.add_column(sa.Column('status', sa.String(length=10), nullable=False, server_default='linked'))
        batch.add_column(sa.Column('unlinked_at', sa.DateTime(timezone=True), nullable=True))
        batch.drop_constraint('uq_bank_accounts_person_account', type_='unique')
    _unlink_later_duplicates()
    with op.batch_alter_table('bank_accounts') as batch:
        batch.alter_column('status', server_default=None)
        batch.create_check_constraint(op.f('ck_bank_accounts_status'), "status IN ('linked', 'unlinked')")
        batch.create_check_constraint(op.f('ck_bank_accounts_primary_linked'), "status = 'linked' OR NOT is_primary")
        batch.create_index('uq_bank_accounts_number_linked', ['account_no'], unique=True,
                           sqlite_where=sa.text("status = 'linked'"), postgresql_where=sa.text("status = 'linked'"))


def _unlink_later_duplicates() -> None:
    accounts = sa.table('bank_accounts', sa.column('id'), sa.column('account_no'), sa.column('created_at'),
                        sa.column('status'), sa.column('is_primary'), sa.column('unlinked_at'))
    conn = op.get_bind()
    rows = conn.execute(sa.select(accounts.c.id, accounts.c.account_no)
                        .order_by(accounts.c.account_no, accounts.c.created_at, accounts.c.id)).all()
    seen, later = set(), []
    for row in rows:
        if row.account_no in seen:
            later.append(row.id)
        seen.add(row.account_no)
    if later:
        now = dt.datetime.now(dt.UTC)
        conn.execute(accounts.update().where(accounts.c.id.in_(later))
                     .values(status='unlinked', is_primary=False, unlinked_at=now))


def downgrade() -> None:
    with op.batch_alter_table('bank_accounts') as batch:
        batch.drop_index('uq_bank_accounts_number_linked', sqlite_where=sa.text("status = 'linked'"),
                         postgresql_where=sa.text("status = 'linked'"))
        batch.drop_constraint(op.f('ck_bank_accounts_primary_linked'), type_='check')
        batch.drop_constraint(op.f('ck_bank_accounts_status'), type_='check')
    op.execute("DELETE FROM bank_accounts WHERE status = 'unlinked'")
    with op.batch_alter_table('bank_accounts') as batch:
        batch.drop_column('unlinked_at')
        batch.drop_column('status')
        batch.create_unique_constraint('uq_bank_accounts_person_account', ['person_id', 'account_no'])

    op.execute("UPDATE family_grants SET status = 'revoked', revoked_at = created_at "
               "WHERE status IN ('pending', 'declined', 'cancelled')")
    with op.batch_alter_table('family_grants') as batch:
        batch.drop_index('uq_family_grants_one_open', sqlite_where=sa.text(GRANT_OPEN),
                         postgresql_where=sa.text(GRANT_OPEN))
        batch.create_index('uq_family_grants_one_active', ['owner_id', 'grantee_id'], unique=True,
                           sqlite_where=sa.text("status = 'active'"), postgresql_where=sa.text("status = 'active'"))
        batch.drop_constraint(op.f('ck_family_grants_status'), type_='check')
        batch.create_check_constraint(op.f('ck_family_grants_status'), "status IN ('active', 'revoked')")
        batch.drop_column('accepted_at')
