"""the campaign ledger: settings, pickup deadlines, releases, re-plans, faulty devices

Revision ID: 6a1f3c8e2b94
Revises: 5c2d7e9a1f30
Create Date: 2026-11-29 01:30:00
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op


revision = '6a1f3c8e2b94'
down_revision = '5c2d7e9a1f30'
branch_labels = None
depends_on = None


def upgrade() -> None:
    campaign = op.create_table(
        'campaign',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('budget_vnd', sa.BigInteger(), nullable=True),
        sa.Column('goal_date', sa.Date(), nullable=False),
        sa.Column('pickup_days', sa.Integer(), nullable=False),
        sa.Column('no_show_limit', sa.Integer(), nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.bulk_insert(campaign, [{"id": 1, "budget_vnd": None, "goal_date": dt.date(2026, 9, 15),
                               "pickup_days": 14, "no_show_limit": None, "version": 0}])
    with op.batch_alter_table('lots', schema=None) as batch_op:
        batch_op.add_column(sa.Column('faulty', sa.Integer(), nullable=False,
                                      server_default='0'))
    with op.batch_alter_table('allocations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('released_at', sa.DateTime(), nullable=True))
    with op.batch_alter_table('rounds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pickup_deadline', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('replaces', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('superseded_by', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('ledger', sa.JSON(), nullable=True))
        batch_op.create_index(batch_op.f('ix_rounds_replaces'), ['replaces'], unique=False)
    # Rounds approved before pickup deadlines existed get one: approval + 14 days.
    bind = op.get_bind()
    approved = bind.execute(sa.text("SELECT id, approved_at FROM rounds "
                                    "WHERE status = 'approved' AND approved_at IS NOT NULL"))
    for round_id, approved_at in approved.fetchall():
        if isinstance(approved_at, str):  # SQLite hands DATETIME back as text
            approved_at = dt.datetime.fromisoformat(approved_at)
        bind.execute(sa.text("UPDATE rounds SET pickup_deadline = :at WHERE id = :id"),
                     {"at": approved_at + dt.timedelta(days=14), "id": round_id})


def downgrade() -> None:
    with op.batch_alter_table('rounds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rounds_replaces'))
        batch_op.drop_column('ledger')
        batch_op.drop_column('superseded_by')
        batch_op.drop_column('replaces')
        batch_op.drop_column('pickup_deadline')
    with op.batch_alter_table('allocations', schema=None) as batch_op:
        batch_op.drop_column('released_at')
    with op.batch_alter_table('lots', schema=None) as batch_op:
        batch_op.drop_column('faulty')
    op.drop_table('campaign')
