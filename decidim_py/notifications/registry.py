"""What can be followed, and the events followers are notified of.

A component registers its followable types with `register_followable(...)` and declares each event
it sends with `register_event(...)`: a renderer turning the notification's payload into one plain,
translated sentence (rendered when the list is shown, so in the reader's language), and optionally
an anchor on the resource page the notification links to.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Followable:
    type_name: str  # the model's class name, stored as resource_type
    load: Callable[[int, int], Any]  # (organization_id, resource_id) -> the item, None if gone or not public
    component_of: Callable[[Any], Any]  # the item's Component
    url_of: Callable[[Any], str]  # the item's public page
    title_of: Callable[[Any], str]  # the title shown in notifications about it


@dataclass(frozen=True)
class Event:
    name: str  # "<package>.<what happened>", e.g. "proposals.answer_published"
    render: Callable[[dict[str, Any]], str]  # payload -> one translated sentence
    anchor: Callable[[dict[str, Any]], str] | None = None  # payload -> "comment-12" (a place on the page)


_followables: dict[str, Followable] = {}
_events: dict[str, Event] = {}


def register_followable(followable: Followable) -> Followable:
    _followables[followable.type_name] = followable
    return followable


def followable_type(type_name: str) -> Followable | None:
    return _followables.get(type_name)


def followable_for(resource: Any) -> Followable | None:
    return _followables.get(type(resource).__name__)


def register_event(event: Event) -> Event:
    _events[event.name] = event
    return event


def event_for(name: str) -> Event | None:
    return _events.get(name)
