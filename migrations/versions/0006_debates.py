"""debates: debates (open or time-boxed, closed with conclusions) and their information updates

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 21:11:09.536143
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import decidim_py.db

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('debates_debates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('component_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('official', sa.Boolean(), nullable=False),
    sa.Column('title', sa.String(length=150), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('start_time', decidim_py.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('end_time', decidim_py.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', decidim_py.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_by_id', sa.Integer(), nullable=True),
    sa.Column('conclusions', sa.Text(), nullable=True),
    sa.Column('created_at', decidim_py.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', decidim_py.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_debates_debates_author_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['closed_by_id'], ['users.id'], name=op.f('fk_debates_debates_closed_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['component_id'], ['components.id'], name=op.f('fk_debates_debates_component_id_components')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_debates_debates_organization_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_debates_debates'))
    )
    with op.batch_alter_table('debates_debates', schema=None) as batch_op:
        batch_op.create_index('ix_debates_debates_component_closed', ['component_id', 'closed_at'], unique=False)

    op.create_table('debates_updates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('debate_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', decidim_py.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_debates_updates_author_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['debate_id'], ['debates_debates.id'], name=op.f('fk_debates_updates_debate_id_debates_debates')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_debates_updates'))
    )
    with op.batch_alter_table('debates_updates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_debates_updates_debate_id'), ['debate_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('debates_updates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_debates_updates_debate_id'))

    op.drop_table('debates_updates')
    with op.batch_alter_table('debates_debates', schema=None) as batch_op:
        batch_op.drop_index('ix_debates_debates_component_closed')

    op.drop_table('debates_debates')
