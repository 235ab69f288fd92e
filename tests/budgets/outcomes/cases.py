"""Which rule (and parameters, tie-breaking) of ours each rule name of expected.json stands for."""

from __future__ import annotations

from typing import Any

from budgets.outcomes import TieBreaking

# expected.json computed with pabutools' default tie-breaking: project id order
BY_ID = TieBreaking(("project_id",))
# the equalshares.net tool's default tie-breaking: lower cost, then more votes
ES_TOOL = TieBreaking(("lowest_cost", "most_votes"))

RULE_MAP: dict[str, tuple[str, dict[str, Any], TieBreaking]] = {
    "greedy_cost": ("greedy", {}, BY_ID),
    "greedy_score": ("greedy_score", {}, BY_ID),
    "mes_cost": ("mes", {}, BY_ID),
    "mes_add1": ("mes_add1", {}, BY_ID),
    "mes_add1_greedy": ("mes_add1", {"completion": "greedy"}, BY_ID),
    "mes_add1_noexh": ("mes_add1_noexh", {}, BY_ID),
    "mes_add1_noexh_greedy": ("mes_add1_noexh", {"completion": "greedy"}, BY_ID),
    "mes_add1_score": ("mes_add1_score", {}, BY_ID),
    "mes_add1_score_greedy": ("mes_add1_score", {"completion": "greedy"}, BY_ID),
    "es_tool_default": ("es_tool_default", {}, ES_TOOL),
}
# not implemented (optional in the brief): greedy_card, maxwelfare_cost, phragmen
NOT_IMPLEMENTED = {"greedy_card", "maxwelfare_cost", "phragmen"}
