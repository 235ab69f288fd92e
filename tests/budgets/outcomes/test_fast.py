"""The numpy fast path of the Method of Equal Shares against the exact (Fraction) path on real files,
its near-tie guard, and the engine switch."""

from __future__ import annotations

from fractions import Fraction

import pytest

from budgets.outcomes import Ballot, Election, Project, TieBreaking, compute, fastmes, rules
from budgets.outcomes.profile import prepare

from .cases import RULE_MAP
from .conftest import expected, parsed
from .test_properties import comparable

# small files whose exact Add1 runs take well under a second, with score and ordinal ballots
PAIRS = [
    ("Netherlands_Assen_2024.pb", "mes_add1"),
    ("Netherlands_Assen_2024.pb", "mes_add1_noexh"),
    ("Switzerland_Zurich_D10.pb", "mes_add1_score_greedy"),
    ("Switzerland_Zurich_S5R.pb", "mes_add1"),
    ("US_Stanford_Dataset_Merced_Peoples_Budget_Ballot_2019_vote_rankings.pb", "es_tool_default"),
    ("Poland_Wieliczka_2023_Green_Budget.pb", "mes_cost"),
]


@pytest.fixture
def engine():
    before = rules.ENGINE

    def use(name: str) -> None:
        rules.ENGINE = name

    yield use
    rules.ENGINE = before


@pytest.mark.parametrize(("name", "rule"), PAIRS)
def test_fast_and_exact_paths_give_the_same_outcome(engine, name: str, rule: str) -> None:
    _, election = parsed(name)
    ours, params, tb = RULE_MAP[rule]
    engine("fast")
    fast = compute(election, ours, params, tb)
    engine("exact")
    exact = compute(election, ours, params, tb)
    assert comparable(fast) == comparable(exact)
    assert sorted(fast.winners) == expected()[name][rule]["winners"]
    diag = fast.diagnostics
    assert diag["engine"] == "fast" and diag["exact_replays"] == 1 and diag["replay_mismatches"] == 0
    assert float(diag["min_margin"]) > float(diag["error_bound"]) > 0
    assert exact.diagnostics == {"engine": "exact", "exact_runs": exact.iterations}
    assert fast.to_dict()["diagnostics"] == diag  # additive in to_dict, and read back
    assert type(fast).from_dict(fast.to_dict()).diagnostics == diag


def test_a_near_tie_is_decided_exactly(engine) -> None:
    """The supporters of c have together exactly its cost (1 + 1 = 2): affordable in exact arithmetic,
    a tie within the float error bound. The float run refuses to decide; the exact run decides, and the
    outcome says an exact run was made."""
    projects = (Project("a", 5), Project("b", 5), Project("c", 2))
    ballots = [Ballot.approval(["a", "b", "c"])] * 2 + [Ballot.approval(["a"])] + [Ballot.approval([])] * 2
    election = Election(5, projects, tuple(ballots), "approval")
    tb = TieBreaking(("project_id",))
    with pytest.raises(fastmes.Unsure):
        fastmes.float_run(prepare(election, tb), Fraction(1))
    engine("fast")
    fast = compute(election, "mes", {}, tb)
    engine("exact")
    exact = compute(election, "mes", {}, tb)
    assert fast.diagnostics["exact_runs"] == 1 and fast.diagnostics["float_runs"] == 0
    assert comparable(fast) == comparable(exact)
    assert "c" in fast.winners


def test_unknown_engine_is_refused(engine) -> None:
    engine("gpu")
    with pytest.raises(ValueError, match="DECIDIM_OUTCOMES_ENGINE"):
        compute(Election(10, (Project("a", 5),), (Ballot.approval(["a"]),), "approval"), "mes")
