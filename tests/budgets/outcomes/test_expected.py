"""Every file of the Pabulib fixtures, every rule of its expected.json we implement: the same winners.

The few pairs that take long even on the fast path (cases.SLOW) are checked by the benchmark
(bench/outcomes.py --check-all) so that this suite stays fast; set DECIDIM_OUTCOMES_ALL=1 to run them
here too."""

from __future__ import annotations

import os
from fractions import Fraction

import pytest

from budgets.outcomes import compute
from budgets.outcomes.pabulib import declared_rule

from .cases import BY_ID, NOT_IMPLEMENTED, RULE_MAP, SLOW
from .conftest import expected, parsed


def _pairs() -> list[tuple[str, str]]:
    pairs = []
    for name, entry in expected().items():
        if name == "_meta":
            continue
        for rule, result in entry.items():
            if rule == "_instance" or rule in NOT_IMPLEMENTED or result.get("winners") is None:
                continue
            pairs.append((name, rule))
    return pairs


def _slow(name: str, rule: str) -> bool:
    return os.environ.get("DECIDIM_OUTCOMES_ALL") != "1" and (name, rule) in SLOW


@pytest.mark.parametrize(("name", "rule"), _pairs())
def test_same_winners_as_expected(name: str, rule: str) -> None:
    if _slow(name, rule):
        pytest.skip("long run: checked by bench/outcomes.py --check-all (DECIDIM_OUTCOMES_ALL=1 runs it here)")
    pb, election = parsed(name)
    want = expected()[name][rule]["winners"]
    if rule == "official_rule_reimplemented":
        declared = declared_rule(pb)
        assert declared is not None, pb.meta.get("rule")
        ours, params, tb = declared[0], declared[1], BY_ID
    else:
        ours, params, tb = RULE_MAP[rule]
    outcome = compute(election, ours, params, tb)
    assert sorted(outcome.winners) == want
    assert outcome.total_cost <= election.budget
    inst = expected()[name]["_instance"]
    # expected.json gives the budget in the file's unit; our amounts are scaled to integers (Election.scale)
    if rule == "mes_add1" and "add1_final_per_voter_budget" in inst:
        assert Fraction(outcome.final_voter_budget) == Fraction(inst["add1_final_per_voter_budget"]) * election.scale
    if rule == "mes_add1_noexh" and "noexh_final_per_voter_budget" in inst:
        assert Fraction(outcome.final_voter_budget) == Fraction(inst["noexh_final_per_voter_budget"]) * election.scale


def _official() -> list[str]:
    out = []
    for name, entry in expected().items():
        if (
            name != "_meta"
            and entry["_instance"]["official_selected"]
            and entry["_instance"]["official_rule"] != "unknown"
        ):
            out.append(name)
    return out


@pytest.mark.parametrize("name", _official())
def test_official_outcome_reproduced_by_its_declared_rule(name: str) -> None:
    pb, election = parsed(name)
    declared = declared_rule(pb)
    assert declared is not None, f"{name}: rule {pb.meta.get('rule')!r} not mapped"
    rule, params, _ = declared
    outcome = compute(election, rule, params, BY_ID)
    assert sorted(outcome.winners) == sorted(expected()[name]["_instance"]["official_selected"])
