"""An election prepared for counting: projects by index and identical ballots grouped (a multiprofile)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from .model import Election, TieBreaking


@dataclass
class Prepared:
    ids: list[str]
    costs: list[int]
    votes: list[int]  # supporters per project (approval view)
    scores: list[int]  # total score per project (points / Borda; approval: votes)
    n_voters: int
    # identical ballots grouped: (weight, ((project index, utility factor k), ...))
    groups: list[tuple[int, tuple[tuple[int, int], ...]]]
    tie_rank: list[int]  # position of each project in the tie-breaking order (smaller wins)
    cache: dict[str, Any] = field(default_factory=dict)  # derived indexes, shared by repeated runs


def prepare(election: Election, tie_breaking: TieBreaking, scored: bool = False) -> Prepared:
    """Group identical ballots. With scored=False each supported project has k=1 (the approval view);
    with scored=True k is the ballot's points (cumulative) or Borda score (ordinal)."""
    ids = [p.id for p in election.projects]
    index = {pid: i for i, pid in enumerate(ids)}
    borda = election.borda_length()
    votes = [0] * len(ids)
    scores = [0] * len(ids)
    groups: list[tuple[int, tuple[tuple[int, int], ...]]] = []
    if scored:
        counter: Counter[tuple[tuple[int, int], ...]] = Counter()
        for ballot in election.ballots:
            items = ballot.scores(borda)
            counter[tuple(sorted((index[pid], k) for pid, k in items.items()))] += 1
        groups = [(weight, key) for key, weight in sorted(counter.items())]
    else:
        # identical approval sets first (C speed), then each distinct set once as sorted indexes; sorting
        # the flat index tuples gives the same order as sorting the (index, 1) pairs, faster
        get = index.__getitem__
        flat: Counter[tuple[int, ...]] = Counter()
        for supported, weight in Counter(ballot.supported for ballot in election.ballots).items():
            flat[tuple(sorted(map(get, supported)))] += weight
        pair = [(i, 1) for i in range(len(ids))].__getitem__  # shared (index, 1) tuples
        groups = [(weight, tuple(map(pair, key))) for key, weight in sorted(flat.items())]
    for weight, key in groups:
        for p, k in key:
            votes[p] += weight
            scores[p] += weight * k
    if scored:
        # votes stay the approval view even when utilities are scores
        votes = [0] * len(ids)
        for ballot in election.ballots:
            for pid in ballot.supported:
                votes[index[pid]] += 1
    projects = election.projects
    order = sorted(range(len(ids)), key=lambda i: tie_breaking.key(projects[i], votes[i]))
    tie_rank = [0] * len(ids)
    for rank, i in enumerate(order):
        tie_rank[i] = rank
    return Prepared(
        ids=ids,
        costs=[p.cost for p in projects],
        votes=votes,
        scores=scores,
        n_voters=len(election.ballots),
        groups=groups,
        tie_rank=tie_rank,
    )
