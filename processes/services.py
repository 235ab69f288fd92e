"""Process services: every state change checks permission, validates, writes and records."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _
from sqlalchemy import func, select

from decidim_py.accounts.models import Host, User
from decidim_py.db import db, utcnow
from decidim_py.errors import InvalidState
from decidim_py.html import sanitize_translated
from decidim_py.permissions import require
from decidim_py.tenancy import Organization
from decidim_py.transparency import Visibility, record

from .models import Process, ProcessGroup, ProcessMember, ProcessStep

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,78}[a-z0-9]$")


@dataclass
class ProcessData:
    slug: str
    title: dict[str, str]
    subtitle: dict[str, str] = field(default_factory=dict)
    short_description: dict[str, str] = field(default_factory=dict)
    description: dict[str, str] = field(default_factory=dict)
    start_date: date | None = None
    end_date: date | None = None
    is_promoted: bool = False
    is_private: bool = False
    host_id: int | None = None
    group_id: int | None = None


def _validate(org: Organization, data: ProcessData, process: Process | None = None) -> None:
    if not SLUG_RE.match(data.slug or ""):
        raise InvalidState(
            _("The address name must be 3 to 80 lower-case letters, digits or hyphens.")
        )
    if not any((data.title or {}).values()):
        raise InvalidState(_("A process needs a title."))
    if data.start_date and data.end_date and data.end_date < data.start_date:
        raise InvalidState(_("The end date must be on or after the start date."))
    clash = db.session.scalar(
        select(Process.id).where(Process.organization_id == org.id, Process.slug == data.slug)
    )
    if clash is not None and (process is None or clash != process.id):
        raise InvalidState(_("Another process already uses this address name."))
    if data.group_id is not None:
        group = db.session.get(ProcessGroup, data.group_id)
        if group is None or group.organization_id != org.id:
            raise InvalidState(_("Unknown process group."))


def _host(org: Organization, host_id: int | None) -> Host | None:
    if host_id is None:
        return None
    host = db.session.get(Host, host_id)
    if host is None or host.organization_id != org.id:
        raise InvalidState(_("Unknown host."))
    return host


def create_process(actor: User | None, org: Organization, data: ProcessData) -> Process:
    host = _host(org, data.host_id)
    require(actor, "processes.process.create", host if host is not None else org)
    _validate(org, data)
    process = Process(organization_id=org.id, **_fields(data))
    db.session.add(process)
    db.session.flush()
    record(actor, "processes.process.create", process, space=process, visibility=Visibility.ADMIN,
           changes={"slug": process.slug, "title": process.title})
    return process


def _fields(data: ProcessData) -> dict[str, Any]:
    return {
        "slug": data.slug,
        "title": data.title,
        "subtitle": data.subtitle,
        "short_description": data.short_description,
        "description": sanitize_translated(data.description),
        "start_date": data.start_date,
        "end_date": data.end_date,
        "is_promoted": data.is_promoted,
        "is_private": data.is_private,
        "host_id": data.host_id,
        "group_id": data.group_id,
    }


def update_process(actor: User | None, process: Process, data: ProcessData) -> dict[str, Any]:
    require(actor, "processes.process.manage", process)
    org = db.session.get(Organization, process.organization_id)
    assert org is not None
    if data.host_id != process.host_id:
        host = _host(org, data.host_id)
        # Moving a process to another host needs the right to create processes there.
        require(actor, "processes.process.create", host if host is not None else org)
    _validate(org, data, process)
    changes: dict[str, Any] = {}
    for key, value in _fields(data).items():
        if getattr(process, key) != value:
            changes[key] = {"from": getattr(process, key), "to": value}
            setattr(process, key, value)
    if changes:
        db.session.flush()
        record(actor, "processes.process.update", process, space=process, changes=changes,
               visibility=Visibility.PUBLIC if process.is_published else Visibility.ADMIN)
    return changes


def publish_process(actor: User | None, process: Process) -> None:
    require(actor, "processes.process.publish", process)
    if process.is_published:
        raise InvalidState(_("This process is already published."))
    if not process.steps:
        raise InvalidState(_("Add at least one phase before publishing the process."))
    process.published_at = utcnow()
    db.session.flush()
    record(actor, "processes.process.publish", process, space=process)


def unpublish_process(actor: User | None, process: Process, reason: str | None = None) -> None:
    require(actor, "processes.process.publish", process)
    if not process.is_published:
        raise InvalidState(_("This process is not published."))
    process.published_at = None
    db.session.flush()
    record(actor, "processes.process.unpublish", process, space=process, reason=reason)


# --- phases ---------------------------------------------------------------------------------


@dataclass
class StepData:
    title: dict[str, str]
    description: dict[str, str] = field(default_factory=dict)
    start_date: date | None = None
    end_date: date | None = None


def _validate_step(data: StepData) -> None:
    if not any((data.title or {}).values()):
        raise InvalidState(_("A phase needs a title."))
    if data.start_date and data.end_date and data.end_date < data.start_date:
        raise InvalidState(_("The end date must be on or after the start date."))


def add_step(actor: User | None, process: Process, data: StepData) -> ProcessStep:
    """Append a phase. The first phase of a process becomes its active phase."""
    require(actor, "processes.step.manage", process)
    _validate_step(data)
    last = db.session.scalar(
        select(func.max(ProcessStep.position)).where(ProcessStep.process_id == process.id)
    )
    step = ProcessStep(
        process=process,
        position=(last + 1) if last is not None else 0,
        title=data.title,
        description=sanitize_translated(data.description),
        start_date=data.start_date,
        end_date=data.end_date,
        is_active=not process.steps,
    )
    db.session.add(step)
    db.session.flush()
    record(actor, "processes.step.create", step, space=process, changes={"title": step.title},
           visibility=Visibility.PUBLIC if process.is_published else Visibility.ADMIN)
    return step


def update_step(actor: User | None, step: ProcessStep, data: StepData) -> dict[str, Any]:
    require(actor, "processes.step.manage", step.process)
    _validate_step(data)
    values = {
        "title": data.title,
        "description": sanitize_translated(data.description),
        "start_date": data.start_date,
        "end_date": data.end_date,
    }
    changes = {k: {"from": getattr(step, k), "to": v} for k, v in values.items() if getattr(step, k) != v}
    for key, change in changes.items():
        setattr(step, key, change["to"])
    if changes:
        db.session.flush()
        record(actor, "processes.step.update", step, space=step.process, changes=changes,
               visibility=Visibility.PUBLIC if step.process.is_published else Visibility.ADMIN)
    return changes


def delete_step(actor: User | None, step: ProcessStep) -> None:
    process = step.process
    require(actor, "processes.step.manage", process)
    if step.is_active:
        raise InvalidState(_("The active phase cannot be deleted. Activate another phase first."))
    record(actor, "processes.step.delete", step, space=process, changes={"title": step.title},
           visibility=Visibility.PUBLIC if process.is_published else Visibility.ADMIN)
    process.steps.remove(step)
    db.session.flush()
    _renumber(process)


def _renumber(process: Process) -> None:
    for index, s in enumerate(sorted(process.steps, key=lambda s: s.position)):
        s.position = index
    db.session.flush()


def reorder_steps(actor: User | None, process: Process, step_ids: list[int]) -> None:
    require(actor, "processes.step.manage", process)
    current = [s.id for s in process.steps]
    if sorted(step_ids) != sorted(current):
        raise InvalidState(_("The new order must list every phase of the process once."))
    if step_ids == current:
        return
    by_id = {s.id: s for s in process.steps}
    for position, step_id in enumerate(step_ids):
        by_id[step_id].position = position
    db.session.flush()
    db.session.refresh(process, ["steps"])
    record(actor, "processes.step.reorder", process, space=process,
           changes={"from": current, "to": step_ids},
           visibility=Visibility.PUBLIC if process.is_published else Visibility.ADMIN)


def move_step(actor: User | None, step: ProcessStep, offset: int) -> None:
    ids = [s.id for s in step.process.steps]
    index = ids.index(step.id)
    target = index + offset
    if target < 0 or target >= len(ids):
        raise InvalidState(_("This phase cannot move further."))
    ids[index], ids[target] = ids[target], ids[index]
    reorder_steps(actor, step.process, ids)


def activate_step(actor: User | None, step: ProcessStep, reason: str | None = None) -> None:
    """Make this phase the active one: it switches the components' phase settings."""
    process = step.process
    require(actor, "processes.step.manage", process)
    if step.is_active:
        raise InvalidState(_("This phase is already active."))
    previous = process.active_step
    if previous is not None:
        previous.is_active = False
        db.session.flush()  # the partial unique index allows one active phase at a time
    step.is_active = True
    db.session.flush()
    record(actor, "processes.step.activate", step, space=process, reason=reason,
           changes={"from": previous.id if previous else None, "to": step.id,
                    "title": step.title})


