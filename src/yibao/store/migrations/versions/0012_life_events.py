"""life events and account freezes: a person's death or emigration, and agency freezes of an account

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 09:20:00

Cards frozen before account freezes existed become freezes of their holder's account, with the card's reason
(the time of such a freeze was not kept: the card's issue time stands for it).
"""

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('life_events',
    sa.Column('id', sa.String(length=24), nullable=False),
    sa.Column('person_id', sa.String(length=24), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('event_date', sa.Date(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by', sa.String(length=64), nullable=False),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('document_ids', sa.JSON(), nullable=False),
    sa.Column('late_settlement_ids', sa.JSON(), nullable=False),
    sa.Column('account_closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closing_application_id', sa.String(length=24), nullable=True),
    sa.CheckConstraint("kind IN ('death', 'emigration')", name=op.f('ck_life_events_kind')),
    sa.CheckConstraint("source IN ('counter', 'register')", name=op.f('ck_life_events_source')),
    sa.ForeignKeyConstraint(['closing_application_id'], ['applications.id'],
                            name=op.f('fk_life_events_closing_application_id_applications')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_life_events_person_id_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_life_events')),
    sa.UniqueConstraint('person_id', name=op.f('uq_life_events_person_id'))
    )
    op.create_table('account_freezes',
    sa.Column('id', sa.String(length=24), nullable=False),
    sa.Column('person_id', sa.String(length=24), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('card_no', sa.String(length=20), nullable=True),
    sa.Column('frozen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('frozen_by', sa.String(length=64), nullable=False),
    sa.Column('lifted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('lifted_by', sa.String(length=64), nullable=True),
    sa.Column('lift_reason', sa.String(length=200), nullable=True),
    sa.CheckConstraint('(lifted_at IS NULL AND lifted_by IS NULL AND lift_reason IS NULL) OR '
                       '(lifted_at IS NOT NULL AND lifted_by IS NOT NULL AND lift_reason IS NOT NULL)',
                       name=op.f('ck_account_freezes_lifted')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_account_freezes_person_id_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_account_freezes'))
    )
    with op.batch_alter_table('account_freezes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_account_freezes_person_id'), ['person_id'], unique=False)
        batch_op.create_index('uq_account_freezes_one_open', ['person_id'], unique=True,
                              sqlite_where=sa.text('lifted_at IS NULL'), postgresql_where=sa.text('lifted_at IS NULL'))
    # A card frozen before now froze only itself: its holder's account is frozen, as a freeze now is.
    op.execute(
        "INSERT INTO account_freezes (id, person_id, reason, card_no, frozen_at, frozen_by) "
        "SELECT 'frz' || MIN(c.card_no), c.person_id, COALESCE(MIN(c.frozen_reason), 'card frozen'), MIN(c.card_no), "
        "MIN(c.created_at), 'migration' FROM cards c WHERE c.status = 'frozen' GROUP BY c.person_id")


def downgrade() -> None:
    with op.batch_alter_table('account_freezes', schema=None) as batch_op:
        batch_op.drop_index('uq_account_freezes_one_open', sqlite_where=sa.text('lifted_at IS NULL'),
                            postgresql_where=sa.text('lifted_at IS NULL'))
        batch_op.drop_index(batch_op.f('ix_account_freezes_person_id'))
    op.drop_table('account_freezes')
    op.drop_table('life_events')
