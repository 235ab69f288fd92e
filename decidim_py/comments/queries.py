"""Reading a thread in a bounded number of SQL statements, whatever the number of comments:
one bounded count, one page of top-level comments (with authors), one query for all their
replies, one for the viewer's votes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from flask import request
from flask_babel import lazy_gettext as _
from sqlalchemy import func, select

from ..db import db
from ..moderation.registry import hidden_clause
from ..permissions import Verdict, can, signed_in
from ..web import actor as current_actor
from .models import MAX_DEPTH, Comment, CommentVote
from .permissions import alignment_enabled
from .registry import Target, target_of

SORTS = {
    "older": _("Older"),
    "recent": _("Recent"),
    "best_rated": _("Best rated"),
    "most_discussed": _("Most discussed"),
}
DEFAULT_SORT = "older"
PER_PAGE = 20
COUNT_CAP = 10_000  # counts stop here ("more than 10,000"), so a count never scans a huge thread


def _order(sort: str) -> list[Any]:
    if sort == "recent":
        return [Comment.created_at.desc(), Comment.id.desc()]
    if sort == "best_rated":
        return [(Comment.up_votes - Comment.down_votes).desc(), Comment.created_at, Comment.id]
    if sort == "most_discussed":
        return [Comment.replies_count.desc(), Comment.created_at, Comment.id]
    return [Comment.created_at, Comment.id]


def visible_comments(target: Target) -> Any:
    """Comments of a resource that moderation has not hidden."""
    return select(Comment).where(
        Comment.organization_id == target.organization_id,
        Comment.resource_type == target.resource_type,
        Comment.resource_id == target.resource_id,
        hidden_clause("Comment", Comment.id),
    )


@dataclass
class Node:
    comment: Comment
    children: list[Node] = field(default_factory=list)


@dataclass
class Thread:
    target: Target
    viewer: Any
    sort: str
    page: int
    per_page: int
    total_top: int
    total: int
    nodes: list[Node]
    votes: dict[int, int]
    can_create: Verdict
    can_vote: Verdict
    alignment_enabled: bool
    sort_options: list[tuple[str, Any]] = field(default_factory=lambda: list(SORTS.items()))
    max_depth: int = MAX_DEPTH

    @property
    def pages(self) -> int:
        return max(1, -(-self.total_top // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def total_is_capped(self) -> bool:
        return self.total > COUNT_CAP

    @property
    def total_label(self) -> str:
        return f"{COUNT_CAP:,}+" if self.total_is_capped else str(self.total)

    def url(self, **changes: Any) -> str:
        args = request.args.to_dict()
        for key, value in changes.items():
            args[f"comments_{key}"] = str(value)
        return f"{request.path}?{urlencode(args)}#comments"

    def here(self) -> str:
        return request.full_path.rstrip("?")

    def is_author(self, comment: Comment) -> bool:
        return signed_in(self.viewer) and comment.author_id == self.viewer.id

    def may_vote(self, comment: Comment) -> bool:
        return bool(self.can_vote) and not comment.is_deleted and not self.is_author(comment)

    def may_reply(self, comment: Comment) -> bool:
        return bool(self.can_create) and not comment.is_deleted and comment.depth < MAX_DEPTH

    def may_change(self, comment: Comment) -> bool:
        return self.is_author(comment) and not comment.is_deleted and self.viewer.blocked_at is None


def count_comments(target: Target) -> tuple[int, int]:
    """(top-level comments, all comments), each counted up to COUNT_CAP + 1, in one statement."""
    base = visible_comments(target).with_only_columns(Comment.id)
    top = base.where(Comment.parent_id.is_(None)).limit(COUNT_CAP + 1).subquery()
    everything = base.limit(COUNT_CAP + 1).subquery()
    row = db.session.execute(
        select(
            select(func.count()).select_from(top).scalar_subquery(),
            select(func.count()).select_from(everything).scalar_subquery(),
        )
    ).one()
    return int(row[0] or 0), int(row[1] or 0)


def load_thread(
    viewer: Any, resource: Any, *, sort: str = DEFAULT_SORT, page: int = 1, per_page: int = PER_PAGE
) -> Thread:
    target = target_of(resource)
    sort = sort if sort in SORTS else DEFAULT_SORT
    total_top, total = count_comments(target)
    pages = max(1, -(-min(total_top, COUNT_CAP) // per_page))
    page = max(1, min(page, pages))
    visible = visible_comments(target)
    top = list(
        db.session.scalars(
            visible
            .where(Comment.parent_id.is_(None))
            .order_by(*_order(sort))
            .limit(per_page)
            .offset((page - 1) * per_page)
        ).unique()
    )
    nodes = [Node(c) for c in top]
    by_id = {n.comment.id: n for n in nodes}
    if top:
        replies = db.session.scalars(
            visible
            .where(Comment.root_id.in_(list(by_id)))
            .order_by(Comment.created_at, Comment.id)
        ).unique()
        for reply in replies:
            node = Node(reply)
            parent = by_id.get(reply.parent_id or 0)
            if parent is not None:  # replies under a hidden reply stay hidden with it
                parent.children.append(node)
                by_id[reply.id] = node
    votes: dict[int, int] = {}
    if top and signed_in(viewer):
        rows = db.session.execute(
            select(CommentVote.comment_id, CommentVote.weight).where(
                CommentVote.user_id == viewer.id, CommentVote.comment_id.in_(list(by_id))
            )
        )
        votes = {comment_id: weight for comment_id, weight in rows}
    can_create = can(viewer, "comments.comment.create", target)
    return Thread(
        target=target,
        viewer=viewer,
        sort=sort,
        page=page,
        per_page=per_page,
        total_top=min(total_top, COUNT_CAP),
        total=total,
        nodes=nodes,
        votes=votes,
        can_create=can_create,
        # votes follow the rule of new comments except the `comment` eligibility requirement (b.4)
        can_vote=can_create if can_create else can(viewer, "comments.comment.vote", target),
        alignment_enabled=alignment_enabled(target.component),
    )


def comments_thread(resource: Any) -> Thread:
    """For templates: the thread of `resource` at the page and sort given in the query string."""
    try:
        page = int(request.args.get("comments_page", 1))
    except ValueError:
        page = 1
    return load_thread(current_actor(), resource, sort=request.args.get("comments_sort", DEFAULT_SORT), page=page)
