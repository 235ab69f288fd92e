"""Property tests (hypothesis) on random small elections: budget never exceeded, Equal Shares payments
never above a voter's money, results independent of ballot and project order (beyond the stated
tie-breaking), and the Add1 jumps equal stepping by 1."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from budgets.outcomes import RULES, Ballot, Election, Project, TieBreaking, compute
from budgets.outcomes.mes import run_mes, total_cost
from budgets.outcomes.profile import prepare

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
APPROVAL_RULES = [name for name, spec in RULES.items() if "approval" in spec.vote_types]
SCORE_RULES = [name for name, spec in RULES.items() if "cumulative" in spec.vote_types]


@st.composite
def elections(draw: st.DrawFn, vote_type: str = "approval") -> Election:
    n_proj = draw(st.integers(1, 6))
    costs = draw(st.lists(st.integers(1, 60), min_size=n_proj, max_size=n_proj))
    projects = tuple(Project(f"p{i}", c) for i, c in enumerate(costs))
    ids = [p.id for p in projects]
    n_voters = draw(st.integers(1, 12))
    ballots = []
    for _ in range(n_voters):
        chosen = draw(st.lists(st.sampled_from(ids), unique=True, max_size=n_proj))
        if vote_type == "cumulative":
            points = draw(st.lists(st.integers(1, 3), min_size=len(chosen), max_size=len(chosen)))
            ballots.append(Ballot.cumulative(dict(zip(chosen, points, strict=True))))
        elif vote_type == "ordinal":
            ballots.append(Ballot.ordinal(chosen))
        else:
            ballots.append(Ballot.approval(chosen))
    budget = draw(st.integers(0, sum(costs) + 20))
    return Election(budget, projects, tuple(ballots), vote_type, max_length=n_proj if vote_type == "ordinal" else None)


def tie_breakings() -> st.SearchStrategy[TieBreaking]:
    keys = st.lists(
        st.sampled_from(["lowest_cost", "highest_cost", "most_votes", "fewest_votes", "project_id", "lot"]),
        unique=True,
        max_size=3,
    )
    return st.builds(TieBreaking, order=keys.map(tuple), lot_seed=st.text(max_size=8))


@SETTINGS
@given(elections(), st.sampled_from(APPROVAL_RULES), tie_breakings(), st.randoms(use_true_random=False))
def test_budget_kept_and_order_does_not_matter(election: Election, rule: str, tb: TieBreaking, rnd) -> None:
    outcome = compute(election, rule, None, tb)
    assert outcome.total_cost <= election.budget
    assert outcome.total_cost == sum(election.project_map[p].cost for p in outcome.winners)
    assert len(set(outcome.winners)) == len(outcome.winners)
    ballots, projects = list(election.ballots), list(election.projects)
    rnd.shuffle(ballots)
    rnd.shuffle(projects)
    shuffled = Election(election.budget, tuple(projects), tuple(ballots), election.vote_type)
    again = compute(shuffled, rule, None, tb)
    assert again.winners == outcome.winners  # same selection order, too
    assert comparable(again) == comparable(outcome)


@SETTINGS
@given(st.sampled_from(["cumulative", "ordinal"]).flatmap(elections), st.sampled_from(SCORE_RULES), tie_breakings())
def test_score_rules_keep_the_budget(election: Election, rule: str, tb: TieBreaking) -> None:
    outcome = compute(election, rule, {}, tb)
    assert outcome.total_cost <= election.budget


@SETTINGS
@given(elections(), st.integers(0, 40))
def test_mes_payments_never_exceed_a_voters_money(election: Election, extra: int) -> None:
    prep = prepare(election, TieBreaking())
    if prep.n_voters == 0:
        return
    beta = Fraction(election.budget, prep.n_voters) + extra
    run = run_mes(prep, beta)
    money = {i: beta for i in range(prep.n_voters)}
    # replay the purchases voter by voter: each supporter pays min(money, price)
    voters = []
    for w, items in prep.groups:
        voters.extend([{p for p, _ in items}] * w)
    for purchase in run.purchases:
        paid = Fraction(0)
        for i, supported in enumerate(voters):
            if purchase.project in supported:
                pay = min(money[i], purchase.price)
                assert pay <= money[i]
                money[i] -= pay
                paid += pay
        assert paid == prep.costs[purchase.project]  # the supporters pay exactly the cost
    assert all(m >= 0 for m in money.values())
    assert total_cost(prep, run.winners) <= prep.n_voters * beta


@SETTINGS
@given(elections(), st.sampled_from(["mes_add1", "mes_add1_noexh", "es_tool_default"]))
def test_add1_jumps_equal_stepping_by_one(election: Election, rule: str) -> None:
    """The loops jump over increments where no comparison can flip (exact engine) or gallop over those
    with the same control flow (fast engine); stepping by 1 gives the same."""
    tb = TieBreaking(("project_id",))
    for engine in ("fast", "exact"):
        _check_add1_against_stepping(election, rule, tb, _with_engine(engine, election, rule, {}, tb))


def _check_add1_against_stepping(election: Election, rule: str, tb: TieBreaking, fast) -> None:
    prep = prepare(election, tb)
    if prep.n_voters == 0:
        return
    n = prep.n_voters
    beta0 = Fraction(election.budget, n) if rule != "es_tool_default" else Fraction(election.budget // n)
    if rule == "es_tool_default" and sum(prep.costs) <= election.budget:
        assert fast.final_voter_budget == _frac(beta0)  # everything fits: the tool does not use Add1
        return
    t, prev, result = 0, None, None
    while t < 500:
        run = run_mes(prep, beta0 + t)
        spent = total_cost(prep, run.winners)
        if rule == "mes_add1":
            if spent > election.budget:
                result = (prev, t - 1)
                break
            if _exhaustive(prep, run.winners, election.budget, False):
                result = (run, t)
                break
        else:
            if rule == "es_tool_default" and _exhaustive(prep, run.winners, election.budget, True):
                result = (run, t)
                break
            nxt = run_mes(prep, beta0 + t + 1)
            if total_cost(prep, nxt.winners) > election.budget:
                result = (run, t)
                break
        prev = run
        t += 1
    if result is None:  # outcome never changes any more: both stop on it
        return
    run, t = result
    assert [prep.ids[p] for p in run.winners] == list(fast.winners[: len(run.winners)])
    assert fast.final_voter_budget == _frac(beta0 + t)


def comparable(outcome) -> dict:
    """The outcome without how it was computed (the engine's diagnostics and number of runs)."""
    return {k: v for k, v in outcome.to_dict().items() if k not in ("diagnostics", "iterations")}


MES_RULES = [name for name in RULES if name.startswith("mes") or name == "es_tool_default"]


@SETTINGS
@given(
    st.sampled_from(["approval", "cumulative", "ordinal"]).flatmap(elections),
    st.sampled_from(MES_RULES),
    tie_breakings(),
    st.sampled_from([{}, {"completion": "greedy"}]),
)
def test_fast_path_gives_the_exact_outcome(election: Election, rule: str, tb: TieBreaking, params: dict) -> None:
    """The numpy float path (with its near-tie guard and exact replay) and the Fraction-only path give
    the same outcome: winners, order, final per-voter budget and every explanation."""
    if election.vote_type not in RULES[rule].vote_types:
        return
    fast = _with_engine("fast", election, rule, params, tb)
    exact = _with_engine("exact", election, rule, params, tb)
    assert comparable(fast) == comparable(exact)
    if election.ballots:
        assert fast.diagnostics["engine"] == "fast" and exact.diagnostics["engine"] == "exact"


def _with_engine(engine: str, election: Election, rule: str, params: dict, tb: TieBreaking):
    from budgets.outcomes import rules

    before = rules.ENGINE
    rules.ENGINE = engine
    try:
        return compute(election, rule, params, tb)
    finally:
        rules.ENGINE = before


def _exhaustive(prep, winners, budget, all_projects):
    from budgets.outcomes.mes import is_exhaustive

    return is_exhaustive(prep, winners, budget, all_projects)


def _frac(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"
