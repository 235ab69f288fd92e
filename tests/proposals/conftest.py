"""Fixtures of the proposals tests: an app with the component loaded, a mounted component whose
settings each test chooses, participants (optionally verified persons)."""

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
    import proposals  # noqa: F401

    application = make_app(database_url, COMPONENTS=["proposals", "tests.components_fixture"])
    ctx = application.app_context()
    ctx.push()
    yield application
    db.session.remove()
    ctx.pop()
    application.extensions["decidim_db"].engine.dispose()


DEFAULT_STEP = {"creation_enabled": True, "votes_enabled": True}


def make_component(org: Any, *, settings: dict[str, Any] | None = None, step: dict[str, Any] | None = None,
                   process: Any = None) -> Any:
    system = SystemActor(org.id)
    process = process or make_process(org, steps=1)
    component = add_component(system, process, "proposals", {"en": "Proposals"})
    active = process.steps[0]
    update_component(system, component, global_values=settings or {},
                     step_values={active.id: {**DEFAULT_STEP, **(step or {})}})
    publish_component(system, component)
    return component


@pytest.fixture
def component_factory(app: Flask, org: Any) -> Any:
    def factory(**kwargs: Any) -> Any:
        return make_component(org, **kwargs)

    return factory


def verify_person(user: Any, person_key: str) -> Any:
    """Give `user` an eligibility grant and an active person verification with `person_key`."""
    from decidim_py.identity.models import Assurance, EligibilityGrant, PersonKeyKind, PersonVerification

    db.session.add(EligibilityGrant(user_id=user.id, level=Assurance.SUBSTANTIAL, is_resident=True,
                                    expires_at=utcnow() + timedelta(days=30)))
    verification = PersonVerification(organization_id=user.organization_id, person_key=person_key,
                                      kind=PersonKeyKind.NATIONAL_ID, user_id=user.id,
                                      level=Assurance.SUBSTANTIAL)
    db.session.add(verification)
    db.session.flush()
    user.__dict__.pop("_decidim_grant", None)
    return verification


def require_person(component: Any) -> None:
    from decidim_py.identity.models import ActionRequirement

    db.session.add(ActionRequirement(organization_id=component.organization_id, component_id=component.id,
                                     action="support", person_key=True))
    db.session.flush()
    component.__dict__.pop("_decidim_requirements", None)
