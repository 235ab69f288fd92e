"""Shared fixtures. The suite runs on SQLite (DECIDIM_TEST_DB=sqlite, the default) and again on
PostgreSQL (DECIDIM_TEST_DB=postgresql); every test gets its own copy of a migrated database."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from decidim_py.db import db
from decidim_py.testing import TemplateDatabase, backend, make_app, make_organization


def pytest_report_header(config: Any) -> str:
    return f"decidim-py database backend: {backend()}"


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TemplateDatabase]:
    tpl = TemplateDatabase(tmp_path_factory.mktemp("db"))
    yield tpl
    tpl.drop()


@pytest.fixture
def database_url(template_db: TemplateDatabase) -> Iterator[str]:
    url = template_db.copy()
    yield url
    template_db.drop_copy(url)


@pytest.fixture
def app(database_url: str) -> Iterator[Flask]:
    application = make_app(database_url, COMPONENTS=["tests.components_fixture"])
    ctx = application.app_context()
    ctx.push()
    yield application
    db.session.remove()
    ctx.pop()
    application.extensions["decidim_db"].engine.dispose()


@pytest.fixture
def org(app: Flask) -> Any:
    organization = make_organization(host="city.example.test")
    db.session.commit()
    return organization


@pytest.fixture
def client(app: Flask, org: Any) -> FlaskClient:
    """A test client whose requests reach `org` through its host name."""
    c = app.test_client()
    c.host = org.host
    return c


@pytest.fixture
def commit() -> Any:
    """Commit what a test set up, so that requests (which use their own session) see it."""

    def _commit() -> None:
        db.session.commit()

    return _commit
