"""Moderation: reports on any reportable item, automatic and manual hiding, blocking accounts.

Components register their reportable types with `register_reportable(...)` and filter public
lists with `hidden_clause(...)` (SQL) or `is_hidden(resource)`.
"""

from __future__ import annotations

from flask import Flask

from .registry import Reportable, hidden_clause, is_hidden, register_reportable, reportable_for

__all__ = ["Reportable", "hidden_clause", "init_app", "is_hidden", "register_reportable", "reportable_for"]


def init_app(app: Flask) -> None:
    from . import permissions  # noqa: F401  (registers the rule)
    from .admin import bp as admin_bp
    from .views import bp

    for blueprint in (bp, admin_bp):
        if blueprint.name not in app.blueprints:
            app.register_blueprint(blueprint)
    app.jinja_env.globals["can_report"] = permissions.can_report
    from .forms import REASON_CHOICES

    app.jinja_env.globals["REPORT_REASONS"] = REASON_CHOICES
