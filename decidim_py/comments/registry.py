"""Commentable types: how the comments blueprint finds a resource, its component and its page."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Commentable:
    type_name: str  # the model's class name, stored as resource_type
    load: Callable[[int, int], Any]  # (organization_id, resource_id) -> the resource or None
    component_of: Callable[[Any], Any]  # the resource's Component
    url_of: Callable[[Any], str]  # the page that includes comments/_thread.html
    # called in the comment's transaction when a comment on the resource is created (+1) or deleted
    # (-1), with (resource_id, delta): a component keeps its own counter (e.g. comments_count)
    on_count_change: Callable[[int, int], None] | None = None


_commentables: dict[str, Commentable] = {}


def register_commentable(commentable: Commentable) -> Commentable:
    _commentables[commentable.type_name] = commentable
    return commentable


def commentable_type(type_name: str) -> Commentable | None:
    return _commentables.get(type_name)


def commentable_for(resource: Any) -> Commentable:
    found = _commentables.get(type(resource).__name__)
    if found is None:
        raise LookupError(f"{type(resource).__name__} is not a registered commentable type")
    return found


@dataclass(frozen=True)
class Target:
    """The subject of `comments.comment.create`: a resource and its component."""

    resource: Any
    component: Any
    space: Any = None  # held so that the space stays in the session's (weak) identity map

    @property
    def organization_id(self) -> int:
        return self.component.organization_id

    @property
    def resource_type(self) -> str:
        return type(self.resource).__name__

    @property
    def resource_id(self) -> int:
        return self.resource.id


def target_of(resource: Any) -> Target:
    component = commentable_for(resource).component_of(resource)
    return Target(resource, component, component.space)
