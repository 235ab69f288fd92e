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
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from budgets.outcomes import compute  # noqa: E402
from budgets.outcomes.pabulib import declared_rule, parse, to_election  # noqa: E402
from tests.budgets.outcomes.cases import BY_ID, NOT_IMPLEMENTED, RULE_MAP  # noqa: E402

SHARED = Path("/work/shared/testdata/pabulib")
FIXTURES = ROOT / "tests" / "data" / "pabulib"


def read(data: Path, name: str) -> str:
    plain = data / name
    if plain.exists():
        return plain.read_text(encoding="utf-8")
    return gzip.decompress((data / f"{name}.gz").read_bytes()).decode("utf-8")


def run_pair(pb, election, name: str, rule: str, expected: dict) -> tuple[bool | None, float, int]:
    if rule == "official_rule_reimplemented":
        declared = declared_rule(pb)
        ours, params, tb = declared[0], declared[1], BY_ID
    else:
        ours, params, tb = RULE_MAP[rule]
    start = time.perf_counter()
    outcome = compute(election, ours, params, tb)
    elapsed = time.perf_counter() - start
    want = expected.get("winners")
    return (None if want is None else sorted(outcome.winners) == want), elapsed, outcome.iterations


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, help="folder of .pb files and expected.json")
    parser.add_argument("--check-all", action="store_true", help="every (file, rule) pair of expected.json")
    parser.add_argument("--file", action="append", default=[], help="only these files")
    parser.add_argument("--rule", action="append", default=[], help="only these expected.json rule names")
    args = parser.parse_args()
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
        start = time.perf_counter()
        pb = parse(text)
        parsed = time.perf_counter() - start
        election = to_election(pb)
        total = time.perf_counter() - start
        size = len(text.encode()) / 1e6
        print(
            f"\n{name}: {size:.1f} MB, {len(pb.votes)} votes; parse {parsed:.2f} s (+ election {total - parsed:.2f} s)"
        )
        for rule, entry in expected[name].items():
            if rule == "_instance" or rule in NOT_IMPLEMENTED or (rules and rule not in rules):
                continue
            if rule not in RULE_MAP and rule != "official_rule_reimplemented":
                continue
            ok, elapsed, iterations = run_pair(pb, election, name, rule, entry)
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
            print(f"  {rule:28s} {elapsed:8.2f} s  iterations {iterations:4d}  {verdict}  {ref_text}", flush=True)
    print(f"\n{failures} pair(s) with different winners")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
