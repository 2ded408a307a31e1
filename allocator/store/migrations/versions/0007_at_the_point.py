"""at the distribution point: point officers, pickup codes and windows, handovers,
notices, follow-up calls and cases

Revision ID: d8d77d9b51f1
Revises: 6a1f3c8e2b94
Create Date: 2026-11-29 04:19:01.781540
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = 'd8d77d9b51f1'
down_revision = '6a1f3c8e2b94'
branch_labels = None
depends_on = None

# Partial unique indexes: a live IMEI once in the campaign; one live handover per allocation.
LIVE_IMEI = "undone_at IS NULL AND imei IS NOT NULL"
HANDED = "undone_at IS NULL AND outcome = 'handed'"


def upgrade() -> None:

    op.create_table('cases',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('household_id', sa.String(length=64), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=True),
    sa.Column('commune_code', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('opened_by', sa.String(length=100), nullable=False),
    sa.Column('opened_at', sa.DateTime(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('answered_by', sa.String(length=100), nullable=False),
    sa.Column('answered_at', sa.DateTime(), nullable=True),
    sa.Column('correction', sa.Text(), nullable=False),
    sa.Column('closed_by', sa.String(length=100), nullable=False),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cases_commune_code'), ['commune_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_cases_household_id'), ['household_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_cases_status'), ['status'], unique=False)

    op.create_table('pickup_windows',
    sa.Column('point_id', sa.String(length=64), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('opens', sa.Time(), nullable=False),
    sa.Column('closes', sa.Time(), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('point_id', 'day', 'opens')
    )
    op.create_table('followups',
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.String(length=64), nullable=False),
    sa.Column('point_id', sa.String(length=64), nullable=False),
    sa.Column('lot_id', sa.String(length=64), nullable=False),
    sa.Column('sponsor_id', sa.String(length=64), nullable=False),
    sa.Column('drawn_at', sa.DateTime(), nullable=False),
    sa.Column('seed', sa.BigInteger(), nullable=False),
    sa.Column('answer', sa.String(length=16), nullable=True),
    sa.Column('reason', sa.String(length=20), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('answered_by', sa.String(length=100), nullable=False),
    sa.Column('answered_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('round_id', 'household_id')
    )
    with op.batch_alter_table('followups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_followups_point_id'), ['point_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_followups_sponsor_id'), ['sponsor_id'], unique=False)

    op.create_table('handovers',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.String(length=64), nullable=False),
    sa.Column('point_id', sa.String(length=64), nullable=False),
    sa.Column('officer', sa.String(length=100), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('identity', sa.String(length=16), nullable=False),
    sa.Column('identity_note', sa.Text(), nullable=False),
    sa.Column('imei', sa.String(length=15), nullable=True),
    sa.Column('iccid', sa.String(length=20), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('via', sa.String(length=16), nullable=False),
    sa.Column('idempotency_key', sa.String(length=64), nullable=True),
    sa.Column('undone_at', sa.DateTime(), nullable=True),
    sa.Column('undone_by', sa.String(length=100), nullable=False),
    sa.Column('undo_reason', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('idempotency_key')
    )
    with op.batch_alter_table('handovers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_handovers_household_id'), ['household_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_handovers_point_id'), ['point_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_handovers_round_id'), ['round_id'], unique=False)
        batch_op.create_index('ux_handovers_handed', ['round_id', 'household_id'], unique=True,
                              sqlite_where=sa.text(HANDED), postgresql_where=sa.text(HANDED))
        batch_op.create_index('ux_handovers_imei', ['imei'], unique=True,
                              sqlite_where=sa.text(LIVE_IMEI),
                              postgresql_where=sa.text(LIVE_IMEI))

    op.create_table('outbox',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.String(length=64), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('text_plain', sa.Text(), nullable=False),
    sa.Column('segments', sa.Integer(), nullable=False),
    sa.Column('segments_plain', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('round_id', 'household_id')
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_round_id'), ['round_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_status'), ['status'], unique=False)

    op.create_table('user_points',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('point_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'point_id')
    )
    with op.batch_alter_table('user_points', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_points_point_id'), ['point_id'], unique=False)

    with op.batch_alter_table('allocations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pickup_code', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('window_day', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('window_start', sa.Time(), nullable=True))
        batch_op.add_column(sa.Column('window_end', sa.Time(), nullable=True))
        batch_op.create_index(batch_op.f('ix_allocations_pickup_code'), ['pickup_code'],
                              unique=True)
    give_codes_to_approved_rounds(op.get_bind())


def give_codes_to_approved_rounds(bind: sa.Connection) -> None:
    """Rounds approved before codes existed: each allocation gets its code, and a window
    from tomorrow (Vietnam) to the pickup deadline, as approval now gives them. Their
    households were told no window yet, so none is placed in the past; a round past its
    deadline gets codes only. The default windows: no point lists its own yet."""
    from allocator.store.campaign import VIETNAM, deadline_day
    from allocator.store.pickup import give_on

    tomorrow = dt.datetime.now(VIETNAM).date() + dt.timedelta(days=1)
    picking_up = bind.execute(sa.text(
        "SELECT id, pickup_deadline FROM rounds WHERE status IN ('approved', 'pickup_over') "
        "ORDER BY id")).fetchall()
    for round_id, deadline in picking_up:
        if isinstance(deadline, str):  # SQLite hands DATETIME back as text
            deadline = dt.datetime.fromisoformat(deadline)
        last = deadline_day(deadline) if deadline is not None else tomorrow - dt.timedelta(days=1)
        give_on(bind, round_id, tomorrow, last)


def downgrade() -> None:
    with op.batch_alter_table('allocations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_allocations_pickup_code'))
        batch_op.drop_column('window_end')
        batch_op.drop_column('window_start')
        batch_op.drop_column('window_day')
        batch_op.drop_column('pickup_code')

    with op.batch_alter_table('user_points', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_points_point_id'))

    op.drop_table('user_points')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_status'))
        batch_op.drop_index(batch_op.f('ix_outbox_round_id'))

    op.drop_table('outbox')
    with op.batch_alter_table('handovers', schema=None) as batch_op:
        batch_op.drop_index('ux_handovers_imei')
        batch_op.drop_index('ux_handovers_handed')
        batch_op.drop_index(batch_op.f('ix_handovers_round_id'))
        batch_op.drop_index(batch_op.f('ix_handovers_point_id'))
        batch_op.drop_index(batch_op.f('ix_handovers_household_id'))

    op.drop_table('handovers')
    with op.batch_alter_table('followups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_followups_sponsor_id'))
        batch_op.drop_index(batch_op.f('ix_followups_point_id'))

    op.drop_table('followups')
    op.drop_table('pickup_windows')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cases_status'))
        batch_op.drop_index(batch_op.f('ix_cases_household_id'))
        batch_op.drop_index(batch_op.f('ix_cases_commune_code'))

    op.drop_table('cases')
