"""The Method of Equal Shares (cost utilities, or score x cost utilities), exact, with the Add1 loops.

Every voter starts with the same share beta of money. Each round, the project that its supporters can
pay for most equally is bought: each supporter pays the same price (times their score, for score
ballots), or everything they have left when that is less; the project needing the smallest price per
unit of utility (rho) wins. Projects whose supporters together have less money than the cost drop out.

Exactness: every amount is a fractions.Fraction. Speed: voters are kept in *classes* of equal money
(two voters who supported the same bought projects hold the same money), each project keeps how many
supporters it has in each class, and a project's rho only grows from round to round, so a project is
re-evaluated only when its last rho could still beat the best of the round (lazy evaluation).

Add1 loops: the outcome only changes with beta at points where one of the comparisons made during the
run changes sign. With `track`, the run also computes every voter's money as an affine function of
the increment t (money(t) = v + s t) and records, for every comparison it made, the first t at which it
could flip; no integer increment before that point can give another outcome, so the loop jumps there
instead of stepping by 1 (same result as stepping, far fewer runs).
"""

from __future__ import annotations

import heapq
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from itertools import repeat
from operator import add, itemgetter, mul
from typing import Any, Protocol

from .profile import Prepared

ZERO = Fraction(0)
_first = itemgetter(0)
ONE = Fraction(1)


@dataclass
class Purchase:
    project: int
    round: int
    rho: Fraction  # price per unit of utility divided by the cost (1 / effective votes)
    price: Fraction  # what each supporter who could afford it paid (per unit of score)
    supporters: int
    full_payers: int  # supporters who paid all the money they had left (less than the price)
    full_paid: Fraction
    partial_payers: int
    money_before: Fraction  # the supporters' money before the purchase
    money_after: Fraction


@dataclass
class MesRun:
    beta: Fraction
    purchases: list[Purchase]
    dropped: dict[int, tuple[int, Fraction]]  # project -> (round, supporters' money when it was unaffordable)
    next_t: Fraction | None  # no comparison flips for increments t < next_t (None: never; only with track)
    evaluations: int = 0

    @property
    def winners(self) -> list[int]:
        return [p.project for p in self.purchases]


class _Bound:
    __slots__ = ("t",)

    def __init__(self) -> None:
        self.t: Fraction | None = None

    def keep(self, dv: Fraction, ds: Fraction) -> None:
        """The quantity dv + ds*t (>= 0 now) must keep its sign: note where it reaches 0."""
        if ds < 0:
            t = dv / -ds
            if self.t is None or t < self.t:
                self.t = t


@dataclass
class _Eval:
    rho_v: Fraction
    rho_s: Fraction
    lam_v: Fraction
    lam_s: Fraction
    full: set[int] = field(default_factory=set)
    money: Fraction = ZERO
    hist: Counter[int] = field(default_factory=Counter)


def _supporters(prep: Prepared) -> tuple[list[list[tuple[int, int]]], list[list[int]], list[list[int]], int]:
    """Per project: its supporting groups with their utility factor k, and the same expanded to one
    entry per voter (group index, and k), which lets a run count supporters per money class in C."""
    cached = prep.cache.get("supporters")
    if cached is None:
        n_proj = len(prep.costs)
        sup: list[list[tuple[int, int]]] = [[] for _ in range(n_proj)]
        exp_g: list[list[int]] = [[] for _ in range(n_proj)]
        exp_k: list[list[int]] = [[] for _ in range(n_proj)]
        for g, (w, items) in enumerate(prep.groups):
            for p, k in items:
                sup[p].append((g, k))
                exp_g[p].extend([g] * w)
                exp_k[p].extend([k] * w)
        kmax = max((k for _, items in prep.groups for _, k in items), default=1) + 1
        cached = (sup, exp_g, exp_k, kmax)
        prep.cache["supporters"] = cached
    return cached


