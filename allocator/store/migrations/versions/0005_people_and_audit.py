"""people sign in with a password; tokens expire; the audit log is a hash chain

Revision ID: 5c2d7e9a1f30
Revises: 4b8e2f61d0a7
Create Date: 2026-11-29 09:00:00
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op

from allocator.store.audit import GENESIS, entry_hash

revision = '5c2d7e9a1f30'
down_revision = '4b8e2f61d0a7'
branch_labels = None
depends_on = None

TOKEN_DAYS = 90

_APPEND_ONLY = (
    """CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'the audit log is append-only: % refused', TG_OP;
    END
    $$""",
    """CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
        FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()""",
    """CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
        FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()""",
)


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('password_hash', sa.String(length=200), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('disabled', sa.Boolean(), nullable=False,
                                      server_default='0'))
    # The models give these defaults in Python. SQLite keeps the server default: removing
    # it rebuilds the table, and dropping `users` with foreign keys on would cascade to
    # its tokens and sessions.
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column('users', 'password_hash', server_default=None)
        op.alter_column('users', 'disabled', server_default=None)

    # Tokens made before they expired get the full term from today, so no client stops at once.
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', sa.DateTime(), nullable=True))
    until = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(days=TOKEN_DAYS)
    op.execute(sa.text("UPDATE api_tokens SET expires_at = :until").bindparams(until=until))
    # On SQLite this rebuilds api_tokens, which no other table refers to.
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.alter_column('expires_at', existing_type=sa.DateTime(), nullable=False)

    # Browser sessions so far began with a token on the sign-in form, which is gone.
    op.execute(sa.text("UPDATE web_sessions SET ended = :yes").bindparams(yes=True))

    op.create_table(
        'password_links',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.Column('used_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token_hash'),
    )
    with op.batch_alter_table('password_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_password_links_user_id'), ['user_id'],
                              unique=False)
    op.create_table(
        'sign_in_failures',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('address', sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('sign_in_failures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sign_in_failures_address'), ['address'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_sign_in_failures_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_sign_in_failures_name'), ['name'], unique=False)

    _chain_the_audit_log()
    if op.get_bind().dialect.name == "postgresql":
        for statement in _APPEND_ONLY:
            op.execute(statement)


def _chain_the_audit_log() -> None:
    """Add the hash columns and link the entries written so far, in id order."""
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('prev_hash', sa.String(length=64), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('hash', sa.String(length=64), nullable=False,
                                      server_default=''))
    if op.get_bind().dialect.name != "sqlite":  # as for users above
        op.alter_column('audit_log', 'prev_hash', server_default=None)
        op.alter_column('audit_log', 'hash', server_default=None)
    log = sa.table('audit_log', sa.column('id', sa.Integer()), sa.column('at', sa.DateTime()),
                   sa.column('actor', sa.String()), sa.column('action', sa.String()),
                   sa.column('target', sa.String()), sa.column('detail', sa.JSON()),
                   sa.column('prev_hash', sa.String()), sa.column('hash', sa.String()))
    bind = op.get_bind()
    prev = GENESIS
    rows = bind.execute(sa.select(log.c.id, log.c.at, log.c.actor, log.c.action, log.c.target,
                                  log.c.detail).order_by(log.c.id)).all()
    for row in rows:
        at = row.at.replace(tzinfo=None)
        digest = entry_hash(row.id, at, row.actor, row.action, row.target, row.detail, prev)
        bind.execute(sa.update(log).where(log.c.id == row.id)
                     .values(at=at, prev_hash=prev, hash=digest))
        prev = digest


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_log_no_truncate ON audit_log")
        op.execute("DROP TRIGGER audit_log_no_change ON audit_log")
        op.execute("DROP FUNCTION audit_log_append_only()")
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_column('hash')
        batch_op.drop_column('prev_hash')
    with op.batch_alter_table('sign_in_failures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sign_in_failures_name'))
        batch_op.drop_index(batch_op.f('ix_sign_in_failures_at'))
        batch_op.drop_index(batch_op.f('ix_sign_in_failures_address'))
    op.drop_table('sign_in_failures')
    with op.batch_alter_table('password_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_password_links_user_id'))
    op.drop_table('password_links')
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_column('expires_at')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('disabled')
        batch_op.drop_column('password_hash')
