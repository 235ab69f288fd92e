"""Debate services: create, edit, add an information update, close with conclusions.

Each takes an explicit actor, calls `require()`, validates, writes, flushes and records its
decision; none commits.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _

from decidim_py.components import Component
from decidim_py.db import db, utcnow
from decidim_py.errors import InvalidState
from decidim_py.notifications import ensure_following, notify_followers_of
from decidim_py.permissions import require
from decidim_py.transparency import record

from .models import Debate, DebateUpdate

TITLE_MIN, TITLE_MAX = 5, 150
DESCRIPTION_MIN, TEXT_MAX = 15, 10000


def sha256(text: str | None) -> str:
    return hashlib.sha256((text or "").encode()).hexdigest()


@dataclass
class DebateData:
    title: str
    description: str
    start_time: datetime | None = None
    end_time: datetime | None = None


def validate(data: DebateData) -> DebateData:
    title, description = (data.title or "").strip(), (data.description or "").strip()
    if not TITLE_MIN <= len(title) <= TITLE_MAX:
        raise InvalidState(_("The title must have between %(min)d and %(max)d characters.",
                             min=TITLE_MIN, max=TITLE_MAX))
    if not DESCRIPTION_MIN <= len(description) <= TEXT_MAX:
        raise InvalidState(_("The description must have between %(min)d and %(max)d characters.",
                             min=DESCRIPTION_MIN, max=TEXT_MAX))
    start, end = data.start_time, data.end_time
    if (start is None) != (end is None):
        raise InvalidState(_("Give both the start and the end of a time-boxed debate, or neither."))
    for moment in (start, end):
        if moment is not None and moment.tzinfo is None:
            raise InvalidState(_("The dates need a time zone."))
    if start is not None and end is not None and end <= start:
        raise InvalidState(_("The end must be after the start."))
    return DebateData(title, description, start, end)


def _changes(debate: Debate) -> dict[str, Any]:
    return {"title_sha256": sha256(debate.title), "description_sha256": sha256(debate.description),
            "start_time": debate.start_time, "end_time": debate.end_time}


def create_debate(actor: Any, component: Component, data: DebateData, *, official: bool = False) -> Debate:
    """A participant's debate, or an official one (from the admin screens: administrators only)."""
    require(actor, "debates.admin.access" if official else "debates.debate.create", component)
    clean = validate(data)
    debate = Debate(organization_id=component.organization_id, component_id=component.id,
                    author_id=actor.id, official=official, title=clean.title, description=clean.description,
                    start_time=clean.start_time, end_time=clean.end_time)
    db.session.add(debate)
    db.session.flush()
    record(actor, "debates.debate.create", debate, component=component,
           changes={**_changes(debate), "official": official})
    if not official:
        ensure_following(actor, debate)  # authors follow their debates
    return debate


def _lock_open(debate: Debate, refusal: Any) -> None:
    """Read the debate's row again under the lock closing takes, and refuse when it was closed
    meanwhile: an edit or an update in flight never lands after the closing."""
    db.session.refresh(debate, with_for_update=True)
    if debate.is_closed:
        raise InvalidState(refusal)


def update_debate(actor: Any, debate: Debate, data: DebateData) -> Debate:
    require(actor, "debates.debate.edit", debate)
    clean = validate(data)
    _lock_open(debate, _("This debate is closed: it cannot be edited any more."))
    before = _changes(debate)
    debate.title, debate.description = clean.title, clean.description
    debate.start_time, debate.end_time = clean.start_time, clean.end_time
    db.session.flush()
    after = _changes(debate)
    if after != before:
        record(actor, "debates.debate.update", debate, component=debate.component, changes=after)
    return debate


def add_update(actor: Any, debate: Debate, body: str) -> DebateUpdate:
    require(actor, "debates.debate.add_update", debate)
    text = (body or "").strip()
    if not text:
        raise InvalidState(_("Please write the update."))
    if len(text) > TEXT_MAX:
        raise InvalidState(_("An update can have at most %(max)d characters.", max=TEXT_MAX))
    _lock_open(debate, _("This debate is closed: it cannot be changed any more."))
    update = DebateUpdate(debate_id=debate.id, author_id=actor.id, body=text, created_at=utcnow())
    db.session.add(update)
    db.session.flush()
    record(actor, "debates.debate.add_update", debate, component=debate.component,
           changes={"update_id": update.id, "body_sha256": sha256(text)})
    return update


def close_debate(actor: Any, debate: Debate, conclusions: str) -> Debate:
    require(actor, "debates.debate.close", debate)
    text = (conclusions or "").strip()
    if not text:
        raise InvalidState(_("Please write the conclusions of the debate."))
    if len(text) > TEXT_MAX:
        raise InvalidState(_("The conclusions can have at most %(max)d characters.", max=TEXT_MAX))
    _lock_open(debate, _("This debate is already closed."))  # two closings never both pass the check
    debate.closed_at = utcnow()
    debate.closed_by_id = actor.id
    debate.conclusions = text
    db.session.flush()
    record(actor, "debates.debate.close", debate, component=debate.component,
           changes={"conclusions_sha256": sha256(text)})
    notify_followers_of(debate, "debates.closed", exclude_user_id=actor.id)
    return debate
