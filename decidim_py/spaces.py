"""Space registry: participatory spaces (processes, and later others) register their type here.

The core and the component framework reach a space only through this registry, never by importing
its package, so a new space type needs no change in the core.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass
class SpaceType:
    name: str  # e.g. "processes"; stored in components.space_type and space_roles.space_type
    model: type[Any]
    label: Any
    url_prefix: str  # public prefix, e.g. "/processes/<slug>"
    find_by_slug: Callable[[int, str], Any]  # (organization_id, slug) -> space or None
    public_url: Callable[[Any], str]
    admin_url: Callable[[Any], str]
    active_step: Callable[[Any], Any]  # space -> its active step (or None)
    steps: Callable[[Any], list[Any]]
    # Optional: what the home page shows of this space type: (organization, actor) -> context
    # with a "template" key naming the partial that renders it.
    home_section: Callable[[Any, Any], dict[str, Any]] | None = None


_space_types: dict[str, SpaceType] = {}


def register_space_type(space_type: SpaceType) -> SpaceType:
    _space_types[space_type.name] = space_type
    return space_type


def space_types() -> list[SpaceType]:
    return list(_space_types.values())


def space_type(name: str) -> SpaceType:
    return _space_types[name]


def space_type_of(space: Any) -> SpaceType:
    for st in _space_types.values():
        if isinstance(space, st.model):
            return st
    raise LookupError(f"{type(space).__name__} is not a registered space type")


def get_space(space_type_name: str, space_id: int) -> Any:
    from .db import db

    return db.session.get(space_type(space_type_name).model, space_id)
