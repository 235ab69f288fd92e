"""Participatory processes: the participatory space with phases (steps), groups and members."""

from __future__ import annotations

from flask import Flask, url_for

from decidim_py.i18n import _
from decidim_py.spaces import SpaceType, register_space_type

from .models import Process, ProcessGroup, ProcessMember, ProcessStep

__all__ = ["Process", "ProcessGroup", "ProcessMember", "ProcessStep", "init_app"]


def _find(organization_id: int, slug: str) -> Process | None:
    from sqlalchemy import select

    from decidim_py.db import db

    return db.session.scalar(
        select(Process).where(Process.organization_id == organization_id, Process.slug == slug)
    )


def _home_section(org: object, user: object) -> dict[str, object]:
    from sqlalchemy.orm import selectinload

    from decidim_py.db import db

    from .models import TimeFilter
    from .queries import list_processes, today_in, visible_processes

    promoted = db.session.scalars(
        visible_processes(org, user).where(Process.is_promoted.is_(True)).order_by(Process.id).limit(3)
        .options(selectinload(Process.steps), selectinload(Process.host))
    ).all()
    page, counts = list_processes(org, user, which=TimeFilter.ACTIVE, per_page=6)
    return {"template": "processes/_home.html", "promoted": promoted, "active": page.items,
            "counts": counts, "today": today_in(org)}


SPACE = register_space_type(
    SpaceType(
        name="processes",
        model=Process,
        label=_("Participatory process"),
        url_prefix="/processes/<slug>",
        find_by_slug=_find,
        public_url=lambda p: url_for("processes.show", slug=p.slug),
        admin_url=lambda p: url_for("processes_admin.edit", slug=p.slug),
        active_step=lambda p: p.active_step,
        steps=lambda p: list(p.steps),
        home_section=lambda org, user: _home_section(org, user),
    )
)


def init_app(app: Flask) -> None:
    from . import permissions  # noqa: F401  (registers the space rules)
    from .admin import bp as admin_bp
    from .views import bp

    app.register_blueprint(bp)
    app.register_blueprint(admin_bp)
