"""Follows and in-app notifications (DESIGN.md §1: notifications/).

- A component makes its items followable with `register_followable(Followable(...))` and declares
  the events it sends with `register_event(Event(name, render, anchor))`.
- Its services call `notify_followers(resource_type, resource_id, event, payload, exclude_user_id)`
  (or `notify_followers_of(resource, event, ...)`; `notify_user(user, resource, event, ...)` for one
  person who must act) in the transaction of the triggering action, and
  `ensure_following(user, resource)` where acting on an item makes one follow it.
- Pages include `notifications/_follow.html` with `resource` in the context for the follow button.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, g
from flask_babel import lazy_gettext as _
from sqlalchemy.exc import SQLAlchemyError

from . import services
from .registry import Event, Followable, event_for, followable_for, register_event, register_followable
from .services import ensure_following, notify_followers, notify_followers_of, notify_user

__all__ = ["COMMENT_CREATED", "Event", "Followable", "ensure_following", "event_for", "followable_for", "init_app",
           "notify_followers", "notify_followers_of", "notify_user", "register_event", "register_followable"]

COMMENT_CREATED = "comments.comment_created"


def _register_core_events() -> None:
    register_event(Event(
        COMMENT_CREATED,
        render=lambda p: _('New comment on "%(title)s".', title=p.get("title", "")),
        anchor=lambda p: f"comment-{p['comment_id']}" if p.get("comment_id") else "",
    ))


def unread_notifications() -> int:
    """For the header: the signed-in person's unread count (one statement, once per request)."""
    from ..web import actor

    if "_unread_notifications" not in g:
        user = actor()
        try:
            g._unread_notifications = services.unread_count(user) if user is not None else 0
        except SQLAlchemyError:  # an error page after a failed transaction: the layout, without the count
            g._unread_notifications = 0
    return int(g._unread_notifications)


def follow_state(resource: Any) -> dict[str, Any]:
    """For the follow button: whether the viewer follows `resource` and may follow it."""
    from ..permissions import can
    from ..web import actor

    user = actor()
    if user is None or followable_for(resource) is None:
        return {"shown": False, "following": False, "verdict": None}
    following = services.is_following(user, resource)
    verdict = None if following else can(user, "notifications.follow.create", resource)
    return {"shown": following or bool(verdict), "following": following, "verdict": verdict}


def init_app(app: Flask) -> None:
    from . import (
        models,  # noqa: F401
        permissions,  # noqa: F401  (registers the rule)
    )
    from .views import bp

    if bp.name not in app.blueprints:
        app.register_blueprint(bp)
    _register_core_events()
    app.jinja_env.globals["unread_notifications"] = unread_notifications
    app.jinja_env.globals["follow_state"] = follow_state
    app.jinja_env.globals["UNREAD_CAP"] = services.UNREAD_CAP
