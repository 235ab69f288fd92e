"""The comments rule (the "component" link): comments.comment.create / vote / edit / delete."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _

from ..accounts.roles import space_roles_of
from ..components import Component
from ..db import db
from ..identity.eligibility import refusal
from ..permissions import Verdict, allow, can, deny, rule, signed_in
from .models import Comment
from .registry import Target

ACTIONS = {"comments.comment.create", "comments.comment.vote", "comments.comment.edit", "comments.comment.delete"}


def component_of(subject: Any) -> Component | None:
    if isinstance(subject, Target):
        return subject.component
    if isinstance(subject, Comment):
        return db.session.get(Component, subject.component_id)
    return None


def settings_verdict(component: Component) -> Verdict | None:
    """Refuse new comments (and votes) when the component turned them off, where it has the settings."""
    enabled = getattr(component.global_settings, "comments_enabled", True)
    if enabled is False:
        return deny(_("Comments are turned off here."), "comments_disabled")
    if getattr(component.current_settings, "comments_blocked", False) is True:
        return deny(_("Comments are closed in this phase."), "comments_blocked")
    return None


def alignment_enabled(component: Component) -> bool:
    return getattr(component.global_settings, "comments_alignment", False) is True


@rule("component")
def comments_rule(actor: Any, action: str, subject: Any) -> Verdict | None:
    if action not in ACTIONS:
        return None
    component = component_of(subject)
    if component is None:
        return deny(_("This cannot be commented on."), "not_commentable")
    if not signed_in(actor):
        return deny(_("Please sign in to do this."), "sign_in")
    if action in ("comments.comment.edit", "comments.comment.delete"):
        if not isinstance(subject, Comment) or subject.author_id != actor.id:
            return deny(_("Only the author can change this comment."), "not_author")
    readable = can(actor, "components.component.read", component)
    if not readable:
        return readable
    if action in ("comments.comment.create", "comments.comment.vote"):
        verdict = settings_verdict(component)
        if verdict is not None:
            return verdict
    return allow()


@rule("eligibility")
def comment_eligibility_rule(actor: Any, action: str, subject: Any) -> Verdict | None:
    """New comments need the component's `comment` requirement (b.4 user_allowed_to_comment?): except
    for people with a role in the space (and the organisation's admins), who always may comment."""
    if action != "comments.comment.create" or not signed_in(actor):
        return None
    component = component_of(subject)
    if component is None or getattr(actor, "is_admin", False) or space_roles_of(actor, component.space):
        return None
    return refusal(actor, component, "comment")
