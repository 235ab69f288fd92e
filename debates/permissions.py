"""Component rules of debates: who creates, edits, updates and closes; comments only while a debate is open."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _

from decidim_py.db import db, utcnow
from decidim_py.permissions import Verdict, allow, can, deny, signed_in

from .models import Debate

ADMIN_ACTIONS = {"debates.admin.access", "debates.debate.add_update"}
PUBLIC_ACTIONS = {"debates.debate.create", "debates.debate.edit", "debates.debate.close"}
COMMENT_ACTIONS = {"comments.comment.create", "comments.comment.vote"}


def _component_of(subject: Any) -> Any:
    if isinstance(subject, Debate):
        return subject.component
    if type(subject).__name__ == "Component" and subject.manifest_name == "debates":
        return subject
    return None


def is_manager(actor: Any, component: Any) -> bool:
    return signed_in(actor) and bool(can(actor, "components.component.manage", component))


def _commented_debate(subject: Any) -> Debate | None:
    """The debate a comment action is about: a Target (new comment) or a Comment (vote)."""
    from decidim_py.comments.models import Comment
    from decidim_py.comments.registry import Target

    if isinstance(subject, Target):
        return subject.resource if isinstance(subject.resource, Debate) else None
    if isinstance(subject, Comment) and subject.resource_type == "Debate":
        return db.session.get(Debate, subject.resource_id)
    return None


def comments_refusal(debate: Debate) -> Verdict | None:
    """A debate takes comments (and votes on them) while open (b.4): not once closed, and a
    time-boxed one only from its start to its end."""
    from decidim_py.i18n import fmt_datetime

    if debate.is_closed:
        return deny(_("This debate is closed: it takes no more comments."), "debate_closed")
    if debate.is_time_boxed:
        now = utcnow()
        if now < debate.start_time:
            return deny(_("This debate takes comments from %(start)s.", start=fmt_datetime(debate.start_time)),
                        "debate_not_started")
        if now >= debate.end_time:
            return deny(_("This debate ended on %(end)s: it takes no more comments.",
                          end=fmt_datetime(debate.end_time)), "debate_ended")
    return None


def permissions(actor: Any, action: str, subject: Any) -> Verdict | None:
    if action in COMMENT_ACTIONS:
        debate = _commented_debate(subject)
        return comments_refusal(debate) if debate is not None else None
    if not action.startswith("debates."):
        return None
    component = _component_of(subject)
    if component is None:
        return None
    if action in ADMIN_ACTIONS:
        if not is_manager(actor, component):
            return deny(_("Only the administrators of this space can do this."), "not_admin")
        if action == "debates.debate.add_update" and isinstance(subject, Debate) and subject.is_closed:
            return deny(_("This debate is closed: it cannot be changed any more."), "closed")
        return allow()
    if action not in PUBLIC_ACTIONS:
        return None
    readable = can(actor, "components.component.read", component)
    if not readable:
        return readable
    if not signed_in(actor):
        return deny(_("Please sign in to do this."), "sign_in")
    manager = is_manager(actor, component)
    if action == "debates.debate.create":
        if manager or component.current_settings.creation_enabled:
            return allow()
        return deny(_("Creating debates is not open in this phase."), "phase_closed")
    debate = subject if isinstance(subject, Debate) else None
    if debate is None:
        return None
    if not manager and (debate.official or debate.author_id != actor.id):
        return deny(_("Only the author or the administrators can do this."), "not_author")
    if debate.is_closed:
        if action == "debates.debate.close":
            return deny(_("This debate is already closed."), "closed")
        return deny(_("This debate is closed: it cannot be edited any more."), "closed")
    return allow()
