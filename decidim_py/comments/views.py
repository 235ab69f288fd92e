"""The comments blueprint: every form of a thread posts here and 303s back to the resource page."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from flask import Blueprint, abort, render_template, request, url_for
from flask_babel import format_datetime, get_locale, get_timezone, gettext
from flask_babel import lazy_gettext as _
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

from ..db import db
from ..html import safe_html
from ..moderation.registry import is_hidden
from ..permissions import require, signed_in
from ..tenancy import current_organization
from ..web import actor, run_action, run_form, safe_next
from . import services
from .forms import CommentForm, EditCommentForm, VoteForm
from .models import MAX_DEPTH, Comment
from .queries import Node, Thread
from .registry import commentable_type, target_of

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



@bp.get("/<int:comment_id>/reply")
def reply(comment_id: int) -> Any:
    """The reply form on its own page (the thread links here instead of a form under every comment)."""
    parent, resource, url = _comment(comment_id)
    target = target_of(resource)
    require(actor(), "comments.comment.create", target)
    back = safe_next(request.args.get("next"), url).split("#", 1)[0]
    form = CommentForm(data={"parent_id": parent.id, "next": back, "alignment": 0})
    status = 200
    if parent.is_deleted or parent.depth >= MAX_DEPTH:
        form.form_errors.append(str(_("You cannot reply to a deleted comment.") if parent.is_deleted else
                                    _("This conversation cannot go deeper: reply higher up in the thread.")))
        status = 409
    return render_template(
        "comments/form.html", form=form, back=back, anchor=f"comment-{parent.id}", title=_("Reply"),
        form_action=url_for("comments.create", resource_type=target.resource_type, resource_id=target.resource_id),
        parent=parent,
    ), status


# --- rendering a thread ---------------------------------------------------------------------------
# A page shows up to 20 top-level comments and all their replies (70 and more): everything a comment
# needs is computed here in one pass, with the translated labels, the CSRF token and the URL patterns
# computed once per thread, so the template is a flat loop of plain lookups (no macro call, no
# url_for, gettext or Babel date formatting per comment).


@dataclass(frozen=True, slots=True)
class Row:
    id: int
    depth: int
    author: str
    iso: str
    when: str
    edited: bool
    alignment: str
    deleted: bool
    body: Markup
    up: str
    down: str
    vote_url: str  # "" when the viewer may not vote on it
    mine: int  # the viewer's vote: 1, -1 or 0
    edit_url: str  # "" unless the viewer may change it (then delete_url too)
    delete_url: str
    report_url: str
    reply_url: str
    tail: Markup  # after the article: '<ol class="replies">' when it has replies, else the closing tags


@lru_cache(maxsize=8192)
def _short_datetime(value: datetime, locale: str, timezone: str) -> str:
    """Stored comment times do not change: their formatting in a locale and time zone is memoised
    (the arguments are the cache key; the request's Babel context gives the same locale and zone)."""
    return format_datetime(value, "short")


def _id_url(endpoint: str, key: str, **values: Any) -> Callable[[int], str]:
    """url_for(endpoint, key=id, **values) for many ids at the cost of one url_for."""
    marker = "987654321"
    head, _sep, tail = url_for(endpoint, **{key: int(marker)}, **values).partition(marker)
    return lambda ident: f"{head}{ident}{tail}"


class ThreadView:
    """What the template needs once per thread, and the rows of its comments."""

    def __init__(self, thread: Thread) -> None:
        self.thread = thread
        self.here = thread.here()
        self.csrf = generate_csrf() if signed_in(thread.viewer) else ""
        self.labels = {
            "edited": gettext("edited"), "deleted": gettext("This comment was deleted."),
            "vote_up": gettext("Vote up"), "vote_down": gettext("Vote down"), "edit": gettext("Edit"),
            "delete": gettext("Delete"), "report": gettext("Report"), "reply": gettext("Reply"),
            "up": gettext("%(n)d up"), "down": gettext("%(n)d down"),
            1: gettext("In favour"), -1: gettext("Against"), 0: "",
        }
        self._locale, self._timezone = str(get_locale()), str(get_timezone())
        self._urls = {
            "vote": _id_url("comments.vote", "comment_id"),
            "edit": _id_url("comments.edit", "comment_id", next=self.here),
            "delete": _id_url("comments.delete", "comment_id"),
            "reply": _id_url("comments.reply", "comment_id", next=self.here),
            "report": _id_url("moderation.report", "resource_id", resource_type="Comment", next=self.here),
        }

    def rows(self, nodes: list[Node]) -> list[Row]:
        """Depth first, each with the tags that open its replies or close it (and its ancestors)."""
        out: list[Row] = []

        def add(node: Node, closes: int) -> None:
            children = node.children
            if children:
                out.append(self._row(node.comment, Markup('<ol class="replies">')))
                last = len(children) - 1
                for i, child in enumerate(children):
                    add(child, closes + 1 if i == last else 0)
            else:
                out.append(self._row(node.comment, Markup("</li>" + "</ol></li>" * closes)))

        for node in nodes:
            add(node, 0)
        return out

    def _row(self, c: Comment, tail: Markup) -> Row:
        t, labels, urls = self.thread, self.labels, self._urls
        deleted = c.deleted_at is not None
        may_change = t.may_change(c)
        return Row(
            id=c.id, depth=c.depth, author=c.author.name, iso=c.created_at.isoformat(),
            when=_short_datetime(c.created_at, self._locale, self._timezone),
            edited=c.edited_at is not None and not deleted, alignment="" if deleted else labels[c.alignment],
            deleted=deleted, body=Markup("") if deleted else safe_html(c.body),
            up=labels["up"] % {"n": c.up_votes}, down=labels["down"] % {"n": c.down_votes},
            vote_url=urls["vote"](c.id) if t.may_vote(c) else "", mine=t.votes.get(c.id, 0),
            edit_url=urls["edit"](c.id) if may_change else "",
            delete_url=urls["delete"](c.id) if may_change else "",
            report_url=urls["report"](c.id) if not deleted and t.viewer and not t.is_author(c) else "",
            reply_url=urls["reply"](c.id) if t.may_reply(c) else "",
            tail=tail,
        )


def thread_view(thread: Thread) -> ThreadView:
    """For templates: the thread's view, made once per thread."""
    view = getattr(thread, "_view", None)
    if view is None:
        view = ThreadView(thread)
        thread._view = view  # type: ignore[attr-defined]
    return view
