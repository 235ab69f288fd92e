"""Core permission rules: sign-in, blocked accounts, organisation boundary, organisation admins."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _

from ..permissions import Verdict, allow, deny, rule, signed_in
from .roles import is_host_admin


def _organization_id(subject: Any) -> int | None:
    if subject is None:
        return None
    if type(subject).__name__ == "Organization":
        return subject.id
    return getattr(subject, "organization_id", None)


@rule("core")
def core_rule(actor: Any, action: str, subject: Any) -> Verdict | None:
    if not signed_in(actor):
        if action.endswith(".read"):
            return None
        return deny(_("Please sign in to do this."), "sign_in")
    if actor.blocked_at is not None:
        return deny(_("Your account is blocked."), "blocked")
    if actor.deleted_at is not None:
        return deny(_("This account has been deleted."), "deleted")
    org_id = _organization_id(subject)
    if org_id is not None and org_id != actor.organization_id:
        return deny(_("This belongs to another organisation."), "other_organization")
    if actor.is_admin:
        return allow()
    return None


@rule("core")
def host_rule(actor: Any, action: str, subject: Any) -> Verdict | None:
    if not signed_in(actor) or type(subject).__name__ != "Host":
        return None
    if action in {"hosts.member.manage", "processes.process.create"} and is_host_admin(
        actor, subject.id
    ):
        return allow()
    return None
