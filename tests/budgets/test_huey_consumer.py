"""The outcome job through a real Huey consumer (not immediate mode): closing queues the task on a
queue of this test's own (a SQLite file), a `huey_consumer` process started here builds the
application from the environment (as in production: DECIDIM_DATABASE_URL, DECIDIM_HUEY_URL), takes
the task and computes the outcome from the published file; the test reads what the worker wrote.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from huey.storage import SqliteStorage
from sqlalchemy import select

from budgets import ballots as b
from budgets import closing
from budgets.models import BudgetResult, Project, ResultStatus
from decidim_py.db import db, run_after_commit
from decidim_py.jobs import huey
from decidim_py.testing import make_admin, make_user
from decidim_py.transparency.models import DecisionRecord
from tests.budgets.conftest import make_budget, make_component

ROOT = Path(__file__).resolve().parents[2]
ANY = {"vote_rule_threshold_percent_enabled": False, "vote_rule_minimum_budget_projects_enabled": True,
       "vote_minimum_budget_projects_number": 1}


@pytest.fixture
def queue(app: Any, tmp_path: Path) -> Iterator[Path]:
    """The application's Huey, not immediate, on a SQLite queue file of this test (restored after)."""
    path = tmp_path / "huey.sqlite3"
    saved = huey.immediate, huey.immediate_use_memory, huey.storage
    huey.immediate_use_memory = False  # switching immediate mode off must not open the instance's queue
    huey.immediate = False
    huey.storage = SqliteStorage(huey.name, filename=str(path))
    yield path
    huey.storage.close()
    huey.storage = saved[2]
    huey.immediate = saved[0]
    huey.immediate_use_memory = saved[1]


def _start_consumer(database_url: str, queue: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DECIDIM_DATABASE_URL": database_url, "DECIDIM_HUEY_URL": f"sqlite:///{queue}",
           "DECIDIM_HUEY_IMMEDIATE": "0", "DECIDIM_SECRET_KEY": "huey-consumer-test"}
    with log.open("wb") as out:
        return subprocess.Popen([sys.executable, "-m", "huey.bin.huey_consumer", "decidim_py.jobs.huey",
                                 "-w", "1", "-k", "thread", "-n", "-d", "0.1", "-m", "0.5"],
                                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)  # the consumer's graceful shutdown
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _read_result(result_id: int) -> BudgetResult:
    db.session.rollback()
    db.session.expire_all()
    return db.session.get(BudgetResult, result_id)


def test_a_real_consumer_computes_the_outcome_and_records_the_decision(app, org, database_url, queue, tmp_path):
    admin = make_admin(org)
    c = make_component(org, settings=ANY)
    budget = make_budget(c, 100_000, (60_000, 50_000, 40_000, 30_000))
    for indexes in ((0,), (0, 3), (1, 2), (1,), (1, 3)):
        user = make_user(org)
        for i in indexes:
            b.add_project(user, budget.projects[i])
        b.checkout_ballot(user, budget)
    result = closing.close_voting(admin, budget)
    db.session.commit()
    run_after_commit()  # as at the end of the request: the job is queued, not run
    result_id, budget_id = result.id, budget.id
    assert huey.pending_count() == 1
    assert _read_result(result_id).status == ResultStatus.QUEUED  # nothing ran in this process

    log = tmp_path / "consumer.log"
    proc = _start_consumer(database_url, queue, log)
    try:
        deadline = time.monotonic() + 90
        seen = []
        while time.monotonic() < deadline:
            current = _read_result(result_id)
            seen.append(current.status)
            if current.status in (ResultStatus.DONE, ResultStatus.FAILED) or proc.poll() is not None:
                break
            time.sleep(0.2)
    finally:
        _stop(proc)
    output = log.read_text(errors="replace")
    current = _read_result(result_id)
    assert current.status == ResultStatus.DONE, (seen[-3:], current.error, output[-3000:])
    assert "compute_outcome_job" in output  # the consumer process ran it
    assert huey.pending_count() == 0
    # stored outcome, progress written by the worker, winners marked, the public decision
    assert current.outcome is not None and current.finished_at is not None
    assert current.progress_total > 0 and current.progress_done == current.progress_total
    outcome = db.session.scalars(select(DecisionRecord).where(DecisionRecord.action == "budgets.budget.outcome")).one()
    assert outcome.changes["ballots_sha256"] == current.ballots_sha256
    winners = [w["project"] for w in outcome.changes["winners"]]
    assert winners == [int(w) for w in current.outcome["winners"]] and winners
    selected = db.session.scalars(select(Project.id).where(Project.budget_id == budget_id,
                                                           Project.is_selected.is_(True))).all()
    assert sorted(selected) == sorted(winners)
