"""How many SQL statements a ballot change costs (the throughput of voting depends on it): the
person's lock, the budget's row, the person's ballots with their items in one statement, the
permission checks, the write; checking out adds the counters (bench/budgets_checkout.py measures
the throughput)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from sqlalchemy import event

from budgets import ballots as b
from budgets.models import Budget, Project
from decidim_py.accounts.models import User
from decidim_py.db import db, get_engine
from decidim_py.testing import backend, make_user
from tests.budgets.conftest import make_budget, make_component


def _statements(action: Callable[[], Any]) -> list[str]:
    """The statements `action` ran in a fresh session (as a request's), its commit included."""
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        seen.append(statement)

    db.session.remove()
    engine = get_engine()
    event.listen(engine, "before_cursor_execute", count)
    try:
        action()
        db.session.commit()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return [st for st in seen if not re.match(r"\s*(BEGIN|COMMIT|ROLLBACK)", st)]


def test_an_add_and_a_checkout_cost_a_bounded_number_of_statements(app, org):
    c = make_component(org)  # threshold rule, 70 %
    budget = make_budget(c, 30_000, (10_000,) * 4)
    user = make_user(org)
    db.session.commit()
    budget_id, user_id, ids = budget.id, user.id, [p.id for p in budget.projects]

    def add(project_id: int) -> Callable[[], Any]:
        return lambda: b.add_project(db.session.get(User, user_id), db.session.get(Project, project_id))

    first = _statements(add(ids[0]))
    second = _statements(add(ids[1]))
    _statements(add(ids[2]))
    checkout = _statements(lambda: b.checkout_ballot(db.session.get(User, user_id), db.session.get(Budget, budget_id)))
    # user, project, budget, component, space, requirements, lock row (2), budget FOR KEY SHARE, the
    # person's ballots, roles, phase, item INSERT (+ the ballot's INSERT the first time)
    assert len(second) == 13, second
    assert len(first) == 14, first
    # user, budget, component, space, requirements, lock row (2), budget FOR KEY SHARE, the person's
    # ballots, roles, phase, ballot UPDATE, projects (locked in id order on PostgreSQL, then counted), budget
    assert len(checkout) == (15 if backend() == "postgresql" else 14), checkout
    assert sum("budgets_ballots" in st and "JOIN budgets_ballot_items" in st for st in checkout) == 1
    db.session.expire_all()
    assert db.session.get(Budget, budget_id).ballots_count == 1
    assert [p.votes_count for p in db.session.get(Budget, budget_id).projects] == [1, 1, 1, 0]
