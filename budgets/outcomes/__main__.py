"""Recompute a participatory budget's outcome from its published Pabulib file, with the standard library only.

    python -m budgets.outcomes recompute FILE.pb [--rule R] [--param k=v ...] [--tie-breaking K,K]
        [--lot-seed S] [--expect-winners id,id] [--check-sha256 HEX] [--json]
    python -m budgets.outcomes parse-check FILE.pb

Exit status: 0 fine, 1 a check failed (winners or sha256 differ), 2 the file or the arguments are bad.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import sys
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

from .model import TieBreaking
from .pabulib import PabulibError, declared_rule, parse, to_election
from .rules import RULES, compute


def _read(path: str) -> bytes:
    data = Path(path).read_bytes()
    return gzip.decompress(data) if path.endswith(".gz") else data


def _amount(value: int, scale: int) -> str:
    return str(Decimal(value) / scale) if scale != 1 else str(value)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m budgets.outcomes", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    rec = sub.add_parser("recompute", help="compute the outcome from the file alone")
    rec.add_argument("file")
    rec.add_argument("--rule", choices=sorted(RULES), help="default: the rule the file's META declares")
    rec.add_argument("--param", action="append", default=[], metavar="KEY=VALUE", help="a rule parameter")
    rec.add_argument("--tie-breaking", help="comma-separated keys, e.g. lowest_cost,most_votes,lot")
    rec.add_argument("--lot-seed", help="the seed of the lot (with the 'lot' key)")
    rec.add_argument("--expect-winners", help="comma-separated project ids; exit 1 when the winners differ")
    rec.add_argument("--check-sha256", help="the published sha256 of the file; exit 1 when it differs")
    rec.add_argument("--json", action="store_true", help="print the whole outcome as JSON")
    chk = sub.add_parser("parse-check", help="check the file and list every problem")
    chk.add_argument("file")
    args = parser.parse_args(argv)

    try:
        raw = _read(args.file)
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError, gzip.BadGzipFile) as exc:
        print(f"cannot read {args.file}: {exc}", file=sys.stderr)
        return 2
    try:
        pb = parse(text)
    except PabulibError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    if args.command == "parse-check":
        print(f"ok: {len(pb.projects)} projects, {len(pb.votes)} votes, vote type {pb.meta.get('vote_type')}")
        return 0

    failed = False
    if args.check_sha256:
        digest = hashlib.sha256(raw).hexdigest()
        if digest != args.check_sha256.strip().lower():
            print(f"sha256 MISMATCH: the file is {digest}, expected {args.check_sha256}")
            failed = True
        else:
            print(f"sha256 ok: {digest}")
    declared = declared_rule(pb)
    rule = args.rule or (declared[0] if declared else None)
    if rule is None:
        print(f"the file declares no rule we know ({pb.meta.get('rule')!r}): give --rule", file=sys.stderr)
        return 2
    params = dict(declared[1]) if declared and declared[0] == rule else {}
    for item in args.param:
        key, sep, value = item.partition("=")
        if not sep:
            print(f"--param needs KEY=VALUE, not {item!r}", file=sys.stderr)
            return 2
        params[key.strip()] = value.strip()
    tb = declared[2] if declared and declared[2] else TieBreaking()
    if args.tie_breaking:
        order = tuple(k.strip() for k in args.tie_breaking.split(",") if k.strip())
        try:
            tb = TieBreaking(order=order, lot_seed=tb.lot_seed)
        except ValueError as exc:
            print(str(exc), file=sys.stderr)
            return 2
    if args.lot_seed is not None:
        tb = TieBreaking(order=tb.order, lot_seed=args.lot_seed)
    try:
        election = to_election(pb)
        outcome = compute(election, rule, params, tb)
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(outcome.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(f"rule: {rule} {json.dumps(outcome.params, sort_keys=True)}")
        print(tb.describe())
        spent = _amount(outcome.total_cost, election.scale)
        print(f"budget: {_amount(election.budget, election.scale)}, spent: {spent}")
        if outcome.final_voter_budget:
            print(f"final per-voter budget: {outcome.final_voter_budget} (iterations: {outcome.iterations})")
        print(f"winners ({len(outcome.winners)}, in selection order):")
        for pid in outcome.winners:
            print(f"  {pid}\t{_amount(outcome.explanations[pid].cost, election.scale)}")
    if args.expect_winners is not None:
        expected = sorted(p.strip() for p in args.expect_winners.split(",") if p.strip())
        if expected != sorted(outcome.winners):
            print(f"winners MISMATCH: expected {','.join(expected)}, got {','.join(sorted(outcome.winners))}")
            failed = True
        else:
            print("winners ok")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
