"""The data of an election and of its outcome: plain frozen values, standard library only.

Amounts are integers in the election's unit (the platform passes cents; a Pabulib file with decimal
costs is scaled by a power of ten, see pabulib.to_election). Per-voter money and payments are exact
fractions; in JSON they are "p/q" strings (or "n" when whole).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

VOTE_TYPES = ("approval", "cumulative", "ordinal", "choose-1")


def frac_str(value: Fraction | int) -> str:
    """A fraction as "p/q" ("n" when it is whole): exact and JSON-able."""
    value = Fraction(value)
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


def parse_frac(text: str | int) -> Fraction:
    return Fraction(text)


@dataclass(frozen=True)
class Project:
    id: str
    cost: int
    name: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise ValueError("a project id is a non-empty string")
        if isinstance(self.cost, bool) or not isinstance(self.cost, int) or self.cost <= 0:
            raise ValueError(f"project {self.id!r}: the cost must be a positive integer, not {self.cost!r}")


@dataclass(frozen=True)
class Ballot:
    """One anonymous ballot. Exactly one of the three fields is used, depending on the vote type."""

    approved: frozenset[str] = frozenset()
    points: tuple[tuple[str, int], ...] = ()
    ranking: tuple[str, ...] = ()

    @classmethod
    def approval(cls, ids: Iterable[str]) -> Ballot:
        return cls(approved=frozenset(ids))

    @classmethod
    def cumulative(cls, points: Mapping[str, int]) -> Ballot:
        for pid, pts in points.items():
            if isinstance(pts, bool) or not isinstance(pts, int) or pts < 0:
                raise ValueError(f"points for {pid!r} must be a non-negative integer, not {pts!r}")
        return cls(points=tuple(sorted(points.items())))

    @classmethod
    def ordinal(cls, ranking: Iterable[str]) -> Ballot:
        ranked = tuple(ranking)
        if len(set(ranked)) != len(ranked):
            raise ValueError("a ranking names each project at most once")
        return cls(ranking=ranked)

    @property
    def supported(self) -> frozenset[str]:
        """The approval view: the set of projects this ballot supports (cumulative: points > 0;
        ordinal: every ranked project; approval and choose-1: the approved ones)."""
        if self.points:
            return frozenset(pid for pid, pts in self.points if pts > 0) | self.approved
        if self.ranking:
            return frozenset(self.ranking) | self.approved
        return self.approved

    def scores(self, borda_length: int) -> dict[str, int]:
        """Score per supported project: cumulative points; ordinal Borda points (first = borda_length,
        then one less per position, never below 0); approval: 1 each."""
        if self.points:
            return {pid: pts for pid, pts in self.points if pts > 0}
        if self.ranking:
            out = {pid: borda_length - pos for pos, pid in enumerate(self.ranking)}
            return {pid: pts for pid, pts in out.items() if pts > 0}
        return dict.fromkeys(self.approved, 1)

    def to_dict(self) -> dict[str, Any]:
        if self.points:
            return {"points": [[pid, pts] for pid, pts in self.points]}
        if self.ranking:
            return {"ranking": list(self.ranking)}
        return {"approved": sorted(self.approved)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Ballot:
        if "points" in data:
            return cls.cumulative({str(pid): int(pts) for pid, pts in data["points"]})
        if "ranking" in data:
            return cls.ordinal(str(pid) for pid in data["ranking"])
        return cls.approval(str(pid) for pid in data.get("approved", ()))


@dataclass(frozen=True)
class Election:
    budget: int
    projects: tuple[Project, ...]
    ballots: tuple[Ballot, ...]
    vote_type: str
    # Ordinal ballots: the Borda length k (first choice scores k). None: the longest ballot.
    max_length: int | None = None
    # Amounts are in units of 1/scale of the source's unit (a Pabulib file with decimal costs).
    scale: int = 1

    def __post_init__(self) -> None:
        if self.vote_type not in VOTE_TYPES:
            raise ValueError(f"unknown vote type {self.vote_type!r} (expected one of {', '.join(VOTE_TYPES)})")
        if isinstance(self.budget, bool) or not isinstance(self.budget, int) or self.budget < 0:
            raise ValueError("the budget must be a non-negative integer")
        ids = [p.id for p in self.projects]
        if len(set(ids)) != len(ids):
            raise ValueError("project ids must be unique")
        known = set(ids)
        for n, ballot in enumerate(self.ballots):
            unknown = ballot.supported - known
            if unknown:
                raise ValueError(f"ballot {n + 1} names unknown projects: {', '.join(sorted(unknown))}")

    @property
    def project_map(self) -> dict[str, Project]:
        return {p.id: p for p in self.projects}

    def borda_length(self) -> int:
        if self.max_length:
            return self.max_length
        return max((len(b.ranking) for b in self.ballots), default=0)


TIE_KEYS = ("lowest_cost", "highest_cost", "most_votes", "fewest_votes", "project_id", "lot")


@dataclass(frozen=True)
class TieBreaking:
    """An explicit, recorded tie-breaking policy: the keys are applied in order; project id always ends
    it, so the order is total and never depends on input, dict or hash order. "lot" orders by
    sha256(lot_seed + ":" + project id), with a seed drawn before counting."""

    order: tuple[str, ...] = ("lowest_cost", "most_votes", "lot")
    lot_seed: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "order", tuple(self.order))
        for key in self.order:
            if key not in TIE_KEYS:
                raise ValueError(f"unknown tie-breaking key {key!r} (expected one of {', '.join(TIE_KEYS)})")
        if len(set(self.order)) != len(self.order):
            raise ValueError("each tie-breaking key may appear once")

    def key(self, project: Project, votes: int) -> tuple[Any, ...]:
        """Sort key: smaller comes first (wins the tie)."""
        parts: list[Any] = []
        for name in self.order:
            if name == "lowest_cost":
                parts.append(project.cost)
            elif name == "highest_cost":
                parts.append(-project.cost)
            elif name == "most_votes":
                parts.append(-votes)
            elif name == "fewest_votes":
                parts.append(votes)
            elif name == "project_id":
                parts.append(project.id)
            else:
                parts.append(hashlib.sha256(f"{self.lot_seed}:{project.id}".encode()).hexdigest())
        parts.append(project.id)
        return tuple(parts)

    def to_dict(self) -> dict[str, Any]:
        return {"order": list(self.order), "lot_seed": self.lot_seed}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TieBreaking:
        order = data.get("order", cls.order)
        if isinstance(order, str):
            order = [part.strip() for part in order.split(",") if part.strip()]
        return cls(order=tuple(order), lot_seed=str(data.get("lot_seed", "")))

    def describe(self) -> str:
        """Plain English, for people (the platform translates its own rendering of the keys)."""
        words = {
            "lowest_cost": "the cheaper project first",
            "highest_cost": "the more expensive project first",
            "most_votes": "the project with more votes first",
            "fewest_votes": "the project with fewer votes first",
            "project_id": "the project whose identifier comes first in alphabetical order",
            "lot": f"a lot drawn before counting (seed {self.lot_seed!r}: the project whose SHA-256 of "
            f"seed + ':' + identifier is smaller)",
        }
        steps = [words[k] for k in self.order]
        if "project_id" not in self.order:
            steps.append(words["project_id"])
        return "When projects are tied: " + "; if still tied, ".join(steps) + "."


@dataclass(frozen=True)
class Explanation:
    """Why a project won or lost: a machine reason code and its data (JSON-able; amounts as strings of
    fractions), for the platform to turn into translated sentences."""

    project_id: str
    selected: bool
    votes: int
    cost: int
    reason: str
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "project_id": self.project_id,
            "selected": self.selected,
            "votes": self.votes,
            "cost": self.cost,
            "reason": self.reason,
            "data": self.data,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Explanation:
        return cls(
            project_id=str(data["project_id"]),
            selected=bool(data["selected"]),
            votes=int(data["votes"]),
            cost=int(data["cost"]),
            reason=str(data["reason"]),
            data=dict(data.get("data", {})),
        )


@dataclass(frozen=True)
class Outcome:
    rule: str
    params: dict[str, Any]
    tie_breaking: TieBreaking
    winners: tuple[str, ...]  # in selection order
    total_cost: int
    budget: int
    explanations: dict[str, Explanation]
    iterations: int = 1
    final_voter_budget: str | None = None  # Fraction as "p/q" (MES rules)
    notes: dict[str, Any] = field(default_factory=dict)
    # how it was computed (MES: the engine, float and exact runs, the smallest float margin); not part
    # of the result: the same outcome computed another way has other diagnostics
    diagnostics: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def sorted_winners(self) -> list[str]:
        return sorted(self.winners)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "params": dict(self.params),
            "tie_breaking": self.tie_breaking.to_dict(),
            "winners": list(self.winners),
            "total_cost": self.total_cost,
            "budget": self.budget,
            "iterations": self.iterations,
            "final_voter_budget": self.final_voter_budget,
            "explanations": {pid: e.to_dict() for pid, e in sorted(self.explanations.items())},
            "notes": self.notes,
            "diagnostics": self.diagnostics,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Outcome:
        return cls(
            rule=str(data["rule"]),
            params=dict(data.get("params", {})),
            tie_breaking=TieBreaking.from_dict(data.get("tie_breaking", {})),
            winners=tuple(str(w) for w in data["winners"]),
            total_cost=int(data["total_cost"]),
            budget=int(data["budget"]),
            explanations={str(k): Explanation.from_dict(v) for k, v in data.get("explanations", {}).items()},
            iterations=int(data.get("iterations", 1)),
            final_voter_budget=data.get("final_voter_budget"),
            notes=dict(data.get("notes", {})),
            diagnostics=dict(data.get("diagnostics", {})),
        )


@dataclass(frozen=True)
class ParamSpec:
    name: str
    type: str  # "int", "decimal", "bool", "choice"
    default: Any
    help: str
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class RuleSpec:
    name: str
    label: str
    description: str
    params: list[ParamSpec]
    vote_types: tuple[str, ...]
