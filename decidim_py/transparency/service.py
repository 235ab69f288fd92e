from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select

from ..db import db
from .models import DecisionRecord, Visibility


def actor_role(actor: Any, space: Any = None) -> str:
    """The role under which an actor decided: the role is public, the person is not."""
    if actor is None or getattr(actor, "is_system", False):
        return "system"
    if getattr(actor, "is_admin", False):
        return "organization_admin"
    if space is not None:
        from ..accounts.roles import space_roles_of

        roles = space_roles_of(actor, space)
        if roles:
            return f"space_{sorted(roles)[0]}"
        host_id = getattr(space, "host_id", None)
        if host_id is not None:
            from ..accounts.roles import is_host_admin

            if is_host_admin(actor, host_id):
                return "host_admin"
    return "participant"


def record(
    actor: Any,
    action: str,
    resource: Any,
    *,
    organization_id: int | None = None,
    visibility: Visibility | str = Visibility.PUBLIC,
    changes: dict[str, Any] | None = None,
    space: Any = None,
    component: Any = None,
    reason: str | None = None,
    supersedes: DecisionRecord | None = None,
) -> DecisionRecord:
    """Write one decision in the current transaction (never commits)."""
    if component is not None and space is None:
        space = component.space
    from ..spaces import space_type_of

    org_id = organization_id or getattr(resource, "organization_id", None)
    if org_id is None and space is not None:
        org_id = space.organization_id
    if org_id is None and actor is not None:
        org_id = actor.organization_id
    if org_id is None:
        raise ValueError("record() needs an organisation")
    entry = DecisionRecord(
        organization_id=org_id,
        actor_id=getattr(actor, "id", None),
        actor_role=actor_role(actor, space),
        action=action,
        resource_type=type(resource).__name__,
        resource_id=getattr(resource, "id", None),
        space_type=space_type_of(space).name if space is not None else None,
        space_id=getattr(space, "id", None),
        component_id=getattr(component, "id", None),
        visibility=Visibility(visibility),
        changes=_jsonable(changes or {}),
        reason=reason,
        supersedes_id=supersedes.id if supersedes is not None else None,
    )
    db.session.add(entry)
    db.session.flush()
    _to_outbox(entry, supersedes)
    return entry


def _to_outbox(entry: DecisionRecord, supersedes: DecisionRecord | None) -> None:
    """The decision's public entry, queued for the log in the same transaction."""
    from flask import current_app
    from sqlalchemy import select as _select

    from ..db import after_commit
    from .entries import build_entry
    from .models import LogEntry, LogOutbox

    index = None
    if supersedes is not None:
        index = db.session.scalar(_select(LogEntry.index).where(LogEntry.record_id == supersedes.id))
    data = build_entry(entry, db.session, index)
    db.session.add(LogOutbox(organization_id=entry.organization_id, record_id=entry.id, entry=data))
    db.session.flush()
    if current_app.config.get("LOG_INTEGRATE_INLINE", True):
        org_id = entry.organization_id
        after_commit(f"log-integrate-{org_id}", lambda: integrate_now(org_id))


def integrate_now(org_id: int) -> None:
    from ..tenancy import Organization
    from .log import integrate

    org = db.session.get(Organization, org_id)
    if org is not None:
        integrate(org)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def records_for_admin(
    organization_id: int,
    *,
    space_type: str | None = None,
    space_ids: list[int] | None = None,
    action_prefix: str | None = None,
) -> Select[tuple[DecisionRecord]]:
    """The admin log query (all visibilities), newest first; scoped to some spaces if given."""
    q = select(DecisionRecord).where(DecisionRecord.organization_id == organization_id)
    if space_type is not None and space_ids is not None:
        q = q.where(DecisionRecord.space_type == space_type, DecisionRecord.space_id.in_(space_ids))
    if action_prefix:
        q = q.where(DecisionRecord.action.startswith(action_prefix))
    return q.order_by(DecisionRecord.id.desc())