class _State:
    """The exact money of every voter during one run, kept in classes of equal money (with track, also
    as an affine function v + s t of the increment t, and the bound up to which no comparison flips)."""

    def __init__(self, prep: Prepared, beta: Fraction, track: bool) -> None:
        self.prep = prep
        self.costs = prep.costs
        self.sup, self.exp_g, self.exp_k, kmax = _supporters(prep)
        self.unit = kmax == 2  # every utility factor is 1 (approval view): a key is the class id itself
        self.kmax = 1 if self.unit else kmax
        self.track = track
        self.cls_v: list[Fraction] = [beta]
        self.cls_s: list[Fraction] = [ONE if track else ZERO]
        self.merge: dict[tuple[Fraction, Fraction], int] = {(self.cls_v[0], self.cls_s[0]): 0}
        self.group_cls = [0] * len(prep.groups)
        self.bound = _Bound()

    def _cls(self, key: int) -> int:
        return key if self.unit else key // self.kmax

    def histogram(self, p: int) -> Counter[int]:
        """Supporters of p per key (class id, or class id * kmax + k with scores)."""
        get_cls = self.group_cls.__getitem__
        if self.unit:
            return Counter(map(get_cls, self.exp_g[p]))
        return Counter(map(add, map(mul, map(get_cls, self.exp_g[p]), repeat(self.kmax)), self.exp_k[p]))

    def money(self, p: int, hist: Counter[int] | None = None) -> Fraction:
        """What the supporters of p have left together."""
        h = self.histogram(p) if hist is None else hist
        cls_v = self.cls_v
        return sum((w * cls_v[self._cls(key)] for key, w in h.items()), ZERO)

    def evaluate(self, p: int) -> _Eval | None:
        """The price of p for its supporters (None: they cannot afford it)."""
        h = self.histogram(p)
        cost = self.costs[p]
        track, bound, cls_v, cls_s, unit, kmax = self.track, self.bound, self.cls_v, self.cls_s, self.unit, self.kmax
        entries = []
        money_v = ZERO
        money_s = ZERO
        for key, w in h.items():
            c, k = (key, 1) if unit else divmod(key, kmax)
            v = cls_v[c]
            money_v += w * v
            if track:
                money_s += w * cls_s[c]
            entries.append((v / k if k != 1 else v, key, w, k))
        if money_v < cost:
            if track:
                bound.keep(cost - money_v, -money_s)
            return None
        if track:
            bound.keep(money_v - cost, money_s)
        entries.sort(key=_first)
        rem_v = Fraction(cost)
        rem_s = ZERO
        big_k = sum(w * k for _, _, w, k in entries)
        full: set[int] = set()
        for r, key, w, k in entries:
            if r * big_k >= rem_v:
                break
            c = self._cls(key)
            rem_v -= w * cls_v[c]
            if track:
                rem_s -= w * cls_s[c]
            big_k -= w * k
            full.add(key)
        lam_v = rem_v / big_k
        lam_s = rem_s / big_k if track else ZERO
        if track:
            for _r, key, _w, k in entries:
                c = self._cls(key)
                rv, rs = cls_v[c] / k, cls_s[c] / k
                if key in full:
                    bound.keep(lam_v - rv, lam_s - rs)
                else:
                    bound.keep(rv - lam_v, rs - lam_s)
        return _Eval(lam_v / cost, lam_s / cost, lam_v, lam_s, full, money_v, h)

    def buy(self, p: int, rnd: int, ev: _Eval) -> Purchase:
        """Every supporter of p pays the price (times k), or all they have left when that is less."""
        h = ev.hist
        cls_v, cls_s, merge, group_cls = self.cls_v, self.cls_s, self.merge, self.group_cls
        unit, kmax = self.unit, self.kmax
        supporters = sum(h.values())
        full_payers = sum(w for key, w in h.items() if key in ev.full)
        full_paid = sum((w * cls_v[self._cls(key)] for key, w in h.items() if key in ev.full), ZERO)
        new_cls: dict[int, int] = {}
        for g, k in self.sup[p]:
            c = group_cls[g]
            key = c if unit else c * kmax + k
            nc = new_cls.get(key)
            if nc is None:
                if key in ev.full:
                    value = (ZERO, ZERO)
                else:
                    value = (cls_v[c] - ev.lam_v * k, cls_s[c] - ev.lam_s * k if self.track else ZERO)
                nc = merge.get(value)
                if nc is None:
                    nc = len(cls_v)
                    cls_v.append(value[0])
                    cls_s.append(value[1])
                    merge[value] = nc
                new_cls[key] = nc
            group_cls[g] = nc
        return Purchase(
            project=p,
            round=rnd,
            rho=ev.rho_v,
            price=ev.lam_v,
            supporters=supporters,
            full_payers=full_payers,
            full_paid=full_paid,
            partial_payers=supporters - full_payers,
            money_before=ev.money,
            money_after=ev.money - self.costs[p],
        )


