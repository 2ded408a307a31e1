"""solve jobs and the round's solve attempt

Revision ID: 4b8e2f61d0a7
Revises: 0c1e5d2a9b3f
Create Date: 2026-11-28 23:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '4b8e2f61d0a7'
down_revision = '0c1e5d2a9b3f'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('rounds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('solve_attempt', sa.String(length=36), nullable=True))
    op.create_table(
        'solve_jobs',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('round_id', sa.Integer(), nullable=False),
        sa.Column('attempt', sa.String(length=36), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('max_attempts', sa.Integer(), nullable=False),
        sa.Column('worker_id', sa.String(length=100), nullable=False),
        sa.Column('progress', sa.String(length=200), nullable=False),
        sa.Column('error', sa.Text(), nullable=False),
        sa.Column('requested_by', sa.String(length=100), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('started_at', sa.DateTime(), nullable=True),
        sa.Column('heartbeat_at', sa.DateTime(), nullable=True),
        sa.Column('finished_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('solve_jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_solve_jobs_round_id'), ['round_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_solve_jobs_status'), ['status'], unique=False)
    # Rounds left 'solving' by the service before jobs existed have no job to finish them.
    op.execute("UPDATE rounds SET status = 'failed', "
               "error = 'interrupted: the service stopped while solving' "
               "WHERE status = 'solving'")


def downgrade() -> None:
    with op.batch_alter_table('solve_jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_solve_jobs_status'))
        batch_op.drop_index(batch_op.f('ix_solve_jobs_round_id'))
    op.drop_table('solve_jobs')
    with op.batch_alter_table('rounds', schema=None) as batch_op:
        batch_op.drop_column('solve_attempt')
