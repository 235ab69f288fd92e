"""The budgets component: residents vote on projects within budgets; the outcome is computed by a
declared rule and published with the anonymous ballots (DESIGN.md §7).

Importing this module registers the manifest; `COMPONENTS` lists it as "budgets.component".
(`budgets/__init__.py` stays free of Flask so that `budgets.outcomes` runs on the standard library.)
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _

from decidim_py.components import ComponentManifest, Setting, register_component

from . import (
    log,  # noqa: F401  (registers the decision kinds)
    models,  # noqa: F401
)
from .admin import bp as admin_bp
from .permissions import permissions
from .rules import validate_rule_settings
from .views import bp

GLOBAL_SETTINGS = [
    Setting("workflow", "enum", default="one", label=_("Voting workflow"), choices=(
        ("one", _("Vote in one budget")), ("all", _("Vote in each budget once")),
        ("zone", _("Vote in the budgets of one's zone (from the identity provider)")))),
    Setting("projects_per_page", "int", default=12, min=1, max=100, label=_("Projects per page")),
    Setting("vote_rule_threshold_percent_enabled", "bool", default=True,
            label=_("Rule: spend at least a share of the budget")),
    Setting("vote_threshold_percent", "int", default=70, min=0, max=100,
            label=_("Minimum share of the budget (%)")),
    Setting("vote_rule_minimum_budget_projects_enabled", "bool", default=False,
            label=_("Rule: select at least a number of projects")),
    Setting("vote_minimum_budget_projects_number", "int", default=1, min=0,
            label=_("Minimum number of projects")),
    Setting("vote_rule_selected_projects_enabled", "bool", default=False,
            label=_("Rule: select between a minimum and a maximum number of projects (costs ignored)")),
    Setting("vote_selected_projects_minimum", "int", default=0, min=0, label=_("Minimum selected projects")),
    Setting("vote_selected_projects_maximum", "int", default=1, min=0, label=_("Maximum selected projects")),
    Setting("receipts_enabled", "bool", default=True, label=_("Ballot receipts"), help=_(
        "A voter who checks out gets a receipt code, shown once, whose hash is published next to their "
        "anonymous ballot, so they can check that it was counted as cast. The trade-off: a receipt also lets "
        "a voter prove to someone else how they voted (for instance to someone pressing them or paying them).")),
]

STEP_SETTINGS = [
    Setting("votes", "enum", default="enabled", label=_("Voting"), choices=(
        ("disabled", _("Disabled")), ("enabled", _("Enabled")), ("finished", _("Finished")))),
    Setting("show_votes", "bool", default=False, label=_("Show the number of votes")),
    Setting("comments_blocked", "bool", default=False, label=_("Comments blocked")),
]


def _export(component):  # type: ignore[no-untyped-def]
    from .closing import results_rows

    return results_rows(component)


MANIFEST = register_component(ComponentManifest(
    name="budgets",
    label=_("Budgets"),
    description=_("Residents vote on projects within budgets; the outcome follows a declared rule and "
                  "the anonymous ballots are published."),
    blueprint=bp,
    admin_blueprint=admin_bp,
    global_settings=GLOBAL_SETTINGS,
    step_settings=STEP_SETTINGS,
    actions=["vote", "comment"],
    permissions=permissions,
    exports={"results": _export},
    validate_settings=validate_rule_settings,
))


def _load_project(organization_id: int, project_id: int) -> object | None:
    from decidim_py.db import db

    from .models import Project

    project = db.session.get(Project, project_id)
    if project is None or project.organization_id != organization_id:
        return None
    return project


def _project_url(project: object) -> str:
    from flask import url_for

    component = project.budget.component  # type: ignore[attr-defined]
    return url_for("budgets.project", slug=component.space.slug, component_id=component.id,
                   budget_id=project.budget_id, project_id=project.id)  # type: ignore[attr-defined]


def _register_comments() -> None:
    from decidim_py.comments import Commentable, register_commentable

    register_commentable(Commentable("Project", load=_load_project, component_of=lambda p: p.budget.component,
                                     url_of=_project_url))


_register_comments()
