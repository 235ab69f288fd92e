"""The notifications rule (the "component" link): following items, reading one's notifications."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _

from ..permissions import Verdict, allow, can, deny, rule, signed_in
from .registry import followable_for

FOLLOW_ACTIONS = {"notifications.follow.create", "notifications.follow.delete"}
OWN_ACTIONS = {"notifications.notification.list", "notifications.notification.read"}


@rule("component")
def notifications_rule(actor: Any, action: str, subject: Any) -> Verdict | None:
    if not action.startswith("notifications."):
        return None
    if not signed_in(actor):
        return deny(_("Please sign in to do this."), "sign_in")
    if action in FOLLOW_ACTIONS:
        followable = followable_for(subject)
        if followable is None:
            return deny(_("This cannot be followed."), "not_followable")
        if action == "notifications.follow.delete":
            return allow()  # anyone may stop following, even what they can no longer read
        readable = can(actor, "components.component.read", followable.component_of(subject))
        return readable if not readable else allow()
    if action in OWN_ACTIONS:
        owner = getattr(subject, "recipient_id", getattr(subject, "id", None))
        if owner != actor.id:
            return deny(_("These notifications are not yours."), "not_recipient")
        return allow()
    return None
