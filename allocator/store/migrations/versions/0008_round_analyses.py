"""round analyses: a round's budget curve and bottlenecks, worked out by the workers

Revision ID: 695c0483f90e
Revises: d8d77d9b51f1
Create Date: 2026-12-06 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '695c0483f90e'
down_revision = 'd8d77d9b51f1'
branch_labels = None
depends_on = None

# A partial unique index: one live (queued or running) analysis per round and kind.
LIVE = "status IN ('queued', 'running')"


def upgrade() -> None:
    op.create_table('round_analyses',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('progress', sa.String(length=200), nullable=False),
    sa.Column('requested_by', sa.String(length=100), nullable=False),
    sa.Column('requested_at', sa.DateTime(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=True),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('worker_id', sa.String(length=100), nullable=False),
    sa.Column('heartbeat_at', sa.DateTime(), nullable=True),
    sa.Column('attempt', sa.String(length=36), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('max_attempts', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('round_analyses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_round_analyses_round_id'), ['round_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_round_analyses_status'), ['status'], unique=False)
        batch_op.create_index('ux_round_analyses_live', ['round_id', 'kind'], unique=True,
                              sqlite_where=sa.text(LIVE), postgresql_where=sa.text(LIVE))


def downgrade() -> None:
    with op.batch_alter_table('round_analyses', schema=None) as batch_op:
        batch_op.drop_index('ux_round_analyses_live')
        batch_op.drop_index(batch_op.f('ix_round_analyses_status'))
        batch_op.drop_index(batch_op.f('ix_round_analyses_round_id'))

    op.drop_table('round_analyses')
