"""Serialising check-then-write sections (DESIGN.md §3): limits that must hold under any number of
concurrent requests.

- PostgreSQL: `SELECT ... FOR UPDATE` on a lock row (created on first use with an upsert), then on
  the rows whose counters change, in ascending id order, so two transactions never wait on each
  other in a cycle.
- SQLite: the whole database has one writer. Views that enter such a section begin their
  transaction with `BEGIN IMMEDIATE` (`write_lock_up_front`); elsewhere the first statement of the
  section is a write (the lock-row upsert), which takes the write lock before anything is read.
"""

from __future__ import annotations

from typing import Any

from flask import g, has_app_context
from sqlalchemy import event, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from .db import db


def _begin_immediate(conn: Any) -> None:
    if has_app_context() and g.pop("_decidim_begin_immediate", False):
        conn.info["sqlite_begin"] = "BEGIN IMMEDIATE"
        conn.info["_decidim_immediate"] = True


def _after_begin(conn: Any) -> None:
    if conn.info.pop("_decidim_immediate", False):
        conn.info.pop("sqlite_begin", None)


def write_lock_up_front() -> None:
    """On SQLite, make the request's transaction begin with BEGIN IMMEDIATE (the write lock taken
    before the first read). Call it before the request's first query; it changes nothing later."""
    engine = db.session.get_bind()
    if engine.dialect.name != "sqlite" or db.session().in_transaction():
        return
    engine = getattr(engine, "engine", engine)
    if not event.contains(engine, "begin", _begin_immediate):
        event.listen(engine, "begin", _begin_immediate, insert=True)  # before the core's BEGIN
        event.listen(engine, "begin", _after_begin)  # after it: the pooled connection is left as found
    g._decidim_begin_immediate = True


def dialect_insert(model: Any) -> Any:
    """An INSERT that supports `on_conflict_do_nothing()` on both backends."""
    return pg_insert(model) if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert(model)


def lock_row(model: Any, **key: Any) -> None:
    """Create the lock row `key` of `model` if missing, then hold it until the transaction ends."""
    db.session.execute(dialect_insert(model).values(**key).on_conflict_do_nothing())
    columns = [getattr(model, name) == value for name, value in key.items()]
    db.session.execute(select(*[getattr(model, name) for name in key]).where(*columns).with_for_update())
