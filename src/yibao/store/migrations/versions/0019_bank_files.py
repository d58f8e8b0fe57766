"""bank files: payment files carry a file id and line ids; the bank's signed return files applied are kept;
holds behind lines still awaiting the bank no longer lapse; the database refuses to change a line the bank
settled or to change or remove an applied return

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-01 11:40:00
"""

import datetime as dt
import secrets

import sqlalchemy as sa
from alembic import op

from yibao.store.tables import UtcDateTime

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

UNTIL_SETTLED = dt.datetime(9999, 1, 1, tzinfo=dt.UTC)  # as yibao.ledger.holds.UNTIL_SETTLED
_RETURNS = "append-only: disbursement_returns rows are not changed or removed"
_LINES = "settled: a disbursement line the bank settled is not changed, and no line is removed"
SQLITE = [
    f"CREATE TRIGGER disbursement_returns_append_only_update BEFORE UPDATE ON disbursement_returns "
    f"BEGIN SELECT RAISE(ABORT, '{_RETURNS}'); END",
    f"CREATE TRIGGER disbursement_returns_append_only_delete BEFORE DELETE ON disbursement_returns "
    f"BEGIN SELECT RAISE(ABORT, '{_RETURNS}'); END",
    f"CREATE TRIGGER disbursement_lines_settled_update BEFORE UPDATE ON disbursement_lines "
    f"WHEN OLD.status <> 'pending' BEGIN SELECT RAISE(ABORT, '{_LINES}'); END",
    f"CREATE TRIGGER disbursement_lines_settled_delete BEFORE DELETE ON disbursement_lines "
    f"BEGIN SELECT RAISE(ABORT, '{_LINES}'); END",
]
SQLITE_TRIGGERS = ["disbursement_returns_append_only_update", "disbursement_returns_append_only_delete",
                   "disbursement_lines_settled_update", "disbursement_lines_settled_delete"]
POSTGRESQL = [
    f"""CREATE FUNCTION disbursement_returns_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION '{_RETURNS}' USING ERRCODE = 'restrict_violation'; END $$""",
    """CREATE TRIGGER disbursement_returns_append_only BEFORE UPDATE OR DELETE ON disbursement_returns
    FOR EACH ROW EXECUTE FUNCTION disbursement_returns_append_only()""",
    f"""CREATE FUNCTION disbursement_lines_settled() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'DELETE' OR OLD.status <> 'pending' THEN
        RAISE EXCEPTION '{_LINES}' USING ERRCODE = 'restrict_violation';
      END IF;
      RETURN NEW;
    END $$""",
    """CREATE TRIGGER disbursement_lines_settled BEFORE UPDATE OR DELETE ON disbursement_lines
    FOR EACH ROW EXECUTE FUNCTION disbursement_lines_settled()""",
]


def upgrade() -> None:
    op.add_column('disbursement_batches', sa.Column('file_id', sa.String(24), nullable=True))
    op.add_column('disbursement_lines', sa.Column('line_id', sa.String(24), nullable=True))
    bind = op.get_bind()
    batches = sa.table('disbursement_batches', sa.column('id'), sa.column('file_id'))
    lines = sa.table('disbursement_lines', sa.column('batch_id'), sa.column('line_no'), sa.column('line_id'),
                     sa.column('hold_id'), sa.column('status'))
    bind.execute(batches.update().values(file_id=batches.c.id))
    for batch_id, line_no in bind.execute(sa.select(lines.c.batch_id, lines.c.line_no)).all():
        bind.execute(lines.update().where(lines.c.batch_id == batch_id, lines.c.line_no == line_no)
                     .values(line_id=f"dln_{secrets.token_hex(8)}"))
    holds = sa.table('holds', sa.column('id'), sa.column('status'), sa.column('expires_at', UtcDateTime()))
    pending = sa.select(lines.c.hold_id).where(lines.c.status == 'pending')
    bind.execute(holds.update().where(holds.c.status == 'pending', holds.c.id.in_(pending))
                 .values(expires_at=UNTIL_SETTLED))
    op.create_index('uq_disbursement_batches_file_id', 'disbursement_batches', ['file_id'], unique=True)
    op.create_index('uq_disbursement_lines_line_id', 'disbursement_lines', ['line_id'], unique=True)
    op.create_table(
        'disbursement_returns',
        sa.Column('id', sa.String(64), nullable=False),
        sa.Column('batch_id', sa.String(24), nullable=False),
        sa.Column('file_id', sa.String(24), nullable=False),
        sa.Column('sha256', sa.String(64), nullable=False),
        sa.Column('content', sa.Text(), nullable=False),
        sa.Column('line_count', sa.Integer(), nullable=False),
        sa.Column('applied_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('applied_by', sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(['batch_id'], ['disbursement_batches.id'],
                                name='fk_disbursement_returns_batch_id_disbursement_batches'),
        sa.PrimaryKeyConstraint('id', name='pk_disbursement_returns'),
        sa.UniqueConstraint('sha256', name='uq_disbursement_returns_sha256'),
    )
    op.create_index('ix_disbursement_returns_batch_id', 'disbursement_returns', ['batch_id'], unique=False)
    for statement in SQLITE if bind.dialect.name == "sqlite" else POSTGRESQL:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    else:
        for table, function in (("disbursement_returns", "disbursement_returns_append_only"),
                                ("disbursement_lines", "disbursement_lines_settled")):
            op.execute(f"DROP TRIGGER IF EXISTS {function} ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS {function}()")
    op.drop_index('ix_disbursement_returns_batch_id', table_name='disbursement_returns')
    op.drop_table('disbursement_returns')
    op.drop_index('uq_disbursement_lines_line_id', table_name='disbursement_lines')
    op.drop_index('uq_disbursement_batches_file_id', table_name='disbursement_batches')
    op.drop_column('disbursement_lines', 'line_id')
    op.drop_column('disbursement_batches', 'file_id')
