"""The public list of debates: a state filter and SQL pagination (one statement per page)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from decidim_py.components import Component
from decidim_py.db import db
from decidim_py.pagination import Page

from .models import Debate

STATES = ("open", "closed", "all")
DEFAULT_STATE = "open"


def debates_query(component: Component, state: str = DEFAULT_STATE):  # type: ignore[no-untyped-def]
    q = select(Debate).where(Debate.component_id == component.id)
    if state == "open":
        q = q.where(Debate.closed_at.is_(None))
    elif state == "closed":
        q = q.where(Debate.closed_at.is_not(None))
    return q


def list_debates(component: Component, state: str = DEFAULT_STATE, *, page: int = 1, per_page: int = 20) -> Page:
    state = state if state in STATES else DEFAULT_STATE
    base = debates_query(component, state).order_by(Debate.created_at.desc(), Debate.id.desc())
    q = base.add_columns(func.count().over().label("total")).options(joinedload(Debate.author))
    page = max(1, page)
    rows = db.session.execute(q.limit(per_page).offset((page - 1) * per_page)).all()
    if not rows and page > 1:
        total = db.session.scalar(select(func.count()).select_from(base.order_by(None).subquery())) or 0
        page = max(1, -(-total // per_page))
        rows = db.session.execute(q.limit(per_page).offset((page - 1) * per_page)).all()
    total = rows[0].total if rows else 0
    return Page([r[0] for r in rows], page, per_page, total)
