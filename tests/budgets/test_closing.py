"""Closing a budget end to end: the published ballots file, the outcome job (Huey, immediate mode)
with progress, the public decision, explanations, receipts, recomputing from the file alone, Pabulib
imports that report every bad line, exports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from budgets import ballots as b
from budgets import closing
from budgets import services as s
from budgets.explain import explain
from budgets.models import Ballot, BallotItem, Budget, BudgetResult, Project, ResultStatus
from budgets.outcomes.pabulib import parse
from decidim_py.db import db, run_after_commit
from decidim_py.errors import InvalidState
from decidim_py.permissions import NotAllowed
from decidim_py.testing import make_admin, make_user
from decidim_py.transparency.models import DecisionRecord
from tests.budgets.conftest import make_budget, make_component

ROOT = Path(__file__).resolve().parents[2]
ANY = {"vote_rule_threshold_percent_enabled": False, "vote_rule_minimum_budget_projects_enabled": True,
       "vote_minimum_budget_projects_number": 1}  # any non-empty ballot within the budget


def _vote(org, budget, *indexes):
    user = make_user(org)
    for i in indexes:
        b.add_project(user, budget.projects[i])
    return b.checkout_ballot(user, budget)


def _close(admin, budget) -> BudgetResult:
    result = closing.close_voting(admin, budget)
    db.session.commit()
    run_after_commit()  # as after a request: the job is queued (Huey immediate mode runs it now)
    db.session.expire_all()
    return db.session.get(BudgetResult, result.id)


def _decision(action: str) -> DecisionRecord:
    return db.session.scalars(select(DecisionRecord).where(DecisionRecord.action == action)).one()


def test_close_publishes_the_file_and_the_job_publishes_the_outcome(app, org):
    admin = make_admin(org)
    c = make_component(org, settings=ANY)
    budget = make_budget(c, 100_000, (60_000, 50_000, 40_000, 30_000))
    codes = [_vote(org, budget, 0), _vote(org, budget, 0, 3), _vote(org, budget, 1, 2), _vote(org, budget, 1)]
    unfinished = make_user(org)
    b.add_project(unfinished, budget.projects[2])  # never checked out: discarded at closing
    result = _close(admin, budget)
    assert result.status == ResultStatus.DONE
    pb = parse(result.ballots_file)
    assert len(pb.votes) == 4 and pb.meta["rule"] == "greedy" and pb.meta["budget"] == "1000"
    assert {v["receipt_sha256"] for v in pb.votes} == {b.receipt_sha256(code) for code in codes}
    assert {v["source"] for v in pb.votes} == {"online"}
    assert all(v["voter_id"] not in {str(i) for i in range(100)} for v in pb.votes)  # no row ids
    assert db.session.scalar(select(func.count()).select_from(Ballot)) == 4
    close = _decision("budgets.budget.close")
    assert close.changes["ballots_sha256"] == result.ballots_sha256 == closing.sha256_text(result.ballots_file)
    assert close.changes["ballots"] == 4
    outcome = _decision("budgets.budget.outcome")
    p = budget.projects
    # greedy by votes: 0 (2 votes, 600) and 1 (2 votes, 500) tie on votes → lowest cost first: 1, then 0 fits?
    assert outcome.changes["rule"] == "greedy" and outcome.changes["ballots_sha256"] == result.ballots_sha256
    winners = [w["project"] for w in outcome.changes["winners"]]
    assert winners == [p[1].id, p[3].id]  # 1 (500), then 0 does not fit (1100), 3 (300) fits; 2 does not
    assert [x.is_selected for x in p] == [False, True, False, True]
    assert outcome.changes["total_cost"] == 80_000 and outcome.actor_id is None  # the system applied the rule
    sentences = explain(budget, result.outcome)
    assert "Selected: with 2 votes" in str(sentences[p[1].id])
    assert "Not selected: it costs" in str(sentences[p[0].id])
    match = closing.find_receipt(result, codes[1])
    assert match is not None and sorted(match.project_ids) == [p[0].id, p[3].id]
    assert closing.find_receipt(result, "AAAA-BBBB") is None
    with pytest.raises(NotAllowed) as exc:
        b.add_project(make_user(org), p[0])
    assert exc.value.verdict.code == "budget_closed"
    with pytest.raises(InvalidState, match="already closed"):
        closing.close_voting(admin, budget)


def test_recompute_from_the_published_file_alone(app, org, tmp_path):
    admin = make_admin(org)
    c = make_component(org, settings=ANY, step={"votes": "disabled"})
    budget = make_budget(c, 100_000, (40_000, 35_000, 30_000, 25_000, 20_000))
    s.set_outcome_rule(admin, budget, "mes_add1", {"completion": "greedy"}, ["lowest_cost", "lot"], "seed")
    from decidim_py.accounts.system import SystemActor
    from decidim_py.components import update_component

    update_component(SystemActor(org.id), c, step_values={c.space.steps[0].id: {"votes": "enabled"}})
    for ballot in [(0, 1), (0, 1), (0, 2), (3, 4), (3, 4), (2, 4), (0,), (1, 2)]:
        _vote(org, budget, *ballot)
    result = _close(admin, budget)
    assert result.status == ResultStatus.DONE and result.outcome["rule"] == "mes_add1"
    assert result.progress_total > 0 and result.progress_done == result.progress_total
    path = tmp_path / "ballots.pb"
    path.write_text(result.ballots_file, encoding="utf-8")
    winners = ",".join(result.outcome["winners"])
    run = subprocess.run([sys.executable, "-m", "budgets.outcomes", "recompute", str(path), "--expect-winners",
                          winners, "--check-sha256", result.ballots_sha256], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    wrong = subprocess.run([sys.executable, "-m", "budgets.outcomes", "recompute", str(path), "--expect-winners",
                            str(budget.projects[0].id)], cwd=ROOT, capture_output=True, text=True)
    assert wrong.returncode == 1
    sentences = [str(x) for x in explain(budget, result.outcome).values()]
    assert any("Method of Equal Shares: its" in x and "supporters shared" in x for x in sentences)


def test_a_failed_job_is_shown_and_can_run_again(app, org):
    admin = make_admin(org)
    c = make_component(org, settings=ANY)
    budget = make_budget(c, 100_000, (60_000,))
    _vote(org, budget, 0)
    budget.outcome_params = {"completion": "never"}  # as if the stored rule were broken
    db.session.flush()
    result = _close(admin, budget)
    assert result.status == ResultStatus.FAILED and "completion" in result.error
    assert db.session.scalar(select(func.count()).select_from(DecisionRecord).where(
        DecisionRecord.action == "budgets.budget.outcome")) == 0
    with pytest.raises(NotAllowed):
        closing.rerun_outcome(make_user(org), budget)
    budget = db.session.get(Budget, budget.id)
    budget.outcome_params = {}
    closing.rerun_outcome(admin, budget)
    db.session.commit()
    run_after_commit()
    db.session.expire_all()
    result = db.session.get(BudgetResult, result.id)
    assert result.status == ResultStatus.DONE and result.outcome["winners"] == [str(budget.projects[0].id)]
    with pytest.raises(InvalidState, match="already published"):
        closing.rerun_outcome(admin, budget)


GOOD_FILE = """META
key;value
description;Paper ballots
num_projects;2
num_votes;3
budget;1000
vote_type;approval
PROJECTS
project_id;cost;name
{a};600;Benches
{b};300;Trees
VOTES
voter_id;vote
p1;{a}
p2;{a},{b}
p3;{b}
"""


def test_import_paper_ballots_counted_and_marked(app, org):
    admin = make_admin(org)
    c = make_component(org, settings=ANY)
    budget = make_budget(c, 100_000, (60_000, 30_000))
    a, bb = budget.projects
    _vote(org, budget, 0)
    assert closing.import_ballots(admin, budget, GOOD_FILE.format(a=a.id, b=bb.id)) == 3
    db.session.expire_all()
    assert budget.ballots_count == 4 and [p.votes_count for p in budget.projects] == [3, 2]
    assert db.session.scalar(select(func.count()).select_from(Ballot).where(Ballot.is_imported.is_(True))) == 3
    record = db.session.scalars(select(DecisionRecord).where(DecisionRecord.action == "budgets.ballots.import")).one()
    assert record.changes["ballots"] == 3
    result = _close(admin, budget)
    sources = sorted(v["source"] for v in parse(result.ballots_file).votes)
    assert sources == ["imported", "imported", "imported", "online"]


def test_import_into_an_empty_budget_creates_its_projects(app, org):
    admin = make_admin(org)
    c = make_component(org, settings=ANY)
    budget = make_budget(c, 100_000)
    assert closing.import_ballots(admin, budget, GOOD_FILE.format(a="x1", b="x2")) == 3
    db.session.refresh(budget)
    assert [(p.title["en"], p.cost) for p in budget.projects] == [("Benches", 60_000), ("Trees", 30_000)]


BAD_FILE = """META
key;value
budget;1000
vote_type;approval
PROJECTS
project_id;cost;name
1;600;Benches
1;300;Twice
2;abc;Bad cost
VOTES
voter_id;vote
v1;1,9
v2;1;extra
v1;2
"""


def test_import_reports_every_bad_line_and_writes_nothing(app, org):
    admin = make_admin(org)
    c = make_component(org, settings=ANY)
    budget = make_budget(c, 100_000)
    with pytest.raises(closing.ImportProblems) as exc:
        closing.import_ballots(admin, budget, BAD_FILE)
    lines = sorted({n for n, _m in exc.value.errors})
    assert {8, 9, 12, 13, 14} <= set(lines), exc.value.errors
    assert db.session.scalar(select(func.count()).select_from(Project)) == 0
    assert db.session.scalar(select(func.count()).select_from(Ballot)) == 0


def test_import_checks_our_rules_and_projects(app, org):
    admin = make_admin(org)
    c = make_component(org, settings=ANY)
    budget = make_budget(c, 50_000, (60_000, 30_000))  # project 1 alone is over the budget
    a, bb = budget.projects
    text = GOOD_FILE.format(a=a.id, b=bb.id).replace("budget;1000", "budget;500")
    with pytest.raises(closing.ImportProblems) as exc:
        closing.import_ballots(admin, budget, text)
    messages = [m for _n, m in exc.value.errors]
    assert sum("over the budget" in m for m in messages) == 2  # p1 (600) and p2 (900)
    wrong = GOOD_FILE.format(a=a.id, b=bb.id).replace(f"{bb.id};300", f"{bb.id};301")
    with pytest.raises(closing.ImportProblems) as exc:
        closing.import_ballots(admin, make_budget(c, 100_000, (60_000, 30_000)), wrong)
    assert any("is not a project of this budget" in m or "costs" in m for _n, m in exc.value.errors)
    assert db.session.scalar(select(func.count()).select_from(BallotItem)) == 0


def test_results_exports(app, org):
    admin = make_admin(org)
    c = make_component(org, settings=ANY)
    budget = make_budget(c, 100_000, (60_000, 30_000))
    _vote(org, budget, 0, 1)
    result = _close(admin, budget)
    rows = closing.results_rows(c)
    assert [(r["project_id"], r["selected"]) for r in rows] == [(p.id, "yes") for p in budget.projects]
    doc = closing.results_document(budget, result)
    json.dumps(doc)
    assert doc["ballots_sha256"] == result.ballots_sha256 and doc["outcome"]["winners"]
