"""The public list of debates: a state filter and SQL pagination (one statement per page)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from decidim_py.components import Component
from decidim_py.moderation import hidden_clause
from decidim_py.pagination import Page, window_page

from .models import Debate

STATES = ("open", "closed", "all")
DEFAULT_STATE = "open"


def debates_query(component: Component, state: str = DEFAULT_STATE):  # type: ignore[no-untyped-def]
    q = select(Debate).where(Debate.component_id == component.id, hidden_clause("Debate", Debate.id))
    if state == "open":
        q = q.where(Debate.closed_at.is_(None))
    elif state == "closed":
        q = q.where(Debate.closed_at.is_not(None))
    return q


def list_debates(component: Component, state: str = DEFAULT_STATE, *, page: int = 1, per_page: int = 20) -> Page:
    state = state if state in STATES else DEFAULT_STATE
    base = debates_query(component, state).order_by(Debate.created_at.desc(), Debate.id.desc())
    rows, page, total = window_page(base.options(joinedload(Debate.author)), page, per_page)
    return Page([r[0] for r in rows], page, per_page, total)
