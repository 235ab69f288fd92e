"""Comment services: create, edit, soft delete, vote. Comments are not decisions (no record())."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from ..db import db, utcnow
from ..errors import InvalidState
from ..html import sanitize
from ..permissions import require
from .models import MAX_DEPTH, MAX_LENGTH, Comment, CommentVote
from .permissions import alignment_enabled
from .registry import Target, commentable_type, target_of

ALIGNMENTS = (-1, 0, 1)


def _count_changed(resource_type: str, resource_id: int, delta: int) -> None:
    commentable = commentable_type(resource_type)
    if commentable is not None and commentable.on_count_change is not None:
        commentable.on_count_change(resource_id, delta)


def clean_body(body: str | None) -> str:
    """Sanitise, then check the length (1..1000 characters)."""
    cleaned = sanitize(body or "")
    if not cleaned:
        raise InvalidState(_("Write something before sending your comment."))
    if len(cleaned) > MAX_LENGTH:
        raise InvalidState(_("A comment can have at most %(n)d characters.", n=MAX_LENGTH))
    return cleaned


def create_comment(
    actor: Any, resource: Any, body: str, *, parent: Comment | None = None, alignment: int = 0
) -> Comment:
    target: Target = target_of(resource)
    require(actor, "comments.comment.create", target)
    cleaned = clean_body(body)
    if alignment not in ALIGNMENTS:
        raise InvalidState(_("Choose in favour, neutral or against."))
    if alignment and not alignment_enabled(target.component):
        raise InvalidState(_("Comments here cannot take a position."))
    depth, root_id = 0, None
    if parent is not None:
        if (
            parent.organization_id != target.organization_id
            or parent.resource_type != target.resource_type
            or parent.resource_id != target.resource_id
        ):
            raise InvalidState(_("You can only reply to a comment on the same page."))
        if parent.is_deleted:
            raise InvalidState(_("You cannot reply to a deleted comment."))
        if parent.depth >= MAX_DEPTH:
            raise InvalidState(_("This conversation cannot go deeper: reply higher up in the thread."))
        depth, root_id = parent.depth + 1, parent.root_id or parent.id
    comment = Comment(
        organization_id=target.organization_id,
        component_id=target.component.id,
        resource_type=target.resource_type,
        resource_id=target.resource_id,
        parent_id=parent.id if parent is not None else None,
        root_id=root_id,
        depth=depth,
        author_id=actor.id,
        body=cleaned,
        alignment=alignment,
    )
    db.session.add(comment)
    if root_id is not None:
        db.session.execute(
            update(Comment).where(Comment.id == root_id).values(replies_count=Comment.replies_count + 1)
        )
    db.session.flush()
    _count_changed(comment.resource_type, comment.resource_id, 1)
    _follow_and_notify(actor, target.resource, comment)
    return comment


def _follow_and_notify(actor: Any, resource: Any, comment: Comment) -> None:
    """Commenting follows the item; its other followers are notified (when it is followable)."""
    from ..notifications import COMMENT_CREATED, ensure_following, followable_for, notify_followers_of

    if followable_for(resource) is None:
        return
    ensure_following(actor, resource)
    notify_followers_of(resource, COMMENT_CREATED, {"comment_id": comment.id}, exclude_user_id=actor.id)


def edit_comment(actor: Any, comment: Comment, body: str) -> Comment:
    require(actor, "comments.comment.edit", comment)
    if comment.is_deleted:
        raise InvalidState(_("This comment was deleted."))
    cleaned = clean_body(body)
    if cleaned != comment.body:
        comment.body = cleaned
        comment.edited_at = utcnow()
        db.session.flush()
    return comment


def delete_comment(actor: Any, comment: Comment) -> Comment:
    """Soft delete: the text disappears, the replies stay."""
    require(actor, "comments.comment.delete", comment)
    if comment.is_deleted:
        raise InvalidState(_("This comment was already deleted."))
    comment.deleted_at = utcnow()
    comment.body = ""
    db.session.flush()
    _count_changed(comment.resource_type, comment.resource_id, -1)
    return comment


def vote_comment(actor: Any, comment: Comment, weight: int) -> int:
    """Toggle a vote: the same vote again takes it back; the other one replaces it. Returns the
    person's vote afterwards (1, -1 or 0)."""
    require(actor, "comments.comment.vote", comment)
    if weight not in (1, -1):
        raise InvalidState(_("Vote up or down."))
    if comment.is_deleted:
        raise InvalidState(_("This comment was deleted."))
    if comment.author_id == actor.id:
        raise InvalidState(_("You cannot vote on your own comment."))
    existing = db.session.scalar(
        select(CommentVote).where(CommentVote.comment_id == comment.id, CommentVote.user_id == actor.id)
    )
    up, down = 0, 0
    result = weight
    if existing is None:
        try:
            with db.session.begin_nested():
                db.session.add(CommentVote(comment_id=comment.id, user_id=actor.id, weight=weight))
        except IntegrityError:  # a concurrent request voted first
            raise InvalidState(_("Your vote was already counted.")) from None
        up, down = (1, 0) if weight == 1 else (0, 1)
    elif existing.weight == weight:
        db.session.delete(existing)
        up, down = (-1, 0) if weight == 1 else (0, -1)
        result = 0
    else:
        existing.weight = weight
        up, down = (1, -1) if weight == 1 else (-1, 1)
    db.session.execute(
        update(Comment)
        .where(Comment.id == comment.id)
        .values(up_votes=Comment.up_votes + up, down_votes=Comment.down_votes + down)
        .execution_options(synchronize_session=False)
    )
    db.session.flush()
    db.session.refresh(comment, ["up_votes", "down_votes"])
    return result
