"""Moderation services. Hiding, unhiding, blocking and unblocking are decisions (record());
a report is not, and no record ever names a reporter."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from ..components import Component
from ..db import db, utcnow
from ..errors import InvalidState
from ..permissions import require
from ..spaces import get_space, space_type_of
from ..transparency import record
from .models import HIDE_THRESHOLD, Moderation, Report, ReportReason
from .registry import reportable_for

MAX_DETAILS = 1000
MAX_JUSTIFICATION = 1000


def _moderation_of(resource: Any, component: Component | None) -> Moderation:
    query = select(Moderation).where(
        Moderation.organization_id == resource.organization_id,
        Moderation.resource_type == type(resource).__name__,
        Moderation.resource_id == resource.id,
    )
    moderation = db.session.scalar(query)
    if moderation is not None:
        return moderation
    space = component.space if component is not None else None
    moderation = Moderation(
        organization_id=resource.organization_id,
        resource_type=type(resource).__name__,
        resource_id=resource.id,
        space_type=space_type_of(space).name if space is not None else None,
        space_id=getattr(space, "id", None),
        component_id=getattr(component, "id", None),
    )
    try:
        with db.session.begin_nested():
            db.session.add(moderation)
    except IntegrityError:  # another request created it first
        moderation = db.session.scalar(query)
        if moderation is None:
            raise
    return moderation


def _hidden_changed(moderation: Moderation) -> None:
    """Tell the item's component that moderation hid it or showed it again (Reportable.on_hidden)."""
    reportable = reportable_for(moderation.resource_type)
    if reportable is None or reportable.on_hidden is None:
        return
    resource = reportable.load(moderation.organization_id, moderation.resource_id)
    if resource is not None:
        reportable.on_hidden(resource, moderation.hidden_at)
        db.session.flush()


def main_reason(moderation: Moderation) -> str:
    """The reason most reporters gave (ties: the first in the list of reasons)."""
    rows = db.session.execute(
        select(Report.reason, func.count()).where(Report.moderation_id == moderation.id).group_by(Report.reason)
    ).all()
    if not rows:
        return "moderator"
    order = [r.value for r in ReportReason]
    return str(max(rows, key=lambda row: (row[1], -order.index(str(row[0]))))[0])


def _changes(moderation: Moderation, **extra: Any) -> dict[str, Any]:
    return {"reason": main_reason(moderation), "item": {"type": moderation.resource_type, "id": moderation.resource_id},
            **extra}


def _component(moderation: Moderation) -> Component | None:
    return db.session.get(Component, moderation.component_id) if moderation.component_id else None


def _space(moderation: Moderation) -> Any:
    if moderation.space_type is None or moderation.space_id is None:
        return None
    return get_space(moderation.space_type, moderation.space_id)


