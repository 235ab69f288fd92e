"""Who manages identity: providers, conflicts and residence settings are organisation-admin
matters; managed participants and impersonation belong to user managers."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _

from ..permissions import Verdict, allow, deny, rule, signed_in

ADMIN_ONLY = {"identity.provider.manage", "identity.conflict.manage", "identity.residence.manage"}
USER_MANAGER = {"identity.managed.manage", "identity.impersonate"}


@rule("core")
def identity_rule(user: Any, action: str, subject: Any) -> Verdict | None:
    if not signed_in(user):
        return None
    if action in ADMIN_ONLY and not user.is_admin:
        return deny(_("Only organisation administrators can do this."), "not_admin")
    if action in USER_MANAGER:
        if getattr(user, "is_user_manager", False):
            return allow()
        if not user.is_admin:
            return deny(_("Only user managers can do this."), "not_user_manager")
    return None
