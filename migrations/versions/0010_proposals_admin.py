"""proposals_admin: evaluators per proposal, private notes, origin, comment counters, trigram search

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 21:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import decidim_py.db

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


TRGM_INDEX = "ix_proposals_proposals_title_trgm"


def upgrade() -> None:
    with op.batch_alter_table('proposals_proposals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_official', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('author_host_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('comments_count', sa.Integer(), nullable=False, server_default='0'))
        batch_op.create_index(batch_op.f('ix_proposals_proposals_author_host_id'), ['author_host_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_proposals_proposals_author_host_id_hosts'), 'hosts',
                                    ['author_host_id'], ['id'], ondelete='SET NULL')
    # the model has no server defaults: the application always gives these values
    with op.batch_alter_table('proposals_proposals', schema=None) as batch_op:
        batch_op.alter_column('is_official', server_default=None)
        batch_op.alter_column('comments_count', server_default=None)

    op.create_table('proposals_evaluator_assignments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('proposal_id', sa.Integer(), nullable=False),
    sa.Column('component_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', decidim_py.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['component_id'], ['components.id'],
                            name=op.f('fk_proposals_evaluator_assignments_component_id_components')),
    sa.ForeignKeyConstraint(['proposal_id'], ['proposals_proposals.id'],
                            name=op.f('fk_proposals_evaluator_assignments_proposal_id_proposals_proposals'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_proposals_evaluator_assignments_user_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_proposals_evaluator_assignments')),
    sa.UniqueConstraint('proposal_id', 'user_id', name=op.f('uq_proposals_evaluator_assignments_proposal_id_user_id'))
    )
    with op.batch_alter_table('proposals_evaluator_assignments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_proposals_evaluator_assignments_user_id'), ['user_id'], unique=False)

    op.create_table('proposals_notes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('proposal_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', decidim_py.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_proposals_notes_author_id_users'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['proposal_id'], ['proposals_proposals.id'],
                            name=op.f('fk_proposals_notes_proposal_id_proposals_proposals'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_proposals_notes'))
    )
    with op.batch_alter_table('proposals_notes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_proposals_notes_proposal_id'), ['proposal_id'], unique=False)

    # similar proposals (proposals/similar.py): trigram similarity of titles on PostgreSQL; SQLite has
    # no trigram index, the model's index of the same name is a plain one there
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.create_index(TRGM_INDEX, 'proposals_proposals', ['title'], unique=False, postgresql_using='gin',
                        postgresql_ops={'title': 'gin_trgm_ops'})
    else:
        op.create_index(TRGM_INDEX, 'proposals_proposals', ['title'], unique=False)


def downgrade() -> None:
    op.drop_index(TRGM_INDEX, table_name='proposals_proposals')  # pg_trgm stays: others may use it
    with op.batch_alter_table('proposals_notes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_proposals_notes_proposal_id'))

    op.drop_table('proposals_notes')
    with op.batch_alter_table('proposals_evaluator_assignments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_proposals_evaluator_assignments_user_id'))

    op.drop_table('proposals_evaluator_assignments')
    with op.batch_alter_table('proposals_proposals', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_proposals_proposals_author_host_id_hosts'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_proposals_proposals_author_host_id'))
        batch_op.drop_column('comments_count')
        batch_op.drop_column('author_host_id')
        batch_op.drop_column('is_official')
