"""The comments blueprint: every form of a thread posts here and 303s back to the resource page."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, request
from flask_babel import lazy_gettext as _

from ..db import db
from ..moderation.registry import is_hidden
from ..permissions import require
from ..tenancy import current_organization
from ..web import actor, run_action, run_form, safe_next
from . import services
from .forms import CommentForm, EditCommentForm, VoteForm
from .models import Comment
from .registry import commentable_type

bp = Blueprint("comments", __name__, url_prefix="/comments")


def _resource(resource_type: str, resource_id: int) -> tuple[Any, str]:
    commentable = commentable_type(resource_type)
    if commentable is None:
        abort(404)
    resource = commentable.load(current_organization().id, resource_id)
    if resource is None:
        abort(404)
    require(actor(), "components.component.read", commentable.component_of(resource))
    return resource, commentable.url_of(resource)


def _comment(comment_id: int) -> tuple[Comment, Any, str]:
    comment = db.session.get(Comment, comment_id)
    if comment is None or comment.organization_id != current_organization().id or is_hidden(comment):
        abort(404)
    resource, url = _resource(comment.resource_type, comment.resource_id)
    return comment, resource, url


def _back(default: str, anchor: str) -> str:
    target = safe_next(request.form.get("next") or request.args.get("next"), default)
    return f"{target.split('#', 1)[0]}#{anchor}"


@bp.post("/<resource_type>/<int:resource_id>")
def create(resource_type: str, resource_id: int) -> Any:
    resource, url = _resource(resource_type, resource_id)
    form = CommentForm()
    parent = None
    if form.parent_id.data:
        parent = db.session.get(Comment, form.parent_id.data)
        if parent is None or parent.organization_id != current_organization().id or is_hidden(parent):
            abort(404)
    return run_form(
        form,
        lambda: services.create_comment(actor(), resource, form.body.data, parent=parent,
                                        alignment=form.alignment.data or 0),
        success=_("Your comment was published."),
        redirect_to=lambda c: _back(url, f"comment-{c.id}"),
        template="comments/form.html",
        back=url,
        title=_("Reply") if parent is not None else _("New comment"),
        form_action=request.path,
        parent=parent,
    )


@bp.route("/<int:comment_id>/edit", methods=["GET", "POST"])
def edit(comment_id: int) -> Any:
    comment, _resource_obj, url = _comment(comment_id)
    require(actor(), "comments.comment.edit", comment)
    form = EditCommentForm(data={"body": comment.body, "next": request.args.get("next", "")}
                           if request.method == "GET" else None)
    return run_form(
        form,
        lambda: services.edit_comment(actor(), comment, form.body.data),
        success=_("Your comment was changed."),
        redirect_to=lambda c: _back(url, f"comment-{c.id}"),
        template="comments/form.html",
        back=url,
        title=_("Edit your comment"),
        form_action=request.path,
        parent=None,
        editing=True,
    )


@bp.post("/<int:comment_id>/delete")
def delete(comment_id: int) -> Any:
    comment, _resource_obj, url = _comment(comment_id)
    return run_action(lambda: services.delete_comment(actor(), comment), success=_("Your comment was deleted."),
                      redirect_to=_back(url, f"comment-{comment.id}"))


@bp.post("/<int:comment_id>/vote")
def vote(comment_id: int) -> Any:
    comment, _resource_obj, url = _comment(comment_id)
    form = VoteForm()
    if not form.validate_on_submit():
        abort(400)
    weight = 1 if form.weight.data == "up" else -1
    return run_action(lambda: services.vote_comment(actor(), comment, weight), success=_("Your vote was saved."),
                      redirect_to=_back(url, f"comment-{comment.id}"))

