"""Comments are reportable: moderation finds them, their component, author, page and preview."""

from __future__ import annotations

import html
from typing import Any

import bleach

from ..components import Component
from ..db import db
from ..moderation.registry import Reportable, register_reportable
from .models import Comment
from .registry import commentable_type


def _load(organization_id: int, comment_id: int) -> Comment | None:
    comment = db.session.get(Comment, comment_id)
    if comment is None or comment.organization_id != organization_id:
        return None
    return comment


def _url(comment: Comment) -> str:
    commentable = commentable_type(comment.resource_type)
    resource = commentable.load(comment.organization_id, comment.resource_id) if commentable else None
    if commentable is None or resource is None:
        return "#"
    return f"{commentable.url_of(resource)}#comment-{comment.id}"


def _preview(comment: Comment) -> str:
    text = html.unescape(bleach.clean(comment.body or "", tags=set(), strip=True))
    return text if len(text) <= 200 else text[:199] + "…"


def _component(comment: Comment) -> Any:
    return db.session.get(Component, comment.component_id)


def register() -> None:
    register_reportable(Reportable("Comment", load=_load, component_of=_component,
                                   author_of=lambda c: c.author, url_of=_url, preview=_preview))
