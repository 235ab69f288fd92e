"""How budget decisions read in the public record: their kinds (each with the envelope schema)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _

from decidim_py.transparency.kinds import register_kind

KINDS = {
    "budgets.budget.create": _("Budget created"),
    "budgets.budget.update": _("Budget changed"),
    "budgets.budget.delete": _("Budget deleted"),
    "budgets.budget.set_rule": _("Outcome rule of a budget declared"),
    "budgets.budget.close": _("Voting closed in a budget; anonymous ballots published"),
    "budgets.budget.outcome": _("Outcome of a budget computed and published"),
    "budgets.ballots.import": _("Ballots imported into a budget"),
    "budgets.project.create": _("Project added to a budget"),
    "budgets.project.update": _("Project changed"),
    "budgets.project.delete": _("Project deleted"),
    "budgets.project.import": _("Projects imported from accepted proposals"),
}

for _name, _label in KINDS.items():
    register_kind(_name, _label)
