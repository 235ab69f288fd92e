"""budgets: participatory budgets (budgets, projects, ballots, outcomes)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 21:45:00
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

import decidim_py.db  # noqa: F401

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
