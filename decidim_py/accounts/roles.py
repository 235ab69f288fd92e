"""Roles: organisation admin, host admin/member, per-space roles. Granting is a decision."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _
from sqlalchemy import select

from ..db import db
from ..errors import InvalidState
from ..permissions import require
from ..spaces import space_type_of
from .models import Host, HostMembership, HostRole, SpaceRole, SpaceRoleName, User

ROLE_LABELS = {
    SpaceRoleName.ADMIN: _("Administrator"),
    SpaceRoleName.MODERATOR: _("Moderator"),
    SpaceRoleName.EVALUATOR: _("Evaluator"),
    SpaceRoleName.COLLABORATOR: _("Collaborator"),
}
HOST_ROLE_LABELS = {HostRole.ADMIN: _("Host administrator"), HostRole.MEMBER: _("Member")}


def _space_roles(user: Any) -> dict[tuple[str, int], set[str]]:
    """{(space type, space id): roles} of a user: one query per request for every space (a person
    has a handful of roles), which also answers "has any role" for the admin link of the header."""
    cache = _role_cache(user)
    if "spaces" not in cache:
        by_space: dict[tuple[str, int], set[str]] = {}
        rows = db.session.execute(
            select(SpaceRole.space_type, SpaceRole.space_id, SpaceRole.role).where(SpaceRole.user_id == user.id)
        )
        for space_type, space_id, role in rows:
            by_space.setdefault((str(space_type), space_id), set()).add(str(role))
        cache["spaces"] = by_space
    return cache["spaces"]


def space_roles_of(user: Any, space: Any) -> set[str]:
    if user is None or getattr(user, "id", None) is None:
        return set()
    return set(_space_roles(user).get((space_type_of(space).name, space.id), set()))


def has_any_space_role(user: Any) -> bool:
    return user is not None and getattr(user, "id", None) is not None and bool(_space_roles(user))


def _role_cache(user: Any) -> dict[Any, Any]:
    # Per-request cache on the user object (loaded once per request by Flask-Login).
    cache = user.__dict__.get("_decidim_role_cache")
    if cache is None:
        cache = {}
        user.__dict__["_decidim_role_cache"] = cache
    return cache


def clear_role_cache(user: Any) -> None:
    user.__dict__.pop("_decidim_role_cache", None)


def host_roles_of(user: Any) -> dict[int, str]:
    """{host_id: role} for a user."""
    if user is None or getattr(user, "id", None) is None:
        return {}
    cache = _role_cache(user)
    if "hosts" not in cache:
        rows = db.session.execute(
            select(HostMembership.host_id, HostMembership.role).where(
                HostMembership.user_id == user.id
            )
        )
        cache["hosts"] = {hid: str(role) for hid, role in rows}
    return cache["hosts"]


def is_host_admin(user: Any, host_id: int | None) -> bool:
    return host_id is not None and host_roles_of(user).get(host_id) == HostRole.ADMIN


def administered_host_ids(user: Any) -> list[int]:
    return sorted(h for h, r in host_roles_of(user).items() if r == HostRole.ADMIN)


def grant_space_role(actor: User | None, space: Any, user: User, role: SpaceRoleName) -> SpaceRole:
    from ..transparency import record

    require(actor, "spaces.role.manage", space)
    if user.organization_id != space.organization_id:
        raise InvalidState(_("This person belongs to another organisation."))
    st = space_type_of(space).name
    existing = db.session.scalar(
        select(SpaceRole).where(
            SpaceRole.space_type == st,
            SpaceRole.space_id == space.id,
            SpaceRole.user_id == user.id,
            SpaceRole.role == role,
        )
    )
    if existing is not None:
        raise InvalidState(_("This person already has this role."))
    row = SpaceRole(
        organization_id=space.organization_id, space_type=st, space_id=space.id, user=user,
        role=role,
    )
    db.session.add(row)
    db.session.flush()
    clear_role_cache(user)
    record(actor, "spaces.role.grant", row, space=space, changes={"role": str(role)})
    return row


def revoke_space_role(actor: User | None, role_row: SpaceRole) -> None:
    from ..spaces import get_space
    from ..transparency import record

    space = get_space(role_row.space_type, role_row.space_id)
    require(actor, "spaces.role.manage", space)
    record(actor, "spaces.role.revoke", role_row, space=space, changes={"role": str(role_row.role)})
    db.session.delete(role_row)
    db.session.flush()
    clear_role_cache(role_row.user)


def add_host_member(actor: User | None, host: Host, user: User, role: HostRole) -> HostMembership:
    from ..transparency import record

    require(actor, "hosts.member.manage", host)
    if user.organization_id != host.organization_id:
        raise InvalidState(_("This person belongs to another organisation."))
    membership = db.session.scalar(
        select(HostMembership).where(HostMembership.host_id == host.id, HostMembership.user_id == user.id)
    )
    if membership is not None and membership.role == role:
        raise InvalidState(_("This person already has this role."))
    if membership is None:
        membership = HostMembership(host=host, user=user, role=role)
        db.session.add(membership)
    else:
        membership.role = role
    db.session.flush()
    clear_role_cache(user)
    record(actor, "hosts.member.grant", membership, organization_id=host.organization_id,
           changes={"host": host.slug, "role": str(role)})
    return membership


def remove_host_member(actor: User | None, membership: HostMembership) -> None:
    from ..transparency import record

    require(actor, "hosts.member.manage", membership.host)
    record(actor, "hosts.member.revoke", membership, organization_id=membership.host.organization_id,
           changes={"host": membership.host.slug, "role": str(membership.role)})
    db.session.delete(membership)
    db.session.flush()
    clear_role_cache(membership.user)


def _set_organization_role(actor: User | None, user: User, attribute: str, kind: str, value: bool) -> None:
    """Grant or revoke an organisation-wide role held as a flag (actor None = system CLI)."""
    from ..transparency import record

    if actor is not None:
        require(actor, "organization.admin.manage", user.organization)
    if getattr(user, attribute) == value:
        raise InvalidState(_("Nothing to change."))
    setattr(user, attribute, value)
    db.session.flush()
    record(actor, f"organization.{kind}.{'grant' if value else 'revoke'}", user, organization_id=user.organization_id)


def set_organization_admin(actor: User | None, user: User, is_admin: bool) -> None:
    """Grant or revoke the organisation admin role."""
    _set_organization_role(actor, user, "is_admin", "admin", is_admin)


def set_user_manager(actor: User | None, user: User, value: bool) -> None:
    """Grant or revoke the "user manager" role (assisted participation)."""
    _set_organization_role(actor, user, "is_user_manager", "user_manager", value)
