"""Fixtures of the budgets tests: an app with the component loaded (Huey in immediate mode), a mounted
component whose settings each test chooses, budgets with projects, verified residents."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask

from decidim_py.accounts.system import SystemActor
from decidim_py.components import add_component, publish_component, update_component
from decidim_py.db import db, utcnow
from decidim_py.testing import make_app, make_process


@pytest.fixture
def app(database_url: str) -> Iterator[Flask]:
    import budgets.component  # noqa: F401
    from decidim_py.jobs import huey

    application = make_app(database_url, COMPONENTS=["proposals", "budgets.component", "tests.components_fixture"])
    was = huey.immediate
    huey.immediate = True
    ctx = application.app_context()
    ctx.push()
    yield application
    db.session.remove()
    ctx.pop()
    huey.immediate = was
    application.extensions["decidim_db"].engine.dispose()


def make_component(org: Any, *, settings: dict[str, Any] | None = None, step: dict[str, Any] | None = None,
                   process: Any = None, publish: bool = True) -> Any:
    system = SystemActor(org.id)
    process = process or make_process(org, steps=1)
    component = add_component(system, process, "budgets", {"en": "Budgets"})
    update_component(system, component, global_values=settings or {},
                     step_values={process.steps[0].id: {"votes": "enabled", **(step or {})}})
    if publish:
        publish_component(system, component)
    return component


def make_budget(component: Any, total: int = 100_000, costs: tuple[int, ...] = (), zone: str | None = None,
                title: str = "City centre") -> Any:
    from budgets import services as s

    system = SystemActor(component.organization_id)
    budget = s.create_budget(system, component, s.BudgetData(title={"en": title}, total_amount=total, zone=zone))
    for n, cost in enumerate(costs):
        s.create_project(system, budget, s.ProjectData(title={"en": f"Project {n + 1}"}, cost=cost, weight=n))
    db.session.refresh(budget)
    return budget


def verify_person(user: Any, person_key: str | None = None, *, zone: str | None = None) -> Any:
    """Give `user` an eligibility grant (resident, optionally of a zone) and, with `person_key`, an
    active person verification."""
    from decidim_py.identity.models import Assurance, EligibilityGrant, PersonKeyKind, PersonVerification

    db.session.add(EligibilityGrant(user_id=user.id, level=Assurance.SUBSTANTIAL, is_resident=True, zone=zone,
                                    expires_at=utcnow() + timedelta(days=30)))
    if person_key is not None:
        db.session.add(PersonVerification(organization_id=user.organization_id, person_key=person_key,
                                          kind=PersonKeyKind.NATIONAL_ID, user_id=user.id,
                                          level=Assurance.SUBSTANTIAL))
    db.session.flush()
    user.__dict__.pop("_decidim_grant", None)


def require_vote(component: Any, **fields: Any) -> None:
    from decidim_py.identity.models import ActionRequirement

    db.session.add(ActionRequirement(organization_id=component.organization_id, component_id=component.id,
                                     action="vote", **fields))
    db.session.flush()
    component.__dict__.pop("_decidim_requirements", None)
