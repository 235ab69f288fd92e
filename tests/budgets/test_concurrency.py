"""Ballots under concurrent requests (PostgreSQL): each thread has its own application context and
database session and calls the service, committing like a request does. No ballot ever exceeds the
budget or the rule, nobody gets a second ballot, the workflow holds, the counters stay exact."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from budgets import ballots as b
from budgets import closing
from budgets.models import Ballot, BallotItem, Budget, Project
from budgets.outcomes.pabulib import parse
from decidim_py.accounts.models import User
from decidim_py.db import db
from decidim_py.errors import InvalidState
from decidim_py.permissions import NotAllowed
from decidim_py.testing import backend, make_admin, make_user, race
from decidim_py.transparency.models import DecisionRecord
from tests.budgets.conftest import make_budget, make_component

pytestmark = pytest.mark.skipif(
    backend() != "postgresql",
    reason="row locks under real parallel transactions: run with DECIDIM_TEST_DB=postgresql")

REFUSALS = (NotAllowed, InvalidState)


def _job(action: str, user_id: int, target: int) -> Callable[[], Callable[[], Any]]:
    """A job of `race()`: load the user (and the project or budget `target`), return the action."""
    def load() -> Callable[[], Any]:
        user = db.session.get(User, user_id)
        if action == "add":
            project = db.session.get(Project, target)
            return lambda: b.add_project(user, project)
        if action == "add+checkout":
            project = db.session.get(Project, target)
            return lambda: (b.add_project(user, project), b.checkout_ballot(user, project.budget))
        budget = db.session.get(Budget, target)
        if action == "checkout":
            return lambda: b.checkout_ballot(user, budget)
        if action == "cancel":
            return lambda: b.cancel_ballot(user, budget)
        assert action == "close"
        return lambda: closing.close_voting(user, budget)
    return load


def _race(app: Any, jobs: list[tuple[str, int, int]]) -> dict[str, int]:
    errors: list[str] = []
    outcomes = race(app, [_job(*job) for job in jobs], REFUSALS, errors)
    assert outcomes["error"] == 0, errors[:3]  # no deadlock, no constraint violation, nothing unexpected
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
    jobs = [("add", user.id, ids[i % 10]) for i in range(40)] + [("checkout", user.id, budget.id)] * 10
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
    jobs = [("add+checkout", u.id, ids[n % 4]) for n, u in enumerate(users)]
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
    jobs = [job for u in users for job in (("add", u.id, p[0]), ("add", u.id, p[1]))]
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
    jobs = [job for u in users for job in (("add+checkout", u.id, north.projects[0].id),
                                                      ("add+checkout", u.id, south.projects[0].id))]
    outcomes = _race(app, jobs)
    assert outcomes == {"ok": 50, "refused": 50, "error": 0}
    db.session.expire_all()
    keys = db.session.scalars(select(Ballot.person_key)).all()
    assert len(keys) == len(set(keys)) == 50  # nobody has a ballot in both budgets
    _counters_exact(north.id)
    _counters_exact(south.id)


def _ballot(org: Any, budget: Budget, indexes: tuple[int, ...], *, checkout: bool) -> User:
    user = make_user(org)
    for i in indexes:
        b.add_project(user, budget.projects[i])
    if checkout:
        b.checkout_ballot(user, budget)
    return user


def test_checkouts_and_cancels_over_shared_projects_never_deadlock(app, org):
    """Ballots touching the same projects, added in different orders, checked out and cancelled at
    once: the counters' rows are taken in id order, so no two transactions wait on each other."""
    c = make_component(org, settings={"vote_rule_threshold_percent_enabled": False,
                                      "vote_rule_minimum_budget_projects_enabled": True,
                                      "vote_minimum_budget_projects_number": 1})
    budget = make_budget(c, 100_000, tuple([20_000] * 5))
    orders = [(0, 2, 4), (4, 2, 0), (3, 1, 0), (0, 1, 3), (2, 3, 4), (4, 3, 2)]
    to_checkout = [_ballot(org, budget, orders[n % 6], checkout=False) for n in range(60)]
    to_cancel = [_ballot(org, budget, orders[(n + 3) % 6], checkout=True) for n in range(60)]
    db.session.commit()
    outcomes = _race(app, [("checkout", u.id, budget.id) for u in to_checkout]
                     + [("cancel", u.id, budget.id) for u in to_cancel])
    assert outcomes == {"ok": 120, "refused": 0, "error": 0}
    db.session.expire_all()
    assert db.session.get(Budget, budget.id).ballots_count == 60
    _counters_exact(budget.id)


def test_closing_while_people_check_out_publishes_exactly_the_checked_out_ballots(app, org):
    """Closing takes the budget's row FOR UPDATE: it waits for the ballots in flight (KEY SHARE), and
    the ballots that come after it are refused. Every checked-out ballot is in the published file, and
    no ballot is checked out after it was built."""
    admin = make_admin(org)
    c = make_component(org, settings={"vote_rule_threshold_percent_enabled": False,
                                      "vote_rule_minimum_budget_projects_enabled": True,
                                      "vote_minimum_budget_projects_number": 1})
    budget = make_budget(c, 100_000, (40_000, 30_000, 20_000))
    started = [_ballot(org, budget, (n % 3,), checkout=False) for n in range(60)]
    cancelling = [_ballot(org, budget, (n % 3, (n + 1) % 3), checkout=True) for n in range(30)]
    newcomers = [make_user(org) for _ in range(60)]
    db.session.commit()
    ids = [p.id for p in budget.projects]
    jobs = ([("checkout", u.id, budget.id) for u in started] + [("cancel", u.id, budget.id) for u in cancelling]
            + [("add+checkout", u.id, ids[n % 3]) for n, u in enumerate(newcomers)] + [("close", admin.id, budget.id)])
    outcomes = _race(app, jobs)
    assert outcomes["ok"] + outcomes["refused"] == len(jobs)
    db.session.expire_all()
    budget = db.session.get(Budget, budget.id)
    assert budget.is_closed
    published = {v["voter_id"]: v["vote"] for v in parse(closing.result_of(budget).ballots_file).votes}
    stored = db.session.execute(select(Ballot.public_id, Ballot.checked_out_at)
                                .where(Ballot.budget_id == budget.id)).all()
    assert all(checked is not None for _pid, checked in stored)  # unfinished ballots were discarded
    assert {pid for pid, _c in stored} == set(published)  # exactly the checked-out ballots, none after
    close = db.session.scalars(select(DecisionRecord).where(DecisionRecord.action == "budgets.budget.close")).one()
    assert close.changes["ballots"] == budget.ballots_count == len(published)
    _counters_exact(budget.id)