def run_mes(prep: Prepared, beta: Fraction, track: bool = False) -> MesRun:
    """One run of MES with per-voter money beta; with track, also the increment up to which none of
    its comparisons flips (next_t)."""
    costs = prep.costs
    n_proj = len(costs)
    beta = Fraction(beta)
    state = _State(prep, beta, track)
    exp_k = state.exp_k
    bound = state.bound
    rho_bound: dict[int, tuple[Fraction, Fraction]] = {}
    heap: list[tuple[Fraction, int, int]] = []
    dropped: dict[int, tuple[int, Fraction]] = {}
    for p in range(n_proj):
        total_k = sum(exp_k[p])
        if total_k == 0:
            dropped[p] = (0, ZERO)
            continue
        rho0 = Fraction(1, total_k)
        rho_bound[p] = (rho0, ZERO)
        heap.append((rho0, prep.tie_rank[p], p))
    heapq.heapify(heap)
    evaluations = 0
    purchases: list[Purchase] = []
    rnd = 0
    while heap:
        rnd += 1
        best: tuple[Fraction, int, int] | None = None
        best_eval: _Eval | None = None
        put_back: list[tuple[Fraction, int, int]] = []
        while heap:
            rv, tr, p = heap[0]
            if best is not None and (rv, tr) > (best[0], best[1]):
                break
            heapq.heappop(heap)
            evaluations += 1
            ev = state.evaluate(p)
            if ev is None:
                dropped[p] = (rnd, state.money(p))
                continue
            rho_bound[p] = (ev.rho_v, ev.rho_s)
            entry = (ev.rho_v, tr, p)
            if best is None or (ev.rho_v, tr) < (best[0], best[1]):
                if best is not None:
                    put_back.append(best)
                best, best_eval = entry, ev
            else:
                put_back.append(entry)
        if best is None or best_eval is None:
            break
        for entry in put_back:
            heapq.heappush(heap, entry)
        if track:
            for _rv, _tr, p in heap:
                bv, bs = rho_bound[p]
                bound.keep(bv - best_eval.rho_v, bs - best_eval.rho_s)
        purchases.append(state.buy(best[2], rnd, best_eval))
    return MesRun(beta, purchases, dropped, bound.t if track else None, evaluations)


def total_cost(prep: Prepared, winners: list[int]) -> int:
    return sum(prep.costs[p] for p in winners)


def is_exhaustive(prep: Prepared, winners: list[int], budget: int, all_projects: bool) -> bool:
    """No other project (with at least one supporter, unless all_projects) fits in what is left."""
    left = budget - total_cost(prep, winners)
    chosen = set(winners)
    for p, cost in enumerate(prep.costs):
        if p in chosen or (not all_projects and prep.votes[p] == 0):
            continue
        if cost <= left:
            return False
    return True


