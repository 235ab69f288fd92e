"""Reportable types: how moderation finds an item, its component, author, page and preview."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists, select

from ..db import db
from .models import Moderation


@dataclass(frozen=True)
class Reportable:
    type_name: str  # the model's class name, stored as resource_type
    load: Callable[[int, int], Any]  # (organization_id, resource_id) -> the item or None
    component_of: Callable[[Any], Any]  # the item's Component
    author_of: Callable[[Any], Any]  # the item's author (a User) or None
    url_of: Callable[[Any], str]  # the public page showing the item
    preview: Callable[[Any], str]  # a short plain text shown to moderators
    # called when moderation hides (a datetime) or shows again (None) the item, for a component that
    # keeps a copy of the moderation's hidden_at on its own rows (so its lists filter without a join)
    on_hidden: Callable[[Any, Any], None] | None = None


_reportables: dict[str, Reportable] = {}


def register_reportable(reportable: Reportable) -> Reportable:
    _reportables[reportable.type_name] = reportable
    return reportable


def reportable_for(resource_type: str) -> Reportable | None:
    return _reportables.get(resource_type)


def hidden_clause(resource_type: str, id_column: Any) -> Any:
    """A WHERE clause keeping the rows of `resource_type` (ids in `id_column`) that are not hidden."""
    return ~exists().where(
        Moderation.resource_type == resource_type,
        Moderation.resource_id == id_column,
        Moderation.hidden_at.is_not(None),
    )


def is_hidden(resource: Any) -> bool:
    hidden = db.session.scalar(
        select(Moderation.hidden_at).where(
            Moderation.organization_id == resource.organization_id,
            Moderation.resource_type == type(resource).__name__,
            Moderation.resource_id == resource.id,
        )
    )
    return hidden is not None
