"""Outcome rules on real Pabulib files: parse time, rule times, winners against expected.json.

    .venv/bin/python bench/outcomes.py                  # Warszawa 2026: parse, plain MES, MES + Add1
    .venv/bin/python bench/outcomes.py --check-all      # every (file, rule) pair of expected.json
    .venv/bin/python bench/outcomes.py --file Poland_Wieliczka_2023_Green_Budget.pb --rule mes_add1

Reads /work/shared/testdata/pabulib/ (or --data DIR) when present, else the gzip copies in
tests/data/pabulib/, and says which.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from budgets.outcomes import compute, rules  # noqa: E402
from budgets.outcomes.pabulib import declared_rule, parse, to_election  # noqa: E402
from tests.budgets.outcomes.cases import BY_ID, NOT_IMPLEMENTED, RULE_MAP  # noqa: E402

SHARED = Path("/work/shared/testdata/pabulib")
FIXTURES = ROOT / "tests" / "data" / "pabulib"


def read(data: Path, name: str) -> str:
    plain = data / name
    if plain.exists():
        return plain.read_text(encoding="utf-8")
    return gzip.decompress((data / f"{name}.gz").read_bytes()).decode("utf-8")


def run_pair(pb, election, name: str, rule: str, expected: dict, engine: str = "auto") -> tuple:
    """(same winners as expected or None, wall s, CPU s, outcome)."""
    if rule == "official_rule_reimplemented":
        declared = declared_rule(pb)
        ours, params, tb = declared[0], declared[1], BY_ID
    else:
        ours, params, tb = RULE_MAP[rule]
    rules.ENGINE = engine
    try:
        start, cpu = time.perf_counter(), time.process_time()
        outcome = compute(election, ours, params, tb)
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    finally:
        rules.ENGINE = "auto"
    want = expected.get("winners")
    return (None if want is None else sorted(outcome.winners) == want), elapsed, cpu, outcome


def describe(diag: dict) -> str:
    if diag.get("engine") == "fast":
        return (
            f"fast: {diag['float_runs']} float runs, {diag['exact_runs']} exact re-checks, "
            f"smallest margin {diag['min_margin']} (error bound {diag['error_bound']})"
        )
    if diag.get("engine") == "exact":
        return f"exact: {diag['exact_runs']} runs"
    return ""


def _comparable(outcome) -> dict:
    return {k: v for k, v in outcome.to_dict().items() if k not in ("diagnostics", "iterations")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, help="folder of .pb files and expected.json")
    parser.add_argument("--check-all", action="store_true", help="every (file, rule) pair of expected.json")
    parser.add_argument("--file", action="append", default=[], help="only these files")
    parser.add_argument("--rule", action="append", default=[], help="only these expected.json rule names")
    parser.add_argument("--engine", default="auto", choices=("auto", "exact", "fast"), help="how MES runs")
    parser.add_argument("--no-exact", action="store_true", help="skip the exact-only comparison of plain MES")
    args = parser.parse_args()
    try:
        import budgets.outcomes.fastmes  # noqa: F401  (numpy imported before timing)

        fast = "numpy fast path available"
    except ImportError:
        fast = "numpy missing: exact path only"
    print(f"{fast}; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    data = args.data or (SHARED if SHARED.is_dir() else FIXTURES)
    print(f"data: {data} ({'shared test data' if data == SHARED else 'the gzip fixtures of the repository'})")
    expected = json.loads((data / "expected.json").read_text())
    if args.check_all or args.file:
        files = args.file or [n for n in expected if n != "_meta"]
        rules = args.rule or None
    else:
        files = ["Poland_Warszawa_2026.pb"]
        rules = args.rule or ["mes_cost", "mes_add1", "mes_add1_greedy", "official_rule_reimplemented"]
    failures = 0
    for name in files:
        text = read(data, name)
        start, cpu = time.perf_counter(), time.process_time()
        pb = parse(text)
        parsed, parsed_cpu = time.perf_counter() - start, time.process_time() - cpu
        election = to_election(pb)
        total, total_cpu = time.perf_counter() - start, time.process_time() - cpu
        size = len(text.encode()) / 1e6
        print(
            f"\n{name}: {size:.1f} MB, {len(pb.votes)} votes; parse {parsed:.2f} s (CPU {parsed_cpu:.2f} s) "
            f"+ election {total - parsed:.2f} s (CPU {total_cpu - parsed_cpu:.2f} s)"
        )
        for rule, entry in expected[name].items():
            if rule == "_instance" or rule in NOT_IMPLEMENTED or (rules and rule not in rules):
                continue
            if rule not in RULE_MAP and rule != "official_rule_reimplemented":
                continue
            ok, elapsed, cpu, outcome = run_pair(pb, election, name, rule, entry, args.engine)
            ref = entry.get("runtime_s")
            verdict = {True: "same winners", False: "DIFFERENT WINNERS", None: "no reference winners"}[ok]
            failures += ok is False
            ref_text = (
                f"reference {ref:.2f} s"
                if ref
                else "reference did not finish"
                if entry.get("pabutools_timeout_s")
                else ""
            )
            print(
                f"  {rule:24s} {elapsed:7.2f} s (CPU {cpu:6.2f} s)  iterations {outcome.iterations:4d}  {verdict}  "
                f"{ref_text}  {describe(outcome.diagnostics)}",
                flush=True,
            )
            if rule == "mes_cost" and not args.check_all and not args.no_exact and args.engine != "exact":
                same, elapsed, cpu, exact = run_pair(pb, election, name, rule, entry, "exact")
                equal = _comparable(exact) == _comparable(outcome)
                print(
                    f"  {'mes_cost, exact only':24s} {elapsed:7.2f} s (CPU {cpu:6.2f} s)  "
                    f"{'the same outcome as the fast path' if equal else 'A DIFFERENT OUTCOME'}",
                    flush=True,
                )
                failures += not equal
    print(f"\n{failures} pair(s) with different winners")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
