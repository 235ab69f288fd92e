"""The ballot rules of b.3 (decidim-rules.md): exactly one per component, read from its settings.

- threshold: add while the sum stays within the budget; check out once the sum reaches pct% of it;
- minimum: the sum stays within the budget; check out needs at least N projects;
- selected: each project is one slot (money ignored); add while count + 1 <= max; check out needs
  min <= count <= max.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _

from decidim_py.errors import InvalidState

RULE_FLAGS = ("vote_rule_threshold_percent_enabled", "vote_rule_minimum_budget_projects_enabled",
              "vote_rule_selected_projects_enabled")


def validate_rule_settings(values: dict[str, Any]) -> None:
    """Admin validation (b.3): exactly one rule, and sensible numbers for it."""
    enabled = [flag for flag in RULE_FLAGS if values.get(flag)]
    if not enabled:
        raise InvalidState(_("Choose one voting rule: a minimum share of the budget, a minimum number of "
                             "projects, or a number of selected projects."))
    if len(enabled) > 1:
        raise InvalidState(_("Choose only one voting rule."))
    flag = enabled[0]
    if flag == RULE_FLAGS[0]:
        pct = values.get("vote_threshold_percent")
        if pct is None or not 0 <= pct <= 100:
            raise InvalidState(_("The minimum share of the budget must be between 0 and 100 per cent."))
    elif flag == RULE_FLAGS[1]:
        if (values.get("vote_minimum_budget_projects_number") or 0) < 1:
            raise InvalidState(_("The minimum number of projects must be at least 1."))
    else:
        low, high = values.get("vote_selected_projects_minimum"), values.get("vote_selected_projects_maximum")
        if low is None or low < 0:
            raise InvalidState(_("The minimum number of selected projects cannot be negative."))
        if high is None or high <= 0:
            raise InvalidState(_("The maximum number of selected projects must be at least 1."))
        if high < low:
            raise InvalidState(_("The maximum number of selected projects cannot be below the minimum."))


@dataclass(frozen=True)
class BallotRule:
    kind: str  # "threshold" | "minimum" | "selected"
    budget_total: int  # cents
    threshold_percent: int = 0
    minimum_projects: int = 0
    maximum_projects: int = 0

    @classmethod
    def for_budget(cls, budget: Any) -> BallotRule:
        gs = budget.component.global_settings
        if gs.vote_rule_selected_projects_enabled:
            return cls("selected", budget.total_amount, minimum_projects=gs.vote_selected_projects_minimum,
                       maximum_projects=gs.vote_selected_projects_maximum)
        if gs.vote_rule_minimum_budget_projects_enabled:
            return cls("minimum", budget.total_amount, minimum_projects=gs.vote_minimum_budget_projects_number)
        return cls("threshold", budget.total_amount, threshold_percent=gs.vote_threshold_percent)

    @property
    def counts_projects(self) -> bool:
        return self.kind == "selected"

    @property
    def minimum_amount(self) -> int:
        """Cents a ballot must reach to be checked out (0 unless the threshold rule)."""
        if self.kind != "threshold":
            return 0
        return self.budget_total * self.threshold_percent // 100  # b.3: integer division, as Decidim

    def add_problem(self, total: int, count: int, cost: int) -> Any:
        """Why one more project of `cost` cannot be added (None: it can)."""
        if self.counts_projects:
            if count + 1 > self.maximum_projects:
                return _("You can select at most %(num)d projects.", num=self.maximum_projects)
            return None
        if total + cost > self.budget_total:
            return _("This project does not fit in what is left of the budget.")
        return None

    def checkout_problem(self, total: int, count: int) -> Any:
        if count == 0:
            return _("Your ballot is empty.")
        if self.kind == "selected":
            if not self.minimum_projects <= count <= self.maximum_projects:
                return _("Select between %(min)d and %(max)d projects.", min=self.minimum_projects,
                         max=self.maximum_projects)
            return None
        if total > self.budget_total:
            return _("Your ballot is over the budget.")
        if self.kind == "minimum" and count < self.minimum_projects:
            return _("Select at least %(num)d projects.", num=self.minimum_projects)
        if self.kind == "threshold" and total < self.minimum_amount:
            return _("Spend at least %(pct)d%% of the budget.", pct=self.threshold_percent)
        return None

    def progress(self, total: int, count: int) -> tuple[int, int]:
        """(value, max) of the ballot's progress meter."""
        if self.counts_projects:
            return count, max(self.maximum_projects, 1)
        return total, self.budget_total
