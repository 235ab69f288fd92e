"""Ballots under concurrent requests (PostgreSQL): each thread has its own application context and
database session and calls the service, committing like a request does. No ballot ever exceeds the
budget or the rule, nobody gets a second ballot, the workflow holds, the counters stay exact."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from budgets import ballots as b
from budgets.models import Ballot, BallotItem, Budget, Project
from decidim_py.db import db
from decidim_py.errors import InvalidState
from decidim_py.permissions import NotAllowed
from decidim_py.testing import backend, make_user
from tests.budgets.conftest import make_budget, make_component

pytestmark = pytest.mark.skipif(
    backend() != "postgresql",
    reason="row locks under real parallel transactions: run with DECIDIM_TEST_DB=postgresql")

Job = tuple[str, int, int]  # (action, user id, project or budget id)


def _run(action: str, user: Any, target: int) -> None:
    if action == "add":
        b.add_project(user, db.session.get(Project, target))
    elif action == "checkout":
        b.checkout_ballot(user, db.session.get(Budget, target))
    else:
        b.add_project(user, db.session.get(Project, target))
        b.checkout_ballot(user, db.session.get(Project, target).budget)


def _race(app: Any, jobs: list[Job], run: Callable[[str, Any, int], None] = _run) -> dict[str, int]:
    from decidim_py.accounts.models import User

    barrier = threading.Barrier(len(jobs))
    outcomes = {"ok": 0, "refused": 0, "error": 0}
    errors: list[str] = []
    lock = threading.Lock()

    def worker(action: str, user_id: int, target: int) -> None:
        with app.app_context():
            try:
                user = db.session.get(User, user_id)
                db.session.commit()  # start from a fresh transaction, as a request does
                barrier.wait()
                run(action, user, target)
                db.session.commit()
                result = "ok"
            except (NotAllowed, InvalidState):
                db.session.rollback()
                result = "refused"
            except Exception as exc:  # noqa: BLE001 - counted and asserted to be zero
                db.session.rollback()
                result = "error"
                errors.append(repr(exc))
            finally:
                db.session.remove()
        with lock:
            outcomes[result] += 1

    threads = [threading.Thread(target=worker, args=job) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=180)
    assert not errors, errors[:3]
    return outcomes


def _ballot_totals(budget_id: int) -> list[tuple[int, int, bool]]:
    """(ballot id, total cost, checked out) of every ballot of a budget."""
    return [(bid, total or 0, checked is not None) for bid, total, checked in db.session.execute(
        select(Ballot.id, func.sum(Project.cost), Ballot.checked_out_at)
        .outerjoin(BallotItem, BallotItem.ballot_id == Ballot.id)
        .outerjoin(Project, Project.id == BallotItem.project_id)
        .where(Ballot.budget_id == budget_id).group_by(Ballot.id, Ballot.checked_out_at))]


def _counters_exact(budget_id: int) -> None:
    db.session.expire_all()
    budget = db.session.get(Budget, budget_id)
    checked = select(Ballot.id).where(Ballot.budget_id == budget_id, Ballot.checked_out_at.is_not(None))
    assert budget.ballots_count == db.session.scalar(select(func.count()).select_from(checked.subquery()))
    for project in budget.projects:
        real = db.session.scalar(select(func.count()).select_from(BallotItem).where(
            BallotItem.project_id == project.id, BallotItem.ballot_id.in_(checked)))
        assert project.votes_count == real


def test_one_person_50_parallel_adds_and_checkouts(app, org):
    c = make_component(org)  # threshold rule, 70 %
    budget = make_budget(c, 100_000, tuple([30_000] * 10))
    user = make_user(org)
    db.session.commit()
    ids = [p.id for p in budget.projects]
    jobs: list[Job] = [("add", user.id, ids[i % 10]) for i in range(40)] + [("checkout", user.id, budget.id)] * 10
    outcomes = _race(app, jobs)
    db.session.expire_all()
    ballots = _ballot_totals(budget.id)
    assert len(ballots) == 1  # one ballot, never a second one
    (_bid, total, checked_out), = ballots
    assert total <= 100_000 and db.session.scalar(select(func.count()).select_from(BallotItem)) <= 3
    assert outcomes["ok"] == 3 + (1 if checked_out else 0)
    if checked_out:
        assert total >= 70_000
    _counters_exact(budget.id)


def test_200_people_check_out_at_once(app, org):
    c = make_component(org, settings={"vote_rule_threshold_percent_enabled": False,
                                      "vote_rule_selected_projects_enabled": True,
                                      "vote_selected_projects_minimum": 1, "vote_selected_projects_maximum": 1})
    budget = make_budget(c, 100_000, (90_000, 80_000, 70_000, 60_000))
    users = [make_user(org) for _ in range(200)]
    db.session.commit()
    ids = [p.id for p in budget.projects]
    jobs: list[Job] = [("add+checkout", u.id, ids[n % 4]) for n, u in enumerate(users)]
    outcomes = _race(app, jobs)
    assert outcomes == {"ok": 200, "refused": 0, "error": 0}
    db.session.expire_all()
    assert db.session.get(Budget, budget.id).ballots_count == 200
    assert sorted(p.votes_count for p in db.session.get(Budget, budget.id).projects) == [50, 50, 50, 50]
    _counters_exact(budget.id)


def test_100_people_racing_twice_each_get_one_ballot_within_the_budget(app, org):
    c = make_component(org)
    budget = make_budget(c, 100_000, (60_000, 50_000, 40_000))
    users = [make_user(org) for _ in range(100)]
    db.session.commit()
    p = [x.id for x in budget.projects]
    jobs: list[Job] = [job for u in users for job in (("add", u.id, p[0]), ("add", u.id, p[1]))]
    outcomes = _race(app, jobs)
    assert outcomes["error"] == 0 and outcomes["ok"] == 100  # 600 + 500 > 1000: one of the two per person
    db.session.expire_all()
    ballots = _ballot_totals(budget.id)
    assert len(ballots) == 100 and all(total <= 100_000 for _b, total, _c in ballots)


def test_workflow_one_holds_across_budgets_under_races(app, org):
    c = make_component(org)  # workflow "one"
    north, south = make_budget(c, 100_000, (80_000,)), make_budget(c, 100_000, (80_000,))
    users = [make_user(org) for _ in range(50)]
    db.session.commit()
    jobs: list[Job] = [job for u in users for job in (("add+checkout", u.id, north.projects[0].id),
                                                      ("add+checkout", u.id, south.projects[0].id))]
    outcomes = _race(app, jobs)
    assert outcomes == {"ok": 50, "refused": 50, "error": 0}
    db.session.expire_all()
    keys = db.session.scalars(select(Ballot.person_key)).all()
    assert len(keys) == len(set(keys)) == 50  # nobody has a ballot in both budgets
    _counters_exact(north.id)
    _counters_exact(south.id)
