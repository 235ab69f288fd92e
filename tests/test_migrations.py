"""Alembic: upgrade → downgrade → upgrade on the suite's backend, and the models match the migrations."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from decidim_py.db import Base, make_engine
from decidim_py.migrate import alembic_config
from decidim_py.models import import_all_models


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade(database_url):
    cfg = alembic_config(database_url)
    assert "processes" in _tables(database_url)  # the template was migrated to head
    command.downgrade(cfg, "base")
    assert _tables(database_url) == set()
    command.upgrade(cfg, "head")
    assert {"organizations", "users", "hosts", "processes", "processes_steps", "components",
            "transparency_records", "space_roles"} <= _tables(database_url)


def test_models_and_migrations_do_not_differ(database_url):
    import_all_models()
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(ctx, Base.metadata)
    finally:
        engine.dispose()
    assert diff == [], diff


def test_one_linear_history():
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1
