"""Fixtures shared by tests/comments and tests/moderation: an app with the "commentboard" test
component, a published process with a board, and people."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from decidim_py.accounts.system import SystemActor
from decidim_py.components import add_component, publish_component
from decidim_py.db import db
from decidim_py.testing import make_app, make_process, make_user

COMPONENTS = ["tests.components_fixture", "tests.comments.component"]


@pytest.fixture
def app(database_url: str) -> Iterator[Flask]:
    application = make_app(database_url, COMPONENTS=COMPONENTS)
    ctx = application.app_context()
    ctx.push()
    yield application
    db.session.remove()
    ctx.pop()
    application.extensions["decidim_db"].engine.dispose()


@pytest.fixture
def process(org: Any) -> Any:
    return make_process(org, steps=2)


def _board(org: Any, process: Any, manifest: str) -> Any:
    system = SystemActor(org.id)
    component = add_component(system, process, manifest, {"en": f"The {manifest}"})
    publish_component(system, component)
    db.session.commit()
    return component


@pytest.fixture
def board(org: Any, process: Any) -> Any:
    """A published "commentboard": its page shows the thread of the component itself."""
    return _board(org, process, "commentboard")


@pytest.fixture
def noticeboard(org: Any, process: Any) -> Any:
    """The shared test component "noticeboard" (no comment settings): comments mounted on it."""
    return _board(org, process, "noticeboard")


@pytest.fixture
def alice(org: Any) -> Any:
    user = make_user(org, "alice", name="Alice")
    db.session.commit()
    return user


@pytest.fixture
def bob(org: Any) -> Any:
    user = make_user(org, "bob", name="Bob")
    db.session.commit()
    return user


def board_url(component: Any) -> str:
    return f"/processes/{component.space.slug}/{component.manifest_name}/{component.id}/"
