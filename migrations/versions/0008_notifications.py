"""notifications: follows and in-app notifications

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 21:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import decidim_py.db

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('notifications_follows',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('resource_type', sa.String(length=80), nullable=False),
    sa.Column('resource_id', sa.Integer(), nullable=False),
    sa.Column('created_at', decidim_py.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_notifications_follows_organization_id_organizations')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notifications_follows_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications_follows')),
    sa.UniqueConstraint('user_id', 'resource_type', 'resource_id', name=op.f('uq_notifications_follows_user_id_resource_type_resource_id'))
    )
    with op.batch_alter_table('notifications_follows', schema=None) as batch_op:
        batch_op.create_index('ix_notifications_follows_resource', ['resource_type', 'resource_id'], unique=False)

    op.create_table('notifications_notifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('recipient_id', sa.Integer(), nullable=False),
    sa.Column('event', sa.String(length=80), nullable=False),
    sa.Column('resource_type', sa.String(length=80), nullable=False),
    sa.Column('resource_id', sa.Integer(), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('created_at', decidim_py.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('read_at', decidim_py.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_notifications_notifications_organization_id_organizations')),
    sa.ForeignKeyConstraint(['recipient_id'], ['users.id'], name=op.f('fk_notifications_notifications_recipient_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications_notifications'))
    )
    with op.batch_alter_table('notifications_notifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notifications_notifications_created_at'), ['created_at'], unique=False)
        batch_op.create_index('ix_notifications_notifications_recipient', ['recipient_id', 'created_at'], unique=False)
        batch_op.create_index('ix_notifications_notifications_unread', ['recipient_id', 'read_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('notifications_notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_notifications_unread')
        batch_op.drop_index('ix_notifications_notifications_recipient')
        batch_op.drop_index(batch_op.f('ix_notifications_notifications_created_at'))

    op.drop_table('notifications_notifications')
    with op.batch_alter_table('notifications_follows', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_follows_resource')

    op.drop_table('notifications_follows')
