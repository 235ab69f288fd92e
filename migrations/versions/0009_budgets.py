"""budgets: participatory budgets (budgets, projects, ballots, outcomes)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 21:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import decidim_py.db

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('budgets_budgets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('component_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.JSON(), nullable=False),
    sa.Column('description', sa.JSON(), nullable=False),
    sa.Column('total_amount', sa.Integer(), nullable=False),
    sa.Column('zone', sa.String(length=60), nullable=True),
    sa.Column('weight', sa.Integer(), nullable=False),
    sa.Column('outcome_rule', sa.String(length=40), nullable=False),
    sa.Column('outcome_params', sa.JSON(), nullable=False),
    sa.Column('tie_breaking', sa.JSON(), nullable=False),
    sa.Column('ballots_count', sa.Integer(), nullable=False),
    sa.Column('closed_at', decidim_py.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', decidim_py.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', decidim_py.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('total_amount > 0', name=op.f('ck_budgets_budgets_total_amount_positive')),
    sa.CheckConstraint('weight >= 0', name=op.f('ck_budgets_budgets_weight_not_negative')),
    sa.ForeignKeyConstraint(['component_id'], ['components.id'], name=op.f('fk_budgets_budgets_component_id_components')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_budgets_budgets_organization_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_budgets_budgets'))
    )
    with op.batch_alter_table('budgets_budgets', schema=None) as batch_op:
        batch_op.create_index('ix_budgets_budgets_component', ['component_id', 'weight'], unique=False)

    op.create_table('budgets_locks',
    sa.Column('component_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.ForeignKeyConstraint(['component_id'], ['components.id'], name=op.f('fk_budgets_locks_component_id_components')),
    sa.PrimaryKeyConstraint('component_id', 'key', name=op.f('pk_budgets_locks'))
    )
    op.create_table('budgets_ballots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('budget_id', sa.Integer(), nullable=False),
    sa.Column('component_id', sa.Integer(), nullable=False),
    sa.Column('person_key', sa.String(length=80), nullable=False),
    sa.Column('checked_out_at', decidim_py.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('public_id', sa.String(length=40), nullable=True),
    sa.Column('receipt_sha256', sa.String(length=64), nullable=True),
    sa.Column('is_imported', sa.Boolean(), nullable=False),
    sa.Column('created_at', decidim_py.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['budget_id'], ['budgets_budgets.id'], name=op.f('fk_budgets_ballots_budget_id_budgets_budgets')),
    sa.ForeignKeyConstraint(['component_id'], ['components.id'], name=op.f('fk_budgets_ballots_component_id_components')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_budgets_ballots')),
    sa.UniqueConstraint('budget_id', 'person_key', name=op.f('uq_budgets_ballots_budget_id_person_key')),
    sa.UniqueConstraint('public_id', name=op.f('uq_budgets_ballots_public_id'))
    )
    with op.batch_alter_table('budgets_ballots', schema=None) as batch_op:
        batch_op.create_index('ix_budgets_ballots_person', ['component_id', 'person_key'], unique=False)

    op.create_table('budgets_projects',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('budget_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.JSON(), nullable=False),
    sa.Column('description', sa.JSON(), nullable=False),
    sa.Column('cost', sa.Integer(), nullable=False),
    sa.Column('address', sa.String(length=200), nullable=True),
    sa.Column('weight', sa.Integer(), nullable=False),
    sa.Column('votes_count', sa.Integer(), nullable=False),
    sa.Column('is_selected', sa.Boolean(), nullable=True),
    sa.Column('created_at', decidim_py.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', decidim_py.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('cost > 0', name=op.f('ck_budgets_projects_cost_positive')),
    sa.ForeignKeyConstraint(['budget_id'], ['budgets_budgets.id'], name=op.f('fk_budgets_projects_budget_id_budgets_budgets')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_budgets_projects_organization_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_budgets_projects'))
    )
    with op.batch_alter_table('budgets_projects', schema=None) as batch_op:
        batch_op.create_index('ix_budgets_projects_budget', ['budget_id', 'weight'], unique=False)

    op.create_table('budgets_results',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('budget_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('queued', 'running', 'done', 'failed', name='resultstatus', native_enum=False, length=20), nullable=False),
    sa.Column('progress_done', sa.Integer(), nullable=False),
    sa.Column('progress_total', sa.Integer(), nullable=False),
    sa.Column('progress_message', sa.String(length=200), nullable=False),
    sa.Column('ballots_file', sa.Text(), nullable=False),
    sa.Column('ballots_sha256', sa.String(length=64), nullable=False),
    sa.Column('outcome', sa.JSON(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('finished_at', decidim_py.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', decidim_py.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', decidim_py.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['budget_id'], ['budgets_budgets.id'], name=op.f('fk_budgets_results_budget_id_budgets_budgets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_budgets_results')),
    sa.UniqueConstraint('budget_id', name=op.f('uq_budgets_results_budget_id'))
    )
    op.create_table('budgets_ballot_items',
    sa.Column('ballot_id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['ballot_id'], ['budgets_ballots.id'], name=op.f('fk_budgets_ballot_items_ballot_id_budgets_ballots'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['budgets_projects.id'], name=op.f('fk_budgets_ballot_items_project_id_budgets_projects')),
    sa.PrimaryKeyConstraint('ballot_id', 'project_id', name=op.f('pk_budgets_ballot_items'))
    )
    with op.batch_alter_table('budgets_ballot_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_budgets_ballot_items_project_id'), ['project_id'], unique=False)

    op.create_table('budgets_project_proposals',
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('proposal_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['budgets_projects.id'], name=op.f('fk_budgets_project_proposals_project_id_budgets_projects'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['proposal_id'], ['proposals_proposals.id'], name=op.f('fk_budgets_project_proposals_proposal_id_proposals_proposals'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('project_id', 'proposal_id', name=op.f('pk_budgets_project_proposals'))
    )


def downgrade() -> None:
    op.drop_table('budgets_project_proposals')
    with op.batch_alter_table('budgets_ballot_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_budgets_ballot_items_project_id'))

    op.drop_table('budgets_ballot_items')
    op.drop_table('budgets_results')
    with op.batch_alter_table('budgets_projects', schema=None) as batch_op:
        batch_op.drop_index('ix_budgets_projects_budget')

    op.drop_table('budgets_projects')
    with op.batch_alter_table('budgets_ballots', schema=None) as batch_op:
        batch_op.drop_index('ix_budgets_ballots_person')

    op.drop_table('budgets_ballots')
    op.drop_table('budgets_locks')
    with op.batch_alter_table('budgets_budgets', schema=None) as batch_op:
        batch_op.drop_index('ix_budgets_budgets_component')

    op.drop_table('budgets_budgets')
