"""The demo has a votable budget: `devtools/run` shows it in "pressupostos-2027"."""

from __future__ import annotations

from sqlalchemy import select

from budgets import ballots as b
from budgets.models import Budget
from decidim_py.accounts.models import User
from decidim_py.components import Component
from decidim_py.db import db
from decidim_py.demo import seed_demo
from decidim_py.permissions import can
from tests.budgets.conftest import verify_person


def test_demo_budget_can_be_voted(app):
    assert seed_demo("demo.example.test")
    component = db.session.scalar(select(Component).where(Component.manifest_name == "budgets"))
    assert component.space.slug == "pressupostos-2027" and component.is_published
    assert component.current_settings.votes == "enabled"
    city, gracia = db.session.scalars(select(Budget).where(Budget.component_id == component.id)
                                      .order_by(Budget.weight)).all()
    assert city.outcome_rule == "mes_add1" and gracia.zone == "gracia" and len(city.projects) == 4
    jordi = db.session.scalar(select(User).where(User.nickname == "jordi",
                                                 User.organization_id == component.organization_id))
    assert can(jordi, "budgets.budget.vote", city)
    assert can(jordi, "budgets.budget.vote", gracia).code == "verify"
    verify_person(jordi, zone="gracia")
    for project in city.projects[:2]:
        b.add_project(jordi, project)
    assert b.checkout_ballot(jordi, city)
    b.add_project(jordi, gracia.projects[0])
    b.add_project(jordi, gracia.projects[2])
    assert b.checkout_ballot(jordi, gracia)
