"""Public pages: the processes list (filters), a process page (phase timeline, components), groups."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, request
from sqlalchemy import select

from decidim_py.accounts.models import Host
from decidim_py.components import components_of
from decidim_py.db import db
from decidim_py.permissions import can, require
from decidim_py.tenancy import current_organization
from decidim_py.web import actor

from .models import Process, ProcessGroup, TimeFilter
from .queries import list_processes, today_in

bp = Blueprint("processes", __name__, url_prefix="/processes")


def get_process_or_404(slug: str) -> Process:
    org = current_organization()
    process = db.session.scalar(
        select(Process).where(Process.organization_id == org.id, Process.slug == slug)
    )
    if process is None:
        abort(404)
    return process


def _int_arg(name: str) -> int | None:
    try:
        value = int(request.args.get(name, ""))
    except ValueError:
        return None
    return value if value > 0 else None


@bp.get("/")
def index() -> Any:
    org = current_organization()
    try:
        which = TimeFilter(request.args.get("date", TimeFilter.ACTIVE))
    except ValueError:
        which = TimeFilter.ACTIVE
    host_id, group_id = _int_arg("host"), _int_arg("group")
    page, counts = list_processes(
        org, actor(), which=which, host_id=host_id, group_id=group_id, page=_int_arg("page") or 1
    )
    hosts = db.session.scalars(
        select(Host).where(Host.organization_id == org.id).order_by(Host.slug)
    ).all()
    groups = db.session.scalars(
        select(ProcessGroup).where(ProcessGroup.organization_id == org.id).order_by(ProcessGroup.id)
    ).all()
    return render_template(
        "processes/index.html", page=page, counts=counts, which=which, host_id=host_id,
        group_id=group_id, hosts=hosts, groups=groups, filters=TimeFilter, today=today_in(org),
    )


@bp.get("/<slug>")
def show(slug: str) -> Any:
    process = get_process_or_404(slug)
    require(actor(), "processes.process.read", process)
    components = [
        c for c in components_of(process) if can(actor(), "components.component.read", c)
    ]
    return render_template(
        "processes/show.html", process=process, components=components, decisions=_decision_links(process),
        today=today_in(current_organization()),
        can_manage=bool(can(actor(), "processes.process.manage", process)),
    )


def _decision_links(process: Process) -> dict[str, int]:
    """Entry numbers in the public record of the decisions this page shows (publication, phase)."""
    from decidim_py.transparency.models import DecisionRecord, LogEntry

    wanted = {"processes.process.publish": None, "processes.step.activate": None}
    rows = db.session.execute(
        select(DecisionRecord.action, LogEntry.index)
        .join(LogEntry, LogEntry.record_id == DecisionRecord.id)
        .where(DecisionRecord.space_type == "processes", DecisionRecord.space_id == process.id,
               DecisionRecord.action.in_(list(wanted)))
        .order_by(LogEntry.index)
    ).all()
    return {action: index for action, index in rows}


@bp.get("/groups/<int:group_id>")
def group(group_id: int) -> Any:
    org = current_organization()
    grp = db.session.get(ProcessGroup, group_id)
    if grp is None or grp.organization_id != org.id:
        abort(404)
    page, counts = list_processes(
        org, actor(), which=TimeFilter.ALL, group_id=grp.id, page=_int_arg("page") or 1
    )
    return render_template("processes/group.html", group=grp, page=page, counts=counts,
                           today=today_in(org))