class Engine(Protocol):
    """How the Add1 loops get runs: `run(t)` gives the winners at increment t (any object with a
    `winners` list), `next_increment` the next increment at which they can change (None: never),
    `final` the exact MesRun reported for increment t."""

    name: str
    runs: int

    def beta(self, t: int) -> Fraction: ...

    def run(self, t: int) -> Any: ...

    def next_increment(self, t: int, run: Any) -> int | None: ...

    def final(self, t: int, run: Any | None = None) -> MesRun: ...

    def diagnostics(self) -> dict[str, Any]: ...


class ExactEngine:
    """Exact runs only (standard library): each run tracks the first increment at which one of its
    comparisons can flip, and the loops jump there."""

    name = "exact"

    def __init__(self, prep: Prepared, beta0: Fraction, step: int = 1) -> None:
        self.prep, self.beta0, self.step, self.runs = prep, Fraction(beta0), step, 0

    def beta(self, t: int) -> Fraction:
        """Per-voter money at increment t (each increment adds `step`: 1 of the election's unit)."""
        return self.beta0 + t * self.step

    def run(self, t: int) -> MesRun:
        self.runs += 1
        return run_mes(self.prep, self.beta(t), track=True)

    def next_increment(self, t: int, run: MesRun) -> int | None:
        if run.next_t is None:
            return None
        return t + max(1, math.ceil(run.next_t / self.step))

    def final(self, t: int, run: MesRun | None = None) -> MesRun:
        if run is None:
            self.runs += 1
            return run_mes(self.prep, self.beta(t))
        return run

    def diagnostics(self) -> dict[str, Any]:
        return {"engine": "exact", "exact_runs": self.runs}


@dataclass
class Add1Result:
    run: MesRun
    iterations: int  # MES runs made
    increment: int  # per-voter increment of the final outcome (over the start)


Progress = Callable[[int, int, str], None]


def add1_until_exhaustive(
    engine: Engine, prep: Prepared, budget: int, all_projects: bool, progress: Progress | None
) -> Add1Result:
    """Per-voter money beta0, beta0 + 1, ...: the first exhaustive outcome; if an outcome goes over the
    budget first, the one before it."""
    t = 0
    while True:
        run = engine.run(t)
        spent = total_cost(prep, run.winners)
        if progress:
            progress(min(spent, budget), budget, f"per-voter budget {engine.beta(t)}")
        if spent > budget and t > 0:  # at t = 0 MES never overspends
            # the previous outcome holds for every increment up to t - 1: report it at t - 1
            final = engine.final(t - 1)
            return Add1Result(final, engine.runs, t - 1)
        if spent > budget or is_exhaustive(prep, run.winners, budget, all_projects):
            return Add1Result(engine.final(t, run), engine.runs, t)
        nxt = engine.next_increment(t, run)
        if nxt is None:  # no amount of extra money changes this outcome
            return Add1Result(engine.final(t, run), engine.runs, t)
        t = nxt


def add1_while_next_fits(
    engine: Engine,
    prep: Prepared,
    budget: int,
    stop_when_exhaustive: bool,
    all_projects: bool,
    progress: Progress | None,
) -> Add1Result:
    """Per-voter money beta0 + t for the largest t (stepping by 1 from 0) whose next outcome (t + 1)
    still fits in the budget; with stop_when_exhaustive, stop earlier at an exhaustive outcome."""
    t = 0
    run = engine.run(0)
    while True:
        if stop_when_exhaustive and is_exhaustive(prep, run.winners, budget, all_projects):
            break
        nxt = engine.next_increment(t, run)
        if nxt is None:
            break
        candidate = engine.run(nxt)
        spent = total_cost(prep, candidate.winners)
        if progress:
            progress(min(spent, budget), budget, f"per-voter budget {engine.beta(nxt)}")
        if spent > budget:
            # every increment from t to nxt - 1 gives the outcome of t; the loop stepping by 1 ends at nxt - 1
            return Add1Result(engine.final(nxt - 1), engine.runs, nxt - 1)
        run, t = candidate, nxt
    return Add1Result(engine.final(t, run), engine.runs, t)
