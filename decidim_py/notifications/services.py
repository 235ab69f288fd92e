"""Follow services and notifications. Following and reading are participants' acts, not
decisions: nothing here goes to the public record.

`notify_followers` writes one notification per follower with a single INSERT ... SELECT from the
follows, in the transaction of the action that triggers it, so an answer and its notifications
are stored together or not at all, whatever the number of followers.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _
from sqlalchemy import JSON, delete, func, literal, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..accounts.models import User
from ..db import db, utcnow
from ..errors import InvalidState
from ..pagination import Page, window_page
from ..permissions import require
from .models import Follow, Notification
from .registry import event_for, followable_for

DEFAULT_RETENTION_DAYS = 180
UNREAD_CAP = 99  # the header shows "99+" beyond: the count never scans a long backlog


def _insert(model: Any) -> Any:
    return pg_insert(model) if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert(model)


# --- follows ------------------------------------------------------------------------------------


def _follow_query(user_id: int, resource: Any) -> Any:
    return select(Follow).where(Follow.user_id == user_id, Follow.resource_type == type(resource).__name__,
                                Follow.resource_id == resource.id)


def is_following(user: Any, resource: Any) -> bool:
    if user is None or getattr(user, "id", None) is None:
        return False
    return db.session.scalar(_follow_query(user.id, resource).with_only_columns(Follow.id)) is not None


def ensure_following(user: Any, resource: Any) -> None:
    """The automatic follow of an author, a supporter or a commenter, inside the service that
    already checked their action. Idempotent, and safe against a concurrent identical follow."""
    if user is None or getattr(user, "id", None) is None or followable_for(resource) is None:
        return
    db.session.execute(
        _insert(Follow).values(organization_id=resource.organization_id, user_id=user.id,
                               resource_type=type(resource).__name__, resource_id=resource.id,
                               created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["user_id", "resource_type", "resource_id"])
    )


def follow(actor: Any, resource: Any) -> Follow:
    require(actor, "notifications.follow.create", resource)
    if is_following(actor, resource):
        raise InvalidState(_("You already follow this."))
    ensure_following(actor, resource)
    found = db.session.scalar(_follow_query(actor.id, resource))
    assert found is not None
    return found


def unfollow(actor: Any, resource: Any) -> None:
    require(actor, "notifications.follow.delete", resource)
    result = db.session.execute(
        delete(Follow).where(Follow.user_id == actor.id, Follow.resource_type == type(resource).__name__,
                             Follow.resource_id == resource.id).execution_options(synchronize_session=False)
    )
    if not result.rowcount:
        raise InvalidState(_("You do not follow this."))


# --- notifications ------------------------------------------------------------------------------


def notify_followers(resource_type: str, resource_id: int, event: str, payload: dict[str, Any],
                     exclude_user_id: int | None = None) -> int:
    """Notify every follower of a resource (but `exclude_user_id`, usually whoever acted) of a
    registered event, in one statement. Deleted and blocked accounts get nothing. Returns the
    number of notifications written."""
    if event_for(event) is None:
        raise LookupError(f"notification event {event!r} is not registered")
    follows = (
        select(Follow.organization_id, Follow.user_id, literal(event), literal(resource_type), literal(resource_id),
               literal(payload, type_=JSON), literal(utcnow(), type_=Notification.created_at.type))
        .join(User, User.id == Follow.user_id)
        .where(Follow.resource_type == resource_type, Follow.resource_id == resource_id,
               User.deleted_at.is_(None), User.blocked_at.is_(None))
    )
    if exclude_user_id is not None:
        follows = follows.where(Follow.user_id != exclude_user_id)
    statement = Notification.__table__.insert().from_select(
        ["organization_id", "recipient_id", "event", "resource_type", "resource_id", "payload", "created_at"],
        follows,
    )
    return int(db.session.execute(statement.execution_options(preserve_rowcount=True)).rowcount or 0)


def notify_followers_of(resource: Any, event: str, payload: dict[str, Any] | None = None,
                        exclude_user_id: int | None = None) -> int:
    """`notify_followers` for a followable resource, with its title in the payload."""
    return notify_followers(type(resource).__name__, resource.id, event, _with_title(resource, payload),
                            exclude_user_id)


def _with_title(resource: Any, payload: dict[str, Any] | None) -> dict[str, Any]:
    followable = followable_for(resource)
    data = dict(payload or {})
    if followable is not None:
        data.setdefault("title", followable.title_of(resource))
    return data


def notify_user(user: Any, resource: Any, event: str, payload: dict[str, Any] | None = None) -> bool:
    """Notify one person of a registered event about `resource` (with its title in the payload, when
    followable), whether they follow it or not: for who must act on it. Deleted and blocked accounts
    get nothing. Returns whether a notification was written."""
    if event_for(event) is None:
        raise LookupError(f"notification event {event!r} is not registered")
    if user is None or getattr(user, "id", None) is None or user.deleted_at is not None or user.blocked_at is not None:
        return False
    db.session.add(Notification(organization_id=resource.organization_id, recipient_id=user.id, event=event,
                                resource_type=type(resource).__name__, resource_id=resource.id,
                                payload=_with_title(resource, payload), created_at=utcnow()))
    db.session.flush()
    return True


def _mine(actor: Any) -> Any:
    return select(Notification).where(Notification.recipient_id == actor.id,
                                      Notification.organization_id == actor.organization_id)


def list_notifications(actor: Any, *, page: int = 1, per_page: int = 20) -> Page:
    """Newest first; one statement per page (the total is a window count)."""
    require(actor, "notifications.notification.list", actor)
    base = _mine(actor).order_by(Notification.created_at.desc(), Notification.id.desc())
    rows, page, total = window_page(base, page, per_page)
    return Page([r[0] for r in rows], page, per_page, total)


def unread_count(user: Any) -> int:
    """Unread notifications, counted up to UNREAD_CAP + 1, in one statement."""
    capped = (select(Notification.id).where(Notification.recipient_id == user.id, Notification.read_at.is_(None))
              .limit(UNREAD_CAP + 1).subquery())
    return int(db.session.scalar(select(func.count()).select_from(capped)) or 0)


def get_notification(actor: Any, notification_id: int) -> Notification | None:
    found = db.session.get(Notification, notification_id)
    if found is None or getattr(actor, "id", None) != found.recipient_id:
        return None
    return found


def mark_read(actor: Any, notification: Notification) -> Notification:
    require(actor, "notifications.notification.read", notification)
    if notification.read_at is None:
        notification.read_at = utcnow()
        db.session.flush()
    return notification


def mark_all_read(actor: Any) -> int:
    require(actor, "notifications.notification.list", actor)
    result = db.session.execute(
        update(Notification).where(Notification.recipient_id == actor.id, Notification.read_at.is_(None))
        .values(read_at=utcnow()).execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)


def text_of(notification: Notification) -> str:
    """The notification's sentence, in the current language."""
    event = event_for(notification.event)
    if event is None:
        return str(_("An update about something you follow."))
    return str(event.render(notification.payload or {}))


