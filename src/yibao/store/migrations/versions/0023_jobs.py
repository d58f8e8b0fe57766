"""jobs: background jobs and their progress; on PostgreSQL, the schema of procrastinate, the job runner there

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-01 18:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'jobs',
        sa.Column('id', sa.String(length=24), nullable=False),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('started_by', sa.String(length=64), nullable=False),
        sa.Column('actor', sa.JSON(), nullable=False),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('subject_id', sa.String(length=40), nullable=True),
        sa.Column('state', sa.String(length=10), nullable=False),
        sa.Column('done', sa.Integer(), nullable=False),
        sa.Column('total', sa.Integer(), nullable=False),
        sa.Column('result', sa.JSON(), nullable=True),
        sa.Column('error_code', sa.String(length=64), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("state IN ('queued', 'running', 'done', 'failed')", name=op.f('ck_jobs_state')),
        sa.CheckConstraint('done >= 0 AND total >= 0 AND attempts >= 0', name=op.f('ck_jobs_counts')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_jobs')),
    )
    op.create_index('ix_jobs_kind_subject_id', 'jobs', ['kind', 'subject_id'], unique=False)
    op.create_index('ix_jobs_started_by', 'jobs', ['started_by'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        from procrastinate.schema import SchemaManager

        op.get_bind().exec_driver_sql(SchemaManager.get_schema().replace('%', '%%'))


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("""
            DO $$ DECLARE item record; BEGIN
              FOR item IN SELECT tablename FROM pg_tables WHERE schemaname = current_schema()
                          AND tablename LIKE 'procrastinate\\_%' LOOP
                EXECUTE format('DROP TABLE %I CASCADE', item.tablename);
              END LOOP;
              FOR item IN SELECT p.oid::regprocedure AS signature FROM pg_proc p
                          JOIN pg_namespace n ON n.oid = p.pronamespace
                          WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate\\_%' LOOP
                EXECUTE format('DROP FUNCTION %s CASCADE', item.signature);
              END LOOP;
              FOR item IN SELECT typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
                          WHERE n.nspname = current_schema() AND typname LIKE 'procrastinate\\_%'
                          AND t.typtype IN ('e', 'c') LOOP
                EXECUTE format('DROP TYPE %I CASCADE', item.typname);
              END LOOP;
            END $$""")
    op.drop_index('ix_jobs_started_by', table_name='jobs')
    op.drop_index('ix_jobs_kind_subject_id', table_name='jobs')
    op.drop_table('jobs')
