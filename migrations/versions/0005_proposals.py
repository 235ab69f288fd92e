"""proposals: proposals, supports (one per person and proposal), per-(component, person) lock rows

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 20:42:44.126752
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import decidim_py.db

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('proposals_locks',
    sa.Column('component_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.ForeignKeyConstraint(['component_id'], ['components.id'], name=op.f('fk_proposals_locks_component_id_components')),
    sa.PrimaryKeyConstraint('component_id', 'key', name=op.f('pk_proposals_locks'))
    )
    op.create_table('proposals_proposals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('component_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=150), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('reference', sa.String(length=80), nullable=True),
    sa.Column('internal_state', sa.Enum('not_answered', 'evaluating', 'accepted', 'rejected', name='proposalstate', native_enum=False, length=20), nullable=False),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.Column('cost', sa.Integer(), nullable=True),
    sa.Column('answered_at', decidim_py.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('state_published_at', decidim_py.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('supports_count', sa.Integer(), nullable=False),
    sa.Column('published_at', decidim_py.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('edited_at', decidim_py.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('withdrawn_at', decidim_py.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('hidden_at', decidim_py.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', decidim_py.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', decidim_py.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_proposals_proposals_author_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['component_id'], ['components.id'], name=op.f('fk_proposals_proposals_component_id_components')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_proposals_proposals_organization_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_proposals_proposals'))
    )
    with op.batch_alter_table('proposals_proposals', schema=None) as batch_op:
        batch_op.create_index('ix_proposals_proposals_author', ['author_id', 'component_id'], unique=False)
        batch_op.create_index('ix_proposals_proposals_component_published', ['component_id', 'published_at'], unique=False)

    op.create_table('proposals_supports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('proposal_id', sa.Integer(), nullable=False),
    sa.Column('component_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('person_key', sa.String(length=80), nullable=False),
    sa.Column('is_temporary', sa.Boolean(), nullable=False),
    sa.Column('created_at', decidim_py.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['component_id'], ['components.id'], name=op.f('fk_proposals_supports_component_id_components')),
    sa.ForeignKeyConstraint(['proposal_id'], ['proposals_proposals.id'], name=op.f('fk_proposals_supports_proposal_id_proposals_proposals')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_proposals_supports_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_proposals_supports')),
    sa.UniqueConstraint('proposal_id', 'person_key', name=op.f('uq_proposals_supports_proposal_id_person_key')),
    sa.UniqueConstraint('proposal_id', 'user_id', name=op.f('uq_proposals_supports_proposal_id_user_id'))
    )
    with op.batch_alter_table('proposals_supports', schema=None) as batch_op:
        batch_op.create_index('ix_proposals_supports_person', ['component_id', 'person_key'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('proposals_supports', schema=None) as batch_op:
        batch_op.drop_index('ix_proposals_supports_person')

    op.drop_table('proposals_supports')
    with op.batch_alter_table('proposals_proposals', schema=None) as batch_op:
        batch_op.drop_index('ix_proposals_proposals_component_published')
        batch_op.drop_index('ix_proposals_proposals_author')

    op.drop_table('proposals_proposals')
    op.drop_table('proposals_locks')
