"""Moderation rules (the "component" link): reporting, hiding and unhiding, blocking accounts."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _

from ..accounts.roles import is_host_admin, space_roles_of
from ..permissions import Verdict, allow, can, deny, rule, signed_in
from .registry import reportable_for

MODERATOR_ROLES = {"moderator", "admin"}
SPACE_ACTIONS = {"moderation.item.manage", "moderation.item.hide", "moderation.item.unhide"}
ACCOUNT_ACTIONS = {"moderation.user.block", "moderation.user.unblock"}


def is_moderator(actor: Any, space: Any) -> bool:
    """Organisation admins, the space's admins and moderators (and the admins of its host)."""
    if not signed_in(actor) or getattr(actor, "blocked_at", None) is not None:
        return False
    if actor.organization_id != space.organization_id:
        return False
    if actor.is_admin or space_roles_of(actor, space) & MODERATOR_ROLES:
        return True
    return is_host_admin(actor, getattr(space, "host_id", None))


@rule("component")
def moderation_rule(actor: Any, action: str, subject: Any) -> Verdict | None:
    if not action.startswith("moderation."):
        return None
    if not signed_in(actor):
        return deny(_("Please sign in to do this."), "sign_in")
    if action == "moderation.report.create":
        reportable = reportable_for(type(subject).__name__)
        if reportable is None:
            return deny(_("This cannot be reported."), "not_reportable")
        readable = can(actor, "components.component.read", reportable.component_of(subject))
        return readable if not readable else allow()
    if action in SPACE_ACTIONS:
        if subject is not None and is_moderator(actor, subject):
            return allow()
        return deny(_("Only the moderators of this space can do this."), "not_moderator")
    if action in ACCOUNT_ACTIONS:
        if actor.is_admin:
            return allow()
        return deny(_("Only organisation admins can block or unblock accounts."), "not_admin")
    return None


def can_report(actor: Any, resource: Any) -> Verdict:
    return can(actor, "moderation.report.create", resource)
