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

# (file, rule) pairs that take more than about 2 s each (wall time of the test with the numpy fast
# path, on 2 shared cores at a load average of 5-7): checked by bench/outcomes.py --check-all and with
# DECIDIM_OUTCOMES_ALL=1, so that tests/budgets/outcomes stays around a minute. Every other pair of
# expected.json runs in the suite.
SLOW: dict[tuple[str, str], float] = {
    ("France_Toulouse_2019.pb", "mes_add1"): 3.7,
    ("France_Toulouse_2019.pb", "mes_add1_greedy"): 2.3,
    ("France_Toulouse_2019.pb", "mes_add1_score_greedy"): 2.0,
    ("France_Toulouse_2024.pb", "es_tool_default"): 15.0,
    ("France_Toulouse_2024.pb", "mes_add1"): 18.1,
    ("France_Toulouse_2024.pb", "mes_add1_greedy"): 19.0,
    ("France_Toulouse_2024.pb", "mes_add1_noexh"): 19.6,
    ("France_Toulouse_2024.pb", "mes_add1_noexh_greedy"): 22.3,
    ("Poland_Czestochowa_2024.pb", "mes_add1"): 2.4,
    ("Poland_Czestochowa_2024.pb", "mes_add1_greedy"): 2.8,
    ("Poland_Czestochowa_2024.pb", "mes_add1_noexh"): 2.4,
    ("Poland_Czestochowa_2024.pb", "mes_add1_noexh_greedy"): 3.0,
    ("Poland_Czestochowa_2024.pb", "mes_add1_score"): 4.1,
    ("Poland_Czestochowa_2024.pb", "mes_add1_score_greedy"): 3.3,
    ("Poland_Krakow_2024.pb", "mes_add1_score"): 2.6,
    ("Poland_Krakow_2024.pb", "mes_add1_score_greedy"): 2.8,
    ("Poland_Warszawa_2020_Praga-Poludnie.pb", "es_tool_default"): 10.3,
    ("Poland_Warszawa_2020_Praga-Poludnie.pb", "mes_add1"): 10.4,
    ("Poland_Warszawa_2020_Praga-Poludnie.pb", "mes_add1_greedy"): 11.2,
    ("Poland_Warszawa_2020_Praga-Poludnie.pb", "mes_add1_noexh"): 8.2,
    ("Poland_Warszawa_2020_Praga-Poludnie.pb", "mes_add1_noexh_greedy"): 7.7,
    ("Poland_Warszawa_2023_Mokotow.pb", "es_tool_default"): 19.1,
    ("Poland_Warszawa_2023_Mokotow.pb", "mes_add1"): 12.1,
    ("Poland_Warszawa_2023_Mokotow.pb", "mes_add1_greedy"): 20.1,
    ("Poland_Warszawa_2023_Mokotow.pb", "mes_add1_noexh"): 14.7,
    ("Poland_Warszawa_2023_Mokotow.pb", "mes_add1_noexh_greedy"): 11.9,
}