# --- members of private processes -------------------------------------------------------------


def add_member(actor: User | None, process: Process, user: User) -> ProcessMember:
    require(actor, "processes.process.manage", process)
    if user.organization_id != process.organization_id:
        raise InvalidState(_("This person belongs to another organisation."))
    if any(m.user_id == user.id for m in process.members):
        raise InvalidState(_("This person is already a member."))
    member = ProcessMember(process=process, user=user)
    db.session.add(member)
    db.session.flush()
    record(actor, "processes.member.add", member, space=process, visibility=Visibility.PRIVATE,
           changes={"user": user.nickname})
    return member


def remove_member(actor: User | None, member: ProcessMember) -> None:
    process = member.process
    require(actor, "processes.process.manage", process)
    record(actor, "processes.member.remove", member, space=process, visibility=Visibility.PRIVATE,
           changes={"user": member.user.nickname})
    process.members.remove(member)
    db.session.flush()


# --- groups ---------------------------------------------------------------------------------


def save_group(
    actor: User | None,
    org: Organization,
    title: dict[str, str],
    description: dict[str, str],
    group: ProcessGroup | None = None,
) -> ProcessGroup:
    require(actor, "processes.group.manage", org)
    if not any(title.values()):
        raise InvalidState(_("A group needs a title."))
    description = sanitize_translated(description)
    if group is None:
        group = ProcessGroup(organization_id=org.id, title=title, description=description)
        db.session.add(group)
        db.session.flush()
        record(actor, "processes.group.create", group, changes={"title": title})
    else:
        changes = {}
        if group.title != title:
            changes["title"] = {"from": group.title, "to": title}
        if group.description != description:
            changes["description"] = {"from": group.description, "to": description}
        group.title, group.description = title, description
        db.session.flush()
        if changes:
            record(actor, "processes.group.update", group, changes=changes)
    return group
