"""Threaded comments shared by every component (DESIGN.md §1: comments/).

A component makes a resource commentable with `register_commentable(...)` and includes
`templates/comments/_thread.html` in its page with `resource` in the context.
"""

from __future__ import annotations

from flask import Flask

from .registry import Commentable, commentable_for, register_commentable

__all__ = ["Commentable", "commentable_for", "init_app", "register_commentable"]


def init_app(app: Flask) -> None:
    from . import permissions  # noqa: F401  (registers the rule)
    from .queries import comments_thread
    from .views import bp, thread_view

    if bp.name not in app.blueprints:
        app.register_blueprint(bp)
    app.jinja_env.globals["comments_thread"] = comments_thread
    app.jinja_env.globals["thread_view"] = thread_view
    from .reporting import register as register_reportable

    register_reportable()
