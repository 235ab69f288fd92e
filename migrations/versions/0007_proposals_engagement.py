"""proposals_engagement: endorsements and amendments of proposals

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 21:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import decidim_py.db

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('proposals_proposals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('endorsements_count', sa.Integer(), nullable=False, server_default='0'))

    op.create_table('proposals_endorsements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('proposal_id', sa.Integer(), nullable=False),
    sa.Column('component_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('person_key', sa.String(length=80), nullable=True),
    sa.Column('host_id', sa.Integer(), nullable=True),
    sa.Column('show_name', sa.Boolean(), nullable=False),
    sa.Column('created_at', decidim_py.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('(person_key IS NULL) <> (host_id IS NULL)', name=op.f('ck_proposals_endorsements_person_or_host')),
    sa.ForeignKeyConstraint(['component_id'], ['components.id'], name=op.f('fk_proposals_endorsements_component_id_components')),
    sa.ForeignKeyConstraint(['host_id'], ['hosts.id'], name=op.f('fk_proposals_endorsements_host_id_hosts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['proposal_id'], ['proposals_proposals.id'], name=op.f('fk_proposals_endorsements_proposal_id_proposals_proposals')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_proposals_endorsements_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_proposals_endorsements')),
    sa.UniqueConstraint('proposal_id', 'host_id', name=op.f('uq_proposals_endorsements_proposal_id_host_id')),
    sa.UniqueConstraint('proposal_id', 'person_key', name=op.f('uq_proposals_endorsements_proposal_id_person_key'))
    )
    with op.batch_alter_table('proposals_endorsements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_proposals_endorsements_host_id'), ['host_id'], unique=False)

    op.create_table('proposals_amendments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('component_id', sa.Integer(), nullable=False),
    sa.Column('proposal_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=150), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('base_title', sa.String(length=150), nullable=False),
    sa.Column('base_body', sa.Text(), nullable=False),
    sa.Column('state', sa.Enum('draft', 'evaluating', 'accepted', 'rejected', 'withdrawn', name='amendmentstate', native_enum=False, length=20), nullable=False),
    sa.Column('published_at', decidim_py.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('answered_at', decidim_py.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('withdrawn_at', decidim_py.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('promoted_to_id', sa.Integer(), nullable=True),
    sa.Column('created_at', decidim_py.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', decidim_py.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_proposals_amendments_author_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['component_id'], ['components.id'], name=op.f('fk_proposals_amendments_component_id_components')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_proposals_amendments_organization_id_organizations')),
    sa.ForeignKeyConstraint(['promoted_to_id'], ['proposals_proposals.id'], name=op.f('fk_proposals_amendments_promoted_to_id_proposals_proposals')),
    sa.ForeignKeyConstraint(['proposal_id'], ['proposals_proposals.id'], name=op.f('fk_proposals_amendments_proposal_id_proposals_proposals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_proposals_amendments')),
    sa.UniqueConstraint('promoted_to_id', name=op.f('uq_proposals_amendments_promoted_to_id'))
    )
    with op.batch_alter_table('proposals_amendments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_proposals_amendments_author_id'), ['author_id'], unique=False)
        batch_op.create_index('ix_proposals_amendments_proposal_state', ['proposal_id', 'state'], unique=False)

    op.create_table('proposals_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('proposal_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=150), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('replaced_at', decidim_py.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('amendment_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['amendment_id'], ['proposals_amendments.id'], name=op.f('fk_proposals_versions_amendment_id_proposals_amendments')),
    sa.ForeignKeyConstraint(['proposal_id'], ['proposals_proposals.id'], name=op.f('fk_proposals_versions_proposal_id_proposals_proposals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_proposals_versions')),
    sa.UniqueConstraint('amendment_id', name=op.f('uq_proposals_versions_amendment_id'))
    )
    with op.batch_alter_table('proposals_versions', schema=None) as batch_op:
        batch_op.create_index('ix_proposals_versions_proposal', ['proposal_id', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('proposals_versions', schema=None) as batch_op:
        batch_op.drop_index('ix_proposals_versions_proposal')

    op.drop_table('proposals_versions')
    with op.batch_alter_table('proposals_amendments', schema=None) as batch_op:
        batch_op.drop_index('ix_proposals_amendments_proposal_state')
        batch_op.drop_index(batch_op.f('ix_proposals_amendments_author_id'))

    op.drop_table('proposals_amendments')
    with op.batch_alter_table('proposals_endorsements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_proposals_endorsements_host_id'))

    op.drop_table('proposals_endorsements')
    with op.batch_alter_table('proposals_proposals', schema=None) as batch_op:
        batch_op.drop_column('endorsements_count')
