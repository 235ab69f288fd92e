"""Outcome rules for participatory budgets: pure functions on an election (projects, budget, anonymous
ballots), standard library only, so that anyone can recompute a published result from a Pabulib file
(`python -m budgets.outcomes recompute FILE.pb`). See docs/outcomes.md."""

from .model import (
    TIE_KEYS,
    VOTE_TYPES,
    Ballot,
    Election,
    Explanation,
    Outcome,
    ParamSpec,
    Project,
    RuleSpec,
    TieBreaking,
    frac_str,
)
from .rules import RULES, compute, validate_params

__all__ = [
    "RULES",
    "TIE_KEYS",
    "VOTE_TYPES",
    "Ballot",
    "Election",
    "Explanation",
    "Outcome",
    "ParamSpec",
    "Project",
    "RuleSpec",
    "TieBreaking",
    "compute",
    "frac_str",
    "validate_params",
]
