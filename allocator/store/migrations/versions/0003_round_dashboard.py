"""round dashboard and variants

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


def downgrade() -> None:
    with op.batch_alter_table('rounds', schema=None) as batch_op:
        batch_op.drop_column('based_on')
        batch_op.drop_column('dashboard')
