"""Read queries for processes: visibility and time filters in SQL, paginated."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import selectinload

from decidim_py.accounts.models import SpaceRole
from decidim_py.accounts.roles import administered_host_ids
from decidim_py.db import db
from decidim_py.pagination import Page
from decidim_py.permissions import signed_in
from decidim_py.tenancy import Organization

from .models import Process, ProcessMember, TimeFilter


def today_in(org: Organization) -> date:
    return datetime.now(ZoneInfo(org.time_zone or "UTC")).date()


def visible_processes(org: Organization, actor: Any) -> Select[tuple[Process]]:
    """Published processes the actor may see: public ones, and private ones they belong to."""
    q = select(Process).where(Process.organization_id == org.id, Process.published_at.is_not(None))
    if not signed_in(actor):
        return q.where(Process.is_private.is_(False))
    if actor.is_admin:
        return q
    member = select(ProcessMember.process_id).where(ProcessMember.user_id == actor.id)
    role = select(SpaceRole.space_id).where(
        SpaceRole.user_id == actor.id, SpaceRole.space_type == "processes"
    )
    conditions = [Process.is_private.is_(False), Process.id.in_(member), Process.id.in_(role)]
    hosts = administered_host_ids(actor)
    if hosts:
        conditions.append(Process.host_id.in_(hosts))
    return q.where(or_(*conditions))


def time_condition(which: TimeFilter, today: date) -> Any:
    if which == TimeFilter.UPCOMING:
        return Process.start_date > today
    if which == TimeFilter.PAST:
        return Process.end_date < today
    if which == TimeFilter.ACTIVE:
        return and_(
            or_(Process.start_date.is_(None), Process.start_date <= today),
            or_(Process.end_date.is_(None), Process.end_date >= today),
        )
    return None


def paginate(q: Select[Any], page: int, per_page: int = 20, total: int | None = None) -> Page:
    if total is None:
        total = db.session.scalar(select(func.count()).select_from(q.order_by(None).subquery())) or 0
    page = max(1, min(page, max(1, -(-total // per_page))))
    items = list(db.session.scalars(q.limit(per_page).offset((page - 1) * per_page)))
    return Page(items, page, per_page, total)


def list_processes(
    org: Organization,
    actor: Any,
    *,
    which: TimeFilter = TimeFilter.ACTIVE,
    host_id: int | None = None,
    group_id: int | None = None,
    page: int = 1,
    per_page: int = 20,
) -> tuple[Page, dict[str, int]]:
    """One page of processes and the count for each time filter (for the filter tabs)."""
    today = today_in(org)
    base = visible_processes(org, actor)
    if host_id is not None:
        base = base.where(Process.host_id == host_id)
    if group_id is not None:
        base = base.where(Process.group_id == group_id)
    counts = _counts(base, today)
    cond = time_condition(which, today)
    q = base.where(cond) if cond is not None else base
    if which == TimeFilter.PAST:
        q = q.order_by(Process.end_date.desc(), Process.id.desc())
    else:
        q = q.order_by(Process.is_promoted.desc(), Process.start_date.asc(), Process.id.asc())
    # The cards show each process's active phase and host: load them in two queries, not 2 per card.
    q = q.options(selectinload(Process.steps), selectinload(Process.host))
    return paginate(q, page, per_page, total=counts[which.value]), counts


def _counts(base: Select[tuple[Process]], today: date) -> dict[str, int]:
    ids = base.with_only_columns(
        Process.id, Process.start_date, Process.end_date
    ).order_by(None).subquery()
    active = and_(
        or_(ids.c.start_date.is_(None), ids.c.start_date <= today),
        or_(ids.c.end_date.is_(None), ids.c.end_date >= today),
    )
    row = db.session.execute(
        select(
            func.count().filter(active),
            func.count().filter(ids.c.start_date > today),
            func.count().filter(ids.c.end_date < today),
            func.count(),
        ).select_from(ids)
    ).one()
    return {"active": row[0], "upcoming": row[1], "past": row[2], "all": row[3]}
