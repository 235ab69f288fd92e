"""Greedy rules: projects in order of votes (or score), funded while the money lasts."""

from __future__ import annotations

from dataclasses import dataclass

from .profile import Prepared


@dataclass
class GreedyStep:
    project: int
    selected: bool
    reason: str  # selected_by_votes | did_not_fit | below_threshold | not_reached
    left_before: int  # money left when the project's turn came


def greedy_order(prep: Prepared, by_score: bool) -> list[int]:
    """Most votes (or score) first; ties by the tie-breaking policy."""
    key = prep.scores if by_score else prep.votes
    return sorted(range(len(prep.ids)), key=lambda p: (-key[p], prep.tie_rank[p]))


def run_greedy(
    prep: Prepared,
    budget: int,
    *,
    by_score: bool = False,
    skip: bool = True,
    threshold: int = 0,
    start: list[int] | None = None,
) -> tuple[list[int], list[GreedyStep]]:
    """Walk the projects in greedy order; a project is funded when it fits in what is left. skip=False
    stops at the first project that does not fit. Projects below `threshold` (votes or score) are not
    eligible. `start`: projects already funded (a completion)."""
    winners = list(start or [])
    chosen = set(winners)
    left = budget - sum(prep.costs[p] for p in winners)
    key = prep.scores if by_score else prep.votes
    steps: list[GreedyStep] = []
    stopped = False
    for p in greedy_order(prep, by_score):
        if p in chosen:
            continue
        if key[p] < threshold:
            steps.append(GreedyStep(p, False, "below_threshold", left))
            continue
        if stopped:
            steps.append(GreedyStep(p, False, "not_reached", left))
            continue
        if prep.costs[p] <= left:
            winners.append(p)
            chosen.add(p)
            steps.append(GreedyStep(p, True, "selected_by_votes", left))
            left -= prep.costs[p]
        else:
            steps.append(GreedyStep(p, False, "did_not_fit", left))
            if not skip:
                stopped = True
    return winners, steps
