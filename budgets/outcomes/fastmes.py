"""The Method of Equal Shares in floating point (numpy), guarded so that its result is the exact one.

A float run follows exactly the control flow of the exact run (mes.run_mes): the same lazy heap of
(rho, tie rank, project), the same evaluations, drops and purchases. Every comparison it makes is
checked against a rigorous bound on the float error of the two sides (see docs/outcomes.md, "The
fast path"): the money of every voter group carries its own absolute error bound, every sum adds the
rounding error of n terms, every price the error of the money it was computed from. When a margin is
not larger than its bound (a near-tie), the float run stops (Unsure) and the caller runs exactly.
Ties that are exact by construction (two projects whose supporters still hold their initial money:
rho = 1/K for both) are decided exactly on the integers K.

The reported outcome is always exact: the recorded control flow is replayed with Fractions
(exact_replay), on the same money classes, computing only the bought and dropped projects. The Add1
loops use the fact that every quantity of a run is affine in the increment t for as long as the
control flow stays the same: two runs with the same control flow (the same evaluations, capped
supporters, drops and purchases) at t1 and t2 imply the same at every t in between, so the loop
gallops and bisects to the next increment at which the control flow changes.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from .mes import ZERO, MesRun, Purchase, run_mes
from .profile import Prepared

U = 2.0**-53  # unit roundoff of float64
SAFETY = 8.0  # every derived error bound is multiplied by this before a comparison trusts a margin


class Unsure(Exception):
    """A comparison of the float run is within its error bound: the run must be made exactly."""


class _Profile:
    """Per project: the voter groups supporting it (indices), their weights and utility factors."""

    def __init__(self, prep: Prepared) -> None:
        n_proj = len(prep.costs)
        groups = prep.groups
        lengths = np.fromiter((len(items) for _, items in groups), dtype=np.intp, count=len(groups))
        total = int(lengths.sum())
        flat_p = np.fromiter((p for _, items in groups for p, _ in items), dtype=np.intp, count=total)
        flat_k = np.fromiter((k for _, items in groups for _, k in items), dtype=np.intp, count=total)
        flat_g = np.repeat(np.arange(len(groups), dtype=np.intp), lengths)
        flat_w = np.repeat(np.fromiter((w for w, _ in groups), dtype=np.float64, count=len(groups)), lengths)
        order = np.argsort(flat_p, kind="stable")  # by project, groups ascending within each
        cuts = np.cumsum(np.bincount(flat_p, minlength=n_proj))[:-1]
        self.n_groups = len(groups)
        self.g = np.split(flat_g[order], cuts)
        self.w = np.split(flat_w[order], cuts)
        self.k = np.split(flat_k[order], cuts)
        self.unit = bool((flat_k == 1).all())
        self.k1 = 1 if self.unit else int(flat_k.max()) + 1  # keys: class * k1 + k
        self.big_k = [int(w @ k) for w, k in zip(self.w, self.k, strict=True)]
        self.cost = [float(c) for c in prep.costs]
        self.zero_support = [p for p in range(n_proj) if self.big_k[p] == 0]


def profile(prep: Prepared) -> _Profile:
    cached = prep.cache.get("fast")
    if cached is None:
        cached = _Profile(prep)
        prep.cache["fast"] = cached
    return cached


@dataclass
class FloatRun:
    winners: list[int]
    rounds: list[_Step]  # the control flow, for the exact replay
    signature: tuple[Any, ...]  # the control flow with the capped supporters of every evaluation
    min_margin: float  # smallest relative margin of a comparison decided in floats
    max_bound: float  # largest relative error bound used


class ReplayMismatch(Exception):
    """The exact replay of a recorded run disagrees with the record (the caller runs exactly instead)."""


@dataclass
class _Step:
    """One round of a float run, as the exact replay needs it: the projects found unaffordable (with
    their supporters per money class), how many were evaluated, the project bought (-1: none, the last
    round) with its supporters per class, which classes paid all they had, and the float price with
    its error bound."""

    drops: list[tuple[int, np.ndarray, np.ndarray]]
    evaluations: int
    winner: int = -1
    present: np.ndarray | None = None
    weights: np.ndarray | None = None
    capped: np.ndarray | None = None
    lam: float = 0.0
    err: float = 0.0


@dataclass
class _Ev:
    rho: float
    lam: float
    err: float  # absolute error bound of lam
    keys: np.ndarray  # per supporting group: its money class (times k1, plus k with scores)
    present: np.ndarray  # the distinct keys among the supporters
    w: np.ndarray  # supporters per present key
    capped: np.ndarray  # bool per present key: pays all it has
    exact_k: int | None  # rho is exactly 1 / exact_k (every capped supporter had exactly nothing left)


class _Run:
    """One float run. Voters are in money classes (groups that supported the same bought projects and
    paid the same way have the same money): class money mc, with its absolute error bound ec."""

    def __init__(self, fp: _Profile, prep: Prepared, beta: Fraction) -> None:
        self.fp, self.prep = fp, prep
        self.bmax = float(beta)
        self.gcls = np.zeros(fp.n_groups, dtype=np.intp)  # class of each group
        self.mc = np.array([self.bmax])
        self.ec = np.array([U * self.bmax])
        self.tol = SAFETY * 2 * U  # relative error bound of every key in the heap (a running maximum)
        self.min_margin = math.inf
        self.exact_k: dict[int, int | None] = {}  # project -> K when its key is exactly 1/K

    # -- comparisons -------------------------------------------------------------------------------
    def _margin(self, a: float, b: float) -> None:
        rel = abs(a - b) / max(abs(a), abs(b), 1e-300)
        if rel < self.min_margin:
            self.min_margin = rel

    def less(self, a: tuple[float, int, int], b: tuple[float, int, int]) -> bool:
        """(rho_a, tie_a) < (rho_b, tie_b) in exact arithmetic, or Unsure."""
        tol = self.tol
        if a[0] * (1 + tol) < b[0] * (1 - tol):
            self._margin(a[0], b[0])
            return True
        if b[0] * (1 + tol) < a[0] * (1 - tol):
            self._margin(a[0], b[0])
            return False
        ka, kb = self.exact_k[a[2]], self.exact_k[b[2]]
        if ka is None or kb is None:
            raise Unsure
        return (-ka, a[1]) < (-kb, b[1])

    def below_all(self, x: tuple[float, int, int], heap: list[tuple[float, int, int]]) -> None:
        """x is exactly below every entry of the heap (so the exact run pops in the same order)."""
        if not heap:
            return
        tol = self.tol
        if x[0] * (1 + tol) < heap[0][0] * (1 - tol):  # the heap's top is the smallest float
            self._margin(x[0], heap[0][0])
            return
        for y in heap:
            if y[0] * (1 - tol) <= x[0] * (1 + tol) and not self.less(x, y):
                raise Unsure

    def above_all(self, best: tuple[float, int, int], heap: list[tuple[float, int, int]]) -> bool:
        """Whether every heap entry is exactly above best (the round ends), or Unsure."""
        tol = self.tol
        top = heap[0]
        if best[0] * (1 + tol) < top[0] * (1 - tol):
            self._margin(best[0], top[0])
            return True
        if not self.less(best, top):
            return False
        for y in heap:
            if y[0] * (1 - tol) <= best[0] * (1 + tol) and not self.less(best, y):
                raise Unsure  # the float heap order is not the exact one here
        return True

    # -- one project -------------------------------------------------------------------------------
    def evaluate(self, p: int) -> _Ev | tuple[np.ndarray, np.ndarray]:
        """The price of p (or, when its supporters cannot afford it, their keys and weights)."""
        fp = self.fp
        gi = fp.g[p]
        k1 = fp.k1
        keys = self.gcls[gi] if k1 == 1 else self.gcls[gi] * k1 + fp.k[p]
        hist = np.bincount(keys, weights=fp.w[p])
        present = np.flatnonzero(hist)
        w = hist[present]  # supporters per key
        if k1 == 1:
            mv, ev_ = self.mc[present], self.ec[present]
            kk = np.ones(present.size)
            r = mv
        else:
            cls = present // k1
            kk = (present % k1).astype(np.float64)
            mv, ev_ = self.mc[cls], self.ec[cls]
            r = mv / kk
        cost = fp.cost[p]
        money = float(mv @ w)
        err = float(ev_ @ w) + (present.size + 4) * U * money
        if money + SAFETY * err < cost:
            self._margin(money, cost)
            return present, w
        if money - SAFETY * err < cost:
            raise Unsure
        self._margin(money, cost)
        big_k = fp.big_k[p]
        wk = w * kk
        # supporters with exactly nothing left (paid all they had: 0.0 with no error) pay nothing; when
        # all the others can pay cost / K' (K' = their weight), the price is exactly that: rho = 1/K'
        empty = (mv == 0.0) & (ev_ == 0.0)
        k_eff = big_k - int(wk @ empty) if empty.any() else big_k
        lam0 = cost / k_eff
        rmin = float(r[~empty].min())
        slack = float(ev_.max()) + 2 * U * (rmin + lam0)
        if rmin - lam0 > SAFETY * slack:
            self._margin(rmin, lam0)
            self.tol = max(self.tol, SAFETY * 2 * U)
            return _Ev(1.0 / k_eff, lam0, SAFETY * U * lam0, keys, present, w, empty, k_eff)
        # the price lam solves sum of w * min(money, lam * k) = cost; the supporters with r < lam pay all
        # they have. lam is at least lam0, so start with those below lam0 and grow the set to the fixed
        # point (each step raises lam); then check that it is certain: every capped r clearly below lam,
        # every other clearly above
        wm = mv * w
        capped = r < lam0
        count = int(np.count_nonzero(capped))
        for _ in range(len(r) + 1):
            k_part = big_k - float(wk @ capped)
            if k_part <= 0:
                raise Unsure
            lam = (cost - float(wm @ capped)) / k_part
            grown = capped | (r < lam)
            grown_count = int(np.count_nonzero(grown))
            if grown_count == count:
                break
            capped, count = grown, grown_count
        err_full = float(ev_ @ (w * capped))
        lam_err = (err_full + (present.size + 4) * U * cost) / k_part + 2 * U * lam
        rest = ~capped
        r_above = float(r[rest].min())
        if r_above - lam <= SAFETY * (lam_err + float(ev_[rest].max()) + 2 * U * r_above):
            raise Unsure
        self._margin(r_above, lam)
        if count:
            r_below = float(r[capped].max())
            if lam - r_below <= SAFETY * (lam_err + float(ev_[capped].max()) + 2 * U * lam):
                raise Unsure
            self._margin(r_below, lam)
        rho = lam / cost
        rel = lam_err / lam + 2 * U
        self.tol = max(self.tol, SAFETY * rel)
        return _Ev(rho, lam, SAFETY * lam_err, keys, present, w, capped, None)

    def buy(self, p: int, ev: _Ev) -> None:
        """Every key of the supporters becomes a new class: money less lam * k, or 0 when capped."""
        fp = self.fp
        k1 = fp.k1
        cls = ev.present if k1 == 1 else ev.present // k1
        kk = 1.0 if k1 == 1 else (ev.present % k1).astype(np.float64)
        old_m, old_e = self.mc[cls], self.ec[cls]
        new_m = np.maximum(old_m - ev.lam * kk, 0.0)  # the exact value is >= 0: clamping only gets closer
        new_e = old_e + ev.err * kk + 2 * U * old_m
        new_m[ev.capped] = 0.0  # pays all they have: exactly nothing left
        new_e[ev.capped] = 0.0
        first = self.mc.size
        lookup = np.empty(int(ev.present[-1]) + 1, dtype=np.intp)
        lookup[ev.present] = np.arange(first, first + ev.present.size)
        self.gcls[fp.g[p]] = lookup[ev.keys]
        self.mc = np.concatenate((self.mc, new_m))
        self.ec = np.concatenate((self.ec, new_e))

    # -- the run -----------------------------------------------------------------------------------
    def run(self) -> FloatRun:
        fp, prep = self.fp, self.prep
        heap: list[tuple[float, int, int]] = []
        for p in range(len(fp.cost)):
            if fp.big_k[p]:
                heap.append((1.0 / fp.big_k[p], prep.tie_rank[p], p))
                self.exact_k[p] = fp.big_k[p]
        heapq.heapify(heap)
        rounds: list[_Step] = []
        signature: list[Any] = []
        winners: list[int] = []
        rnd = 0
        while heap:
            rnd += 1
            best: tuple[float, int, int] | None = None
            best_ev: _Ev | None = None
            put_back: list[tuple[float, int, int]] = []
            step = _Step([], 0)
            sig: list[Any] = []
            while heap:
                if best is not None and self.above_all(best, heap):
                    break
                x = heapq.heappop(heap)
                self.below_all(x, heap)
                p = x[2]
                ev = self.evaluate(p)
                step.evaluations += 1
                if not isinstance(ev, _Ev):
                    step.drops.append((p, ev[0], ev[1]))
                    sig.append((p, None))
                    continue
                # class ids follow from the control flow so far: the capped keys identify the capped set
                sig.append((p, ev.present[ev.capped].tobytes()))
                self.exact_k[p] = ev.exact_k
                entry = (ev.rho, x[1], p)
                if best is None or self.less(entry, best):
                    if best is not None:
                        put_back.append(best)
                    best, best_ev = entry, ev
                else:
                    put_back.append(entry)
            if best is None or best_ev is None:  # only drops: the last round
                rounds.append(step)
                signature.append((tuple(sig), None))
                break
            for entry in put_back:
                heapq.heappush(heap, entry)
            winner = best[2]
            self.buy(winner, best_ev)
            winners.append(winner)
            step.winner, step.lam, step.err = winner, best_ev.lam, best_ev.err
            step.present, step.weights, step.capped = best_ev.present, best_ev.w, best_ev.capped
            rounds.append(step)
            signature.append((tuple(sig), winner))
        return FloatRun(winners, rounds, tuple(signature), self.min_margin, self.tol)


def float_run(prep: Prepared, beta: Fraction) -> FloatRun:
    """One guarded float run of MES with per-voter money beta; raises Unsure at a near-tie."""
    return _Run(profile(prep), prep, Fraction(beta)).run()


def _dot(pairs: Iterable[tuple[int, Fraction]]) -> Fraction:
    """Sum of w * m, exact: in integers per denominator (the classes share few), then as fractions."""
    by_den: dict[int, int] = {}
    for w, m in pairs:
        d = m.denominator
        by_den[d] = by_den.get(d, 0) + w * m.numerator
    return sum((Fraction(n, d) for d, n in by_den.items()), ZERO)


def exact_replay(prep: Prepared, beta: Fraction, steps: list[_Step]) -> MesRun:
    """The exact run whose control flow a float run recorded, in Fractions on the same money classes:
    only the bought and the dropped projects are computed. Every decision is checked exactly (the
    winner affordable and its capped classes exactly those below the price, the dropped unaffordable);
    raises ReplayMismatch if one does not hold."""
    fp = profile(prep)
    k1 = fp.k1
    beta = Fraction(beta)
    mc: list[Fraction] = [beta]  # exact money of each class, numbered as in the float run
    dropped: dict[int, tuple[int, Fraction]] = {p: (0, ZERO) for p in fp.zero_support}
    purchases: list[Purchase] = []
    evaluations = 0

    def entries(present: np.ndarray, weights: np.ndarray) -> list[tuple[Fraction, int, int]]:
        """(money, supporters, k) per key."""
        ws = weights.astype(np.int64).tolist()
        if k1 == 1:
            return [(mc[c], w, 1) for c, w in zip(present.tolist(), ws, strict=True)]
        return [(mc[key // k1], w, key % k1) for key, w in zip(present.tolist(), ws, strict=True)]

    for rnd, step in enumerate(steps, start=1):
        evaluations += step.evaluations
        for p, present, weights in step.drops:
            money = _dot((w, m) for m, w, _ in entries(present, weights))
            if money >= prep.costs[p]:
                raise ReplayMismatch(f"project {prep.ids[p]} was affordable in round {rnd}")
            dropped[p] = (rnd, money)
        if step.winner < 0 or step.present is None or step.weights is None or step.capped is None:
            break
        p = step.winner
        cost = prep.costs[p]
        ents = entries(step.present, step.weights)
        capped = step.capped.tolist()
        money = _dot((w, m) for m, w, _ in ents)
        full_paid = _dot((w, m) for (m, w, _), c in zip(ents, capped, strict=True) if c)
        full_payers = sum(w for (_, w, _), c in zip(ents, capped, strict=True) if c)
        k_part = sum(w * k for (_, w, k), c in zip(ents, capped, strict=True) if not c)
        if money < cost or k_part == 0:
            raise ReplayMismatch(f"project {prep.ids[p]} was not affordable in round {rnd}")
        lam = (cost - full_paid) / k_part
        if any((m < lam * k) != c for (m, _, k), c in zip(ents, capped, strict=True)):
            raise ReplayMismatch(f"project {prep.ids[p]}: other supporters pay all they have in round {rnd}")
        if abs(float(lam) - step.lam) > step.err:
            raise ReplayMismatch(f"project {prep.ids[p]}: price off its bound in round {rnd}")
        mc.extend(ZERO if c else m - lam * k for (m, _, k), c in zip(ents, capped, strict=True))
        supporters = sum(w for _, w, _ in ents)
        purchases.append(
            Purchase(
                project=p,
                round=rnd,
                rho=lam / cost,
                price=lam,
                supporters=supporters,
                full_payers=full_payers,
                full_paid=full_paid,
                partial_payers=supporters - full_payers,
                money_before=money,
                money_after=money - cost,
            )
        )
    return MesRun(beta, purchases, dropped, None, evaluations)


class FastEngine:
    """The Add1 loops' runs in floats (mes.Engine): exact runs only at near-ties, exact replay of the
    reported run, galloping to the next increment at which the control flow changes."""

    name = "fast"

    def __init__(self, prep: Prepared, beta0: Fraction, step: int = 1) -> None:
        self.prep, self.beta0, self.step = prep, Fraction(beta0), step
        self.fp = profile(prep)
        self.runs = self.float_runs = self.exact_runs = self.replays = self.mismatches = 0
        self.min_margin = math.inf
        self.max_bound = 0.0
        self.cache: dict[int, FloatRun | MesRun] = {}
        # from a per-voter budget of twice the total cost on, nobody is ever capped and every project is
        # affordable: the control flow no longer depends on the budget
        cap = (2 * sum(prep.costs) + 1 - self.beta0) / step
        self.cap = max(1, math.ceil(cap))

    def beta(self, t: int) -> Fraction:
        """Per-voter money at increment t (each increment adds `step`: 1 of the election's unit)."""
        return self.beta0 + t * self.step

    def run(self, t: int) -> FloatRun | MesRun:
        hit = self.cache.get(t)
        if hit is not None:
            return hit
        self.runs += 1
        out: FloatRun | MesRun
        try:
            out = float_run(self.prep, self.beta(t))
            self.float_runs += 1
            self.min_margin = min(self.min_margin, out.min_margin)
            self.max_bound = max(self.max_bound, out.max_bound)
        except Unsure:
            self.exact_runs += 1
            out = run_mes(self.prep, self.beta(t), track=True)
        if len(self.cache) > 64:
            self.cache = {k: v for k, v in self.cache.items() if k >= t}
        self.cache[t] = out
        return out

    def _same(self, t: int, signature: tuple[Any, ...]) -> bool:
        run = self.run(t)
        return isinstance(run, FloatRun) and run.signature == signature

    def next_increment(self, t: int, run: FloatRun | MesRun) -> int | None:
        if isinstance(run, MesRun):  # an exact run: its own bound
            if run.next_t is None:
                return None
            return t + max(1, math.ceil(run.next_t / self.step))
        if t >= self.cap:
            return None
        sig = run.signature
        lo, step = t, 1
        while True:
            probe = min(lo + step, self.cap)
            if not self._same(probe, sig):
                hi = probe
                break
            if probe == self.cap:
                return None
            lo, step = probe, step * 2
        while hi - lo > 1:  # the increments with the control flow of t form an interval [t, lo]
            mid = (lo + hi) // 2
            if self._same(mid, sig):
                lo = mid
            else:
                hi = mid
        return hi

    def final(self, t: int, run: FloatRun | MesRun | None = None) -> MesRun:
        found = self.run(t) if run is None else run
        if isinstance(found, MesRun):
            return found
        try:
            out = exact_replay(self.prep, self.beta(t), found.rounds)
        except ReplayMismatch:
            self.mismatches += 1
            return run_mes(self.prep, self.beta(t))
        self.replays += 1
        return out

    def diagnostics(self) -> dict[str, Any]:
        return {
            "engine": "fast",
            "float_runs": self.float_runs,
            "exact_runs": self.exact_runs,
            "exact_replays": self.replays,
            "replay_mismatches": self.mismatches,
            "min_margin": f"{self.min_margin:.3g}" if self.float_runs else None,
            "error_bound": f"{self.max_bound:.3g}" if self.float_runs else None,
        }