def report(actor: Any, resource: Any, reason: str, details: str | None = None) -> Report:
    """One report per person and item; the third distinct reporter hides the item (a decision)."""
    reportable = reportable_for(type(resource).__name__)
    if reportable is None:
        raise InvalidState(_("This cannot be reported."))
    require(actor, "moderation.report.create", resource)
    try:
        reason_value = ReportReason(reason)
    except ValueError:
        raise InvalidState(_("Choose a reason for your report.")) from None
    details = (details or "").strip() or None
    if details is not None and len(details) > MAX_DETAILS:
        raise InvalidState(_("The details can have at most %(n)d characters.", n=MAX_DETAILS))
    author = reportable.author_of(resource)
    if author is not None and author.id == actor.id:
        raise InvalidState(_("You cannot report your own contribution."))
    component = reportable.component_of(resource)
    moderation = _moderation_of(resource, component)
    already = db.session.scalar(
        select(Report.id).where(Report.moderation_id == moderation.id, Report.user_id == actor.id)
    )
    if already is not None:
        raise InvalidState(_("You have already reported this."))
    row = Report(organization_id=moderation.organization_id, moderation_id=moderation.id, user_id=actor.id,
                 reason=reason_value, details=details)
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:  # a concurrent request by the same person
        raise InvalidState(_("You have already reported this.")) from None
    # The counter is incremented in SQL: whatever the concurrency, exactly one report sees the threshold.
    count = db.session.execute(
        update(Moderation)
        .where(Moderation.id == moderation.id)
        .values(report_count=Moderation.report_count + 1)
        .returning(Moderation.report_count)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    db.session.refresh(moderation, ["report_count", "hidden_at"])
    if count == HIDE_THRESHOLD and moderation.hidden_at is None:
        moderation.hidden_at = utcnow()
        db.session.flush()
        _hidden_changed(moderation)
        record(None, "moderation.hide", moderation, organization_id=moderation.organization_id,
               space=_space(moderation), component=component,
               changes=_changes(moderation, automatic=True, reports=count))
    return row


def _justification(text: str | None) -> str:
    text = (text or "").strip()
    if not text:
        raise InvalidState(_("Give a justification: it is published with the decision."))
    if len(text) > MAX_JUSTIFICATION:
        raise InvalidState(_("The justification can have at most %(n)d characters.", n=MAX_JUSTIFICATION))
    return text


def hide(actor: Any, moderation: Moderation, justification: str) -> Moderation:
    space = _space(moderation)
    require(actor, "moderation.item.hide", space)
    text = _justification(justification)
    if moderation.is_hidden:
        raise InvalidState(_("This item is already hidden."))
    moderation.hidden_at = utcnow()
    db.session.flush()
    _hidden_changed(moderation)
    record(actor, "moderation.hide", moderation, organization_id=moderation.organization_id, space=space,
           component=_component(moderation), changes=_changes(moderation, automatic=False), reason=text)
    return moderation


def hide_resource(actor: Any, resource: Any, justification: str) -> Moderation:
    """Hide an item that nobody reported (e.g. from a component's admin screen): the same decision."""
    reportable = reportable_for(type(resource).__name__)
    if reportable is None:
        raise InvalidState(_("This cannot be hidden."))
    component = reportable.component_of(resource)
    require(actor, "moderation.item.hide", component.space if component is not None else None)
    _justification(justification)  # refused before anything is written
    return hide(actor, _moderation_of(resource, component), justification)


def unhide(actor: Any, moderation: Moderation, justification: str) -> Moderation:
    """Show the item again; its reports are kept, the count starts again from zero."""
    space = _space(moderation)
    require(actor, "moderation.item.unhide", space)
    text = _justification(justification)
    if not moderation.is_hidden:
        raise InvalidState(_("This item is not hidden."))
    changes = _changes(moderation)
    moderation.hidden_at = None
    moderation.report_count = 0
    db.session.flush()
    _hidden_changed(moderation)
    record(actor, "moderation.unhide", moderation, organization_id=moderation.organization_id, space=space,
           component=_component(moderation), changes=changes, reason=text)
    return moderation


def block_user(actor: Any, user: Any, justification: str, *, space: Any = None) -> Any:
    require(actor, "moderation.user.block", user)
    text = _justification(justification)
    if user.id == getattr(actor, "id", None):
        raise InvalidState(_("You cannot block your own account."))
    if user.is_admin:
        raise InvalidState(_("An organisation admin cannot be blocked."))
    if user.blocked_at is not None:
        raise InvalidState(_("This account is already blocked."))
    user.blocked_at = utcnow()
    db.session.flush()
    record(actor, "moderation.block", user, organization_id=user.organization_id, space=space, reason=text)
    return user


def unblock_user(actor: Any, user: Any, justification: str, *, space: Any = None) -> Any:
    require(actor, "moderation.user.unblock", user)
    text = _justification(justification)
    if user.blocked_at is None:
        raise InvalidState(_("This account is not blocked."))
    user.blocked_at = None
    db.session.flush()
    record(actor, "moderation.unblock", user, organization_id=user.organization_id, space=space, reason=text)
    return user
