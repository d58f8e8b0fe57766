"""unit_imports: a unit's import of employees from a file, its progress and the rows it refused

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-01 17:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'unit_imports',
        sa.Column('id', sa.String(length=24), nullable=False),
        sa.Column('employer_id', sa.String(length=24), nullable=False),
        sa.Column('started_by', sa.String(length=64), nullable=False),
        sa.Column('file_name', sa.String(length=120), nullable=False),
        sa.Column('total_rows', sa.Integer(), nullable=False),
        sa.Column('done_rows', sa.Integer(), nullable=False),
        sa.Column('enrolled', sa.Integer(), nullable=False),
        sa.Column('unchanged', sa.Integer(), nullable=False),
        sa.Column('rejected', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('running', 'done', 'failed')", name=op.f('ck_unit_imports_status')),
        sa.CheckConstraint('done_rows = enrolled + unchanged + rejected AND done_rows <= total_rows',
                           name=op.f('ck_unit_imports_counts')),
        sa.ForeignKeyConstraint(['employer_id'], ['employers.id'], name=op.f('fk_unit_imports_employer_id_employers')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_unit_imports')),
    )
    op.create_index('ix_unit_imports_employer_id', 'unit_imports', ['employer_id'], unique=False)
    op.create_table(
        'unit_import_rejections',
        sa.Column('import_id', sa.String(length=24), nullable=False),
        sa.Column('line', sa.Integer(), nullable=False),
        sa.Column('column_name', sa.String(length=20), nullable=True),
        sa.Column('code', sa.String(length=64), nullable=False),
        sa.Column('message_zh', sa.String(length=500), nullable=False),
        sa.Column('message_en', sa.String(length=500), nullable=False),
        sa.Column('cells', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['import_id'], ['unit_imports.id'],
                                name=op.f('fk_unit_import_rejections_import_id_unit_imports')),
        sa.PrimaryKeyConstraint('import_id', 'line', name=op.f('pk_unit_import_rejections')),
    )


def downgrade() -> None:
    op.drop_table('unit_import_rejections')
    op.drop_index('ix_unit_imports_employer_id', table_name='unit_imports')
    op.drop_table('unit_imports')
