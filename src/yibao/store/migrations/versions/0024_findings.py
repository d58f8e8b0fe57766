"""findings: misuse findings (R26), kept once by their fingerprint, with the reviewer's disposition

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-01 18:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'findings',
        sa.Column('id', sa.String(length=24), nullable=False),
        sa.Column('fingerprint', sa.String(length=64), nullable=False),
        sa.Column('pattern', sa.String(length=40), nullable=False),
        sa.Column('rule_version', sa.String(length=40), nullable=False),
        sa.Column('score', sa.Float(), nullable=False),
        sa.Column('subject_kind', sa.String(length=20), nullable=False),
        sa.Column('subject_id', sa.String(length=64), nullable=False),
        sa.Column('period_from', sa.Date(), nullable=False),
        sa.Column('period_to', sa.Date(), nullable=False),
        sa.Column('evidence', sa.JSON(), nullable=False),
        sa.Column('facts', sa.JSON(), nullable=False),
        sa.Column('found_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('found_by', sa.String(length=64), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('decided_by', sa.String(length=64), nullable=True),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('note', sa.String(length=500), nullable=True),
        sa.CheckConstraint("status IN ('open', 'confirmed', 'dismissed', 'escalated')",
                           name=op.f('ck_findings_status')),
        sa.CheckConstraint('score >= 0 AND score <= 1', name=op.f('ck_findings_score')),
        sa.CheckConstraint("subject_kind IN ('person', 'institution', 'bank_account')",
                           name=op.f('ck_findings_subject_kind')),
        sa.CheckConstraint("(status = 'open' AND decided_at IS NULL AND decided_by IS NULL) OR "
                           "(status <> 'open' AND decided_at IS NOT NULL AND decided_by IS NOT NULL)",
                           name=op.f('ck_findings_decided')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_findings')),
        sa.UniqueConstraint('fingerprint', name=op.f('uq_findings_fingerprint')),
    )
    op.create_index('ix_findings_status_pattern', 'findings', ['status', 'pattern'], unique=False)
    op.create_index('ix_findings_subject', 'findings', ['subject_kind', 'subject_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_findings_subject', table_name='findings')
    op.drop_index('ix_findings_status_pattern', table_name='findings')
    op.drop_table('findings')
