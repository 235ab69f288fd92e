"""Fixtures of the debates tests: an app with the component loaded and a mounted debates component."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from decidim_py.accounts.system import SystemActor
from decidim_py.components import add_component, publish_component, update_component
from decidim_py.db import db
from decidim_py.testing import make_app, make_process


@pytest.fixture
def app(database_url: str) -> Iterator[Flask]:
    import debates  # noqa: F401

    application = make_app(database_url, COMPONENTS=["proposals", "debates", "tests.components_fixture"])
    ctx = application.app_context()
    ctx.push()
    yield application
    db.session.remove()
    ctx.pop()
    application.extensions["decidim_db"].engine.dispose()


DEFAULT_STEP = {"creation_enabled": True}


def make_component(org: Any, *, settings: dict[str, Any] | None = None, step: dict[str, Any] | None = None) -> Any:
    system = SystemActor(org.id)
    process = make_process(org, steps=1)
    component = add_component(system, process, "debates", {"en": "Debates"})
    update_component(system, component, global_values=settings or {},
                     step_values={process.steps[0].id: {**DEFAULT_STEP, **(step or {})}})
    publish_component(system, component)
    return component
