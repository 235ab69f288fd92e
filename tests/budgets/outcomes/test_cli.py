"""`python -m budgets.outcomes` recomputes an outcome from the .pb file alone, with Flask and SQLAlchemy
unimportable (a citizen's machine with only Python's standard library)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

from budgets.outcomes import Ballot, Election, Project, TieBreaking, compute
from budgets.outcomes.pabulib import write

from .conftest import DATA, expected

ROOT = Path(__file__).resolve().parents[3]
BLOCKER = (
    "import runpy, sys\n"
    "class Refuse:\n"
    "    def find_spec(self, name, path=None, target=None):\n"
    "        if name.split('.')[0] in ('flask', 'sqlalchemy', 'werkzeug', 'decidim_py', 'flask_babel'):\n"
    "            raise ImportError('blocked: ' + name)\n"
    "        return None\n"
    "sys.meta_path.insert(0, Refuse())\n"
    "sys.argv = ['budgets.outcomes'] + sys.argv[1:]\n"
    "runpy.run_module('budgets.outcomes', run_name='__main__', alter_sys=True)\n"
)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-S", "-c", BLOCKER, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
    )


def test_recompute_a_published_file_with_only_the_standard_library(tmp_path: Path) -> None:
    name = "Netherlands_Assen_2024.pb"
    gz = DATA / f"{name}.gz"
    want = expected()[name]["_instance"]["official_selected"]
    done = run_cli("recompute", str(gz), "--tie-breaking", "project_id", "--expect-winners", ",".join(want))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "rule: mes_add1" in done.stdout and "winners ok" in done.stdout
    wrong = run_cli("recompute", str(gz), "--tie-breaking", "project_id", "--expect-winners", "3")
    assert wrong.returncode == 1 and "winners MISMATCH" in wrong.stdout


def test_our_meta_keys_drive_the_recount_and_the_sha256_is_checked(tmp_path: Path) -> None:
    projects = (Project("a", 500), Project("b", 400), Project("c", 300))
    ballots = tuple(Ballot.approval(s) for s in (["a"], ["a", "b"], ["b", "c"], ["c"], ["a", "c"]))
    election = Election(1000, projects, ballots, "approval")
    tb = TieBreaking(("lot",), lot_seed="drawn-2026-05-01")
    outcome = compute(election, "mes_add1", {"completion": "greedy"}, tb)
    meta = {
        "description": "demo",
        "budget": "10.00",
        "vote_type": "approval",
        "rule": "mes_add1",
        "rule_params": json.dumps({"completion": "greedy"}),
        "tie_breaking": json.dumps(tb.to_dict()),
    }
    rows = {p.id: {"project_id": p.id, "cost": f"{p.cost / 100:.2f}", "name": p.id} for p in projects}
    votes = [{"voter_id": f"v{i}", "vote": ",".join(sorted(b.approved))} for i, b in enumerate(ballots)]
    path = tmp_path / "demo.pb"
    path.write_text(write(meta, rows, votes), encoding="utf-8")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    done = run_cli("recompute", str(path), "--check-sha256", digest, "--expect-winners", ",".join(outcome.winners))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "sha256 ok" in done.stdout and "winners ok" in done.stdout and "'lot'" not in done.stderr
    assert '"completion": "greedy"' in done.stdout
    bad = run_cli("recompute", str(path), "--check-sha256", "0" * 64)
    assert bad.returncode == 1 and "sha256 MISMATCH" in bad.stdout
    as_json = run_cli("recompute", str(path), "--json")
    assert json.loads(as_json.stdout)["winners"] == list(outcome.winners)


def test_parse_check_lists_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "bad.pb"
    path.write_text("META\nkey;value\nvote_type;approval\nPROJECTS\nproject_id;cost\na;0\nVOTES\nvoter_id;vote\n1;z\n")
    done = run_cli("parse-check", str(path))
    assert done.returncode == 2
    assert "line 6: project 'a': bad cost" in done.stderr
    assert "line 9: vote names unknown project(s) z" in done.stderr
    assert "META has no budget" in done.stderr
    good = run_cli("parse-check", str(DATA / "Poland_Swiecie_2023.pb.gz"))
    assert good.returncode == 0 and "22 projects, 2553 votes" in good.stdout
