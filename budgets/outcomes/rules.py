"""The declared rules: their specification (names, plain-language labels, parameters) and compute()."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

from . import mes as mes_mod
from .greedy import GreedyStep, run_greedy
from .model import VOTE_TYPES, Election, Explanation, Outcome, ParamSpec, RuleSpec, TieBreaking, frac_str
from .profile import Prepared, prepare

Progress = Callable[[int, int, str], None]

ALL = VOTE_TYPES
SCORED = ("cumulative", "ordinal")

_COMPLETION = ParamSpec(
    "completion",
    "choice",
    "none",
    "After the Method of Equal Shares, fund further projects by number of votes while they fit (greedy) or not (none).",
    ("none", "greedy"),
)
_COMPARISON = ParamSpec(
    "comparison",
    "bool",
    False,
    "Compare the result with plain greedy-by-votes: if more voters have more of their projects funded "
    "by greedy than by Equal Shares, greedy's result is used (as in Wieliczka and Świecie).",
)
_BY_SCORE = ParamSpec(
    "by_score",
    "bool",
    False,
    "Cumulative or ordinal ballots: order and threshold by points (Borda points for rankings) instead "
    "of the number of voters supporting the project.",
)


def _mes_params(completion_default: str = "none") -> list[ParamSpec]:
    completion = ParamSpec(
        _COMPLETION.name, _COMPLETION.type, completion_default, _COMPLETION.help, _COMPLETION.choices
    )
    return [completion, _COMPARISON]


RULES: dict[str, RuleSpec] = {
    spec.name: spec
    for spec in [
        RuleSpec(
            "greedy",
            "Most votes first",
            "Projects are taken from the most voted to the least voted. Each is funded if it fits in the "
            "money that is left; a project that does not fit is skipped and the next one is tried.",
            [],
            ALL,
        ),
        RuleSpec(
            "greedy_no_skip",
            "Most votes first, stop at the first that does not fit",
            "Projects are taken from the most voted to the least voted and funded until the first one that "
            "does not fit in the money that is left; counting stops there.",
            [_BY_SCORE],
            ALL,
        ),
        RuleSpec(
            "greedy_threshold",
            "Most votes first, with a minimum of votes",
            "Only projects with at least the minimum number of votes (or share of voters) can be funded. "
            "They are taken from the most voted to the least voted; each is funded if it fits in the money "
            "that is left, otherwise skipped.",
            [
                ParamSpec("min_votes", "int", 0, "Minimum number of votes (points, with by_score) a project needs."),
                ParamSpec(
                    "min_share",
                    "decimal",
                    "0",
                    "Minimum share of the voters, in percent, who must support a project (0 to 100).",
                ),
                _BY_SCORE,
            ],
            ALL,
        ),
        RuleSpec(
            "greedy_score",
            "Most points first",
            "Like 'most votes first', but projects are ordered by the points they received (cumulative "
            "points; for rankings, Borda points: the first choice gets as many points as a ballot may rank "
            "projects, the next one less, and so on).",
            [],
            SCORED,
        ),
        RuleSpec(
            "mes",
            "Method of Equal Shares",
            "The budget is divided equally among the voters. A project is funded when its supporters can pay "
            "for it together; each pays the same amount, or all they have left if that is less. Each round "
            "funds the project whose cost is shared among the most supporters per unit of money (the "
            "lowest price per supporter relative to its cost). It stops when no project can be paid for.",
            _mes_params(),
            ALL,
        ),
        RuleSpec(
            "mes_add1",
            "Method of Equal Shares, increasing the shares until the budget is used",
            "As the Method of Equal Shares, run again with one more unit of money per voter each time, until "
            "the result leaves no money for any other voted project (or the next result would exceed the "
            "budget, in which case the previous one is kept).",
            _mes_params(),
            ALL,
        ),
        RuleSpec(
            "mes_add1_noexh",
            "Method of Equal Shares, increasing the shares while the result fits",
            "As the Method of Equal Shares, run again with one more unit of money per voter each time, for as "
            "long as the next result still fits in the budget (the variant that reproduces Wieliczka 2023).",
            _mes_params(),
            ALL,
        ),
        RuleSpec(
            "es_tool_default",
            "Method of Equal Shares as computed by equalshares.net",
            "The equalshares.net compute tool's defaults: each voter starts with a whole amount of money (the "
            "budget divided by the voters, rounded down), one more unit per voter each time while the next "
            "result fits and the current one leaves money for some project, then projects by votes while "
            "they fit.",
            _mes_params("greedy"),
            ALL,
        ),
        RuleSpec(
            "mes_add1_score",
            "Method of Equal Shares with points, increasing the shares until the budget is used",
            "As 'Method of Equal Shares, increasing the shares until the budget is used', with each supporter's "
            "payment proportional to the points they gave the project.",
            _mes_params(),
            SCORED,
        ),
    ]
}

# internal configuration of each MES rule
_MES = {
    "mes": {"scored": False, "loop": None},
    "mes_add1": {"scored": False, "loop": "exhaustive"},
    "mes_add1_noexh": {"scored": False, "loop": "fits"},
    "es_tool_default": {"scored": False, "loop": "es_tool"},
    "mes_add1_score": {"scored": True, "loop": "exhaustive"},
}

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def validate_params(rule: str, params: Mapping[str, Any] | None) -> dict[str, Any]:
    """The rule's parameters with defaults filled in and values checked; ValueError with a clear
    message for an unknown rule, an unknown parameter or a bad value."""
    if rule not in RULES:
        raise ValueError(f"unknown rule {rule!r} (expected one of {', '.join(RULES)})")
    given = dict(params or {})
    out: dict[str, Any] = {}
    specs = {p.name: p for p in RULES[rule].params}
    unknown = sorted(set(given) - set(specs))
    if unknown:
        allowed = ", ".join(specs) or "none"
        raise ValueError(f"rule {rule!r} has no parameter {', '.join(unknown)} (its parameters: {allowed})")
    for name, spec in specs.items():
        value = given.get(name, spec.default)
        if spec.type == "int":
            if isinstance(value, str) and value.strip().lstrip("-").isdigit():
                value = int(value.strip())
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a whole number of at least 0, not {value!r}")
        elif spec.type == "bool":
            if isinstance(value, str):
                low = value.strip().lower()
                if low not in _TRUE | _FALSE:
                    raise ValueError(f"{name} must be true or false, not {value!r}")
                value = low in _TRUE
            if not isinstance(value, bool):
                raise ValueError(f"{name} must be true or false, not {value!r}")
        elif spec.type == "decimal":
            try:
                dec = Decimal(str(value).strip())
            except InvalidOperation:
                raise ValueError(f"{name} must be a number, not {value!r}") from None
            if not dec.is_finite() or dec < 0 or dec > 100:
                raise ValueError(f"{name} must be a number between 0 and 100, not {value!r}")
            value = str(dec)
        elif spec.type == "choice":
            if value not in spec.choices:
                raise ValueError(f"{name} must be one of {', '.join(spec.choices)}, not {value!r}")
        out[name] = value
    return out


def compute(
    election: Election,
    rule: str,
    params: Mapping[str, Any] | None = None,
    tie_breaking: TieBreaking | None = None,
    progress: Progress | None = None,
) -> Outcome:
    """The outcome of `election` under `rule` with `params` (validated) and the tie-breaking policy."""
    checked = validate_params(rule, params)
    spec = RULES[rule]
    if election.vote_type not in spec.vote_types:
        raise ValueError(f"rule {rule!r} needs {' or '.join(spec.vote_types)} ballots, not {election.vote_type}")
    tb = tie_breaking or TieBreaking()
    if rule in _MES:
        return _compute_mes(election, rule, checked, tb, progress)
    return _compute_greedy(election, rule, checked, tb, progress)


def _greedy_explanations(prep: Prepared, steps: list[GreedyStep], threshold: int) -> dict[str, Explanation]:
    out = {}
    for step in steps:
        p = step.project
        data: dict[str, Any] = {"money_left": step.left_before, "score": prep.scores[p]}
        if step.reason == "below_threshold":
            data["threshold"] = threshold
        out[prep.ids[p]] = Explanation(prep.ids[p], step.selected, prep.votes[p], prep.costs[p], step.reason, data)
    return out


def _compute_greedy(
    election: Election, rule: str, params: dict[str, Any], tb: TieBreaking, progress: Progress | None
) -> Outcome:
    by_score = rule == "greedy_score" or bool(params.get("by_score"))
    if by_score and election.vote_type not in SCORED:
        by_score = False  # approval ballots: points are votes
    prep = prepare(election, tb, scored=by_score)
    threshold = 0
    if rule == "greedy_threshold":
        share = Fraction(Decimal(params["min_share"])) / 100 * prep.n_voters
        threshold = max(params["min_votes"], -(-share.numerator // share.denominator))
    winners, steps = run_greedy(
        prep, election.budget, by_score=by_score, skip=rule != "greedy_no_skip", threshold=threshold
    )
    if progress:
        progress(1, 1, "done")
    return Outcome(
        rule=rule,
        params=params,
        tie_breaking=tb,
        winners=tuple(prep.ids[p] for p in winners),
        total_cost=sum(prep.costs[p] for p in winners),
        budget=election.budget,
        explanations=_greedy_explanations(prep, steps, threshold),
        iterations=1,
        notes={"threshold": threshold} if rule == "greedy_threshold" else {},
    )


def _satisfaction_counts(prep: Prepared, a: set[int], b: set[int]) -> tuple[int, int]:
    """Voters with more of their supported projects in a than in b, and the converse."""
    prefer_a = prefer_b = 0
    for w, items in prep.groups:
        in_a = sum(1 for p, _ in items if p in a)
        in_b = sum(1 for p, _ in items if p in b)
        if in_a > in_b:
            prefer_a += w
        elif in_b > in_a:
            prefer_b += w
    return prefer_a, prefer_b


# How MES runs are computed: "auto" (the numpy fast path when numpy is installed, else exact), "exact"
# (standard library only) or "fast". The outcome is the same; Outcome.diagnostics says which ran.
ENGINE = os.environ.get("DECIDIM_OUTCOMES_ENGINE", "auto")


def _engine(prep: Prepared, beta0: Fraction, step: int) -> mes_mod.Engine:
    if ENGINE not in ("auto", "exact", "fast"):
        raise ValueError(f"DECIDIM_OUTCOMES_ENGINE must be auto, exact or fast, not {ENGINE!r}")
    if ENGINE != "exact":
        try:
            from .fastmes import FastEngine
        except ImportError:
            if ENGINE == "fast":
                raise
        else:
            return FastEngine(prep, beta0, step)
    return mes_mod.ExactEngine(prep, beta0, step)


def _compute_mes(
    election: Election, rule: str, params: dict[str, Any], tb: TieBreaking, progress: Progress | None
) -> Outcome:
    conf = _MES[rule]
    scored = bool(conf["scored"])
    prep = prepare(election, tb, scored=scored)
    budget = election.budget
    n = prep.n_voters
    notes: dict[str, Any] = {}
    diagnostics: dict[str, Any] = {}
    if n == 0:
        run = mes_mod.MesRun(Fraction(0), [], {p: (0, Fraction(0)) for p in range(len(prep.ids))}, None)
        iterations, beta = 1, Fraction(0)
    else:
        loop = conf["loop"]
        # Add1 adds one unit of the election's currency per voter: with decimal costs (Election.scale
        # 10^d) that is 10^d of the integer amounts, as pabutools and equalshares.net count it
        step = election.scale
        beta0 = Fraction(budget, n)
        if loop == "es_tool":
            beta0 = Fraction(budget // (n * step) * step)  # a whole amount of the file's unit
            if sum(prep.costs) <= budget:
                loop = None  # everything fits: the tool does not use Add1
        engine = _engine(prep, beta0, step)
        if loop is None:
            res = mes_mod.Add1Result(engine.final(0, engine.run(0)), engine.runs, 0)
        elif loop == "exhaustive":
            res = mes_mod.add1_until_exhaustive(engine, prep, budget, False, progress)
        elif loop == "fits":
            res = mes_mod.add1_while_next_fits(engine, prep, budget, False, False, progress)
        else:
            res = mes_mod.add1_while_next_fits(engine, prep, budget, True, True, progress)
        run, iterations, beta = res.run, res.iterations, engine.beta(res.increment)
        notes["start_voter_budget"] = frac_str(beta0)
        diagnostics = engine.diagnostics()
    mes_winners = run.winners
    explanations: dict[str, Explanation] = {}
    for pur in run.purchases:
        p = pur.project
        explanations[prep.ids[p]] = Explanation(
            prep.ids[p],
            True,
            prep.votes[p],
            prep.costs[p],
            "mes_selected",
            {
                "round": pur.round,
                "price_per_supporter": frac_str(pur.price),
                "effective_votes": frac_str(1 / pur.rho),
                "supporters": pur.supporters,
                "paid_in_full_share": pur.partial_payers,
                "paid_all_they_had": pur.full_payers,
                "paid_all_they_had_total": frac_str(pur.full_paid),
                "supporters_money_before": frac_str(pur.money_before),
                "supporters_money_after": frac_str(pur.money_after),
            },
        )
    for p, (rnd, money) in run.dropped.items():
        explanations[prep.ids[p]] = Explanation(
            prep.ids[p],
            False,
            prep.votes[p],
            prep.costs[p],
            "mes_not_affordable",
            {"round": rnd, "supporters_money": frac_str(money)},
        )
    winners = list(mes_winners)
    if params["completion"] == "greedy":
        winners, steps = run_greedy(prep, budget, by_score=scored, start=winners)
        for step in steps:
            expl = explanations[prep.ids[step.project]]
            data = dict(expl.data, completion=step.reason, money_left=step.left_before)
            if step.selected:
                explanations[expl.project_id] = Explanation(
                    expl.project_id, True, expl.votes, expl.cost, "selected_in_completion", data
                )
            else:
                explanations[expl.project_id] = Explanation(
                    expl.project_id, False, expl.votes, expl.cost, expl.reason, data
                )
    if params["comparison"]:
        greedy_winners, greedy_steps = run_greedy(prep, budget, by_score=scored)
        prefer_mes, prefer_greedy = _satisfaction_counts(prep, set(winners), set(greedy_winners))
        notes["comparison"] = {"prefer_mes": prefer_mes, "prefer_greedy": prefer_greedy}
        if prefer_greedy > prefer_mes:
            notes["comparison"]["kept"] = "greedy"
            winners = greedy_winners
            explanations = _greedy_explanations(prep, greedy_steps, 0)
            explanations = {
                pid: Explanation(e.project_id, e.selected, e.votes, e.cost, e.reason, dict(e.data, comparison="greedy"))
                for pid, e in explanations.items()
            }
        else:
            notes["comparison"]["kept"] = "mes"
    if progress:
        progress(budget, budget, "done")
    return Outcome(
        rule=rule,
        params=params,
        tie_breaking=tb,
        winners=tuple(prep.ids[p] for p in winners),
        total_cost=sum(prep.costs[p] for p in winners),
        budget=budget,
        explanations=explanations,
        iterations=iterations,
        final_voter_budget=frac_str(beta),
        notes=notes,
        diagnostics=diagnostics,
    )
