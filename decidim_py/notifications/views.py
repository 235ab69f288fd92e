"""The notifications page, opening a notification (marks it read, then 303 to the item), mark all
as read, and the follow / stop following buttons of any followable item."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _
from flask_wtf import FlaskForm

from ..tenancy import current_organization
from ..web import actor, run_action, safe_next, see_other
from . import services
from .registry import followable_type

bp = Blueprint("notifications", __name__, url_prefix="/notifications")
PER_PAGE = 20


def _to_sign_in() -> Any:
    return redirect(url_for("accounts.sign_in", next=request.full_path.rstrip("?")))


def _button() -> None:
    """A POST button: only the CSRF token is checked."""
    if not FlaskForm().validate_on_submit():
        abort(400)


@bp.get("/")
def index() -> Any:
    user = actor()
    if user is None:
        return _to_sign_in()
    try:
        page_number = max(1, int(request.args.get("page", "1")))
    except ValueError:
        page_number = 1
    page = services.list_notifications(user, page=page_number, per_page=PER_PAGE)
    items = [{"notification": n, "text": services.text_of(n)} for n in page.items]
    return render_template("notifications/index.html", page=page, items=items,
                           unread=services.unread_count(user))


@bp.get("/<int:notification_id>")
def open_notification(notification_id: int) -> Any:
    """The link of a notification: marks it read and goes to the item (a plain link, no script)."""
    user = actor()
    if user is None:
        return _to_sign_in()
    notification = services.get_notification(user, notification_id)
    if notification is None:
        abort(404)
    services.mark_read(user, notification)
    target = services.target_of(notification)
    if target is None:
        flash(str(_("This item is no longer available.")), "info")
        return see_other(url_for(".index"))
    return see_other(target)


@bp.post("/read")
def mark_all_read() -> Any:
    user = actor()
    if user is None:
        return _to_sign_in()
    _button()
    return run_action(lambda: services.mark_all_read(user), success=_("All your notifications are marked as read."),
                      redirect_to=url_for(".index"))


def _followable(resource_type: str, resource_id: int) -> tuple[Any, str]:
    followable = followable_type(resource_type)
    if followable is None:
        abort(404)
    resource = followable.load(current_organization().id, resource_id)
    if resource is None:
        abort(404)
    return resource, followable.url_of(resource)


@bp.post("/follow/<resource_type>/<int:resource_id>")
def follow(resource_type: str, resource_id: int) -> Any:
    resource, url = _followable(resource_type, resource_id)
    _button()
    return run_action(lambda: services.follow(actor(), resource),
                      success=_("You follow this now: you will be notified of what happens to it."),
                      redirect_to=safe_next(request.form.get("next"), url))


@bp.post("/unfollow/<resource_type>/<int:resource_id>")
def unfollow(resource_type: str, resource_id: int) -> Any:
    resource, url = _followable(resource_type, resource_id)
    _button()
    return run_action(lambda: services.unfollow(actor(), resource), success=_("You no longer follow this."),
                      redirect_to=safe_next(request.form.get("next"), url))