def target_of(notification: Notification) -> str | None:
    """The page the notification is about (with its anchor), or None when the item is gone or hidden."""
    from .registry import followable_type

    followable = followable_type(notification.resource_type)
    if followable is None:
        return None
    resource = followable.load(notification.organization_id, notification.resource_id)
    if resource is None:
        return None
    url = followable.url_of(resource)
    event = event_for(notification.event)
    if event is not None and event.anchor is not None:
        anchor = event.anchor(notification.payload or {})
        if anchor:
            url = f"{url.split('#', 1)[0]}#{anchor}"
    return url


# --- end of life --------------------------------------------------------------------------------


def retention_days() -> int:
    days = current_app.config.get("NOTIFICATION_RETENTION_DAYS")
    return DEFAULT_RETENTION_DAYS if days is None else max(0, int(days))


def purge_expired(now: datetime | None = None) -> int:
    """Delete notifications older than the retention period, and the follows and notifications of
    deleted accounts. Returns the number of rows deleted."""
    cutoff = (now or utcnow()) - timedelta(days=retention_days())
    n = db.session.execute(delete(Notification).where(Notification.created_at < cutoff)
                           .execution_options(synchronize_session=False)).rowcount or 0
    deleted_users = select(User.id).where(User.deleted_at.is_not(None)).scalar_subquery()
    n += db.session.execute(delete(Notification).where(Notification.recipient_id.in_(deleted_users))
                            .execution_options(synchronize_session=False)).rowcount or 0
    n += db.session.execute(delete(Follow).where(Follow.user_id.in_(deleted_users))
                            .execution_options(synchronize_session=False)).rowcount or 0
    return int(n)


def forget_user(user: Any) -> int:
    """For account deletion: the person's follows and notifications go with them."""
    n = db.session.execute(delete(Notification).where(Notification.recipient_id == user.id)
                           .execution_options(synchronize_session=False)).rowcount or 0
    n += db.session.execute(delete(Follow).where(Follow.user_id == user.id)
                            .execution_options(synchronize_session=False)).rowcount or 0
    return int(n)
