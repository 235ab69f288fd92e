"""Space rules for participatory processes (the "space" link of the permission chain)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _
from sqlalchemy import select

from decidim_py.accounts.models import SpaceRoleName
from decidim_py.accounts.roles import is_host_admin, space_roles_of
from decidim_py.db import db
from decidim_py.permissions import Verdict, allow, deny, rule, signed_in

from .models import Process, ProcessMember

MANAGE_ACTIONS = {
    "processes.process.manage",
    "processes.process.publish",
    "processes.step.manage",
    "spaces.role.manage",
    "components.component.manage",
}


def can_manage(actor: Any, process: Process) -> bool:
    if not signed_in(actor) or actor.organization_id != process.organization_id:
        return False
    if actor.is_admin or is_host_admin(actor, process.host_id):
        return True
    return SpaceRoleName.ADMIN in space_roles_of(actor, process)


def is_member(actor: Any, process: Process) -> bool:
    if not signed_in(actor):
        return False
    if space_roles_of(actor, process):
        return True
    return (
        db.session.scalar(
            select(ProcessMember.id).where(
                ProcessMember.process_id == process.id, ProcessMember.user_id == actor.id
            )
        )
        is not None
    )


def can_read(actor: Any, process: Process) -> Verdict:
    if can_manage(actor, process):
        return allow()
    if not process.is_published:
        return deny(_("This process is not published."), "not_published")
    if process.is_private and not is_member(actor, process):
        if not signed_in(actor):
            return deny(_("This process is private. Please sign in."), "sign_in")
        return deny(_("This process is private and you are not one of its members."), "private")
    return allow()


def _process_of(subject: Any) -> Process | None:
    if isinstance(subject, Process):
        return subject
    if type(subject).__name__ == "Component" and subject.space_type == "processes":
        return subject.space
    if type(subject).__name__ == "ProcessStep":
        return subject.process
    return None


@rule("space")
def process_rule(actor: Any, action: str, subject: Any) -> Verdict | None:
    process = _process_of(subject)
    if process is None:
        return None
    if action == "processes.process.read":
        return can_read(actor, process)
    if action == "components.component.read":
        verdict = can_read(actor, process)
        if not verdict:
            return verdict
        if not subject.is_published and not can_manage(actor, process):
            return deny(_("This component is not published."), "not_published")
        return allow()
    if action in MANAGE_ACTIONS:
        if can_manage(actor, process):
            return allow()
        return deny(_("Only the administrators of this process can do this."), "not_admin")
    if action.startswith(("components.", "processes.")):
        # Component actions (create, support...) need the space to be readable first.
        verdict = can_read(actor, process)
        return verdict if not verdict else None
    return None
