"""round dashboard, variants and web sessions

Revision ID: 0c1e5d2a9b3f
Revises: 7a34a3acdeb4
Create Date: 2026-11-27 18:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0c1e5d2a9b3f'
down_revision = '7a34a3acdeb4'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('rounds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dashboard', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('based_on', sa.Integer(), nullable=True))
    op.create_table(
        'web_sessions',
        sa.Column('id_hash', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.Column('ended', sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id_hash'),
    )
    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_web_sessions_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_web_sessions_user_id'))
    op.drop_table('web_sessions')
    with op.batch_alter_table('rounds', schema=None) as batch_op:
        batch_op.drop_column('based_on')
        batch_op.drop_column('dashboard')
