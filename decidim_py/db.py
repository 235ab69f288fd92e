"""Database: typed declarative base, one session per request, engine set-up for SQLite and PostgreSQL.

The session is committed once per request, after a successful response (status < 400), and rolled
back otherwise; services flush but never commit (DESIGN.md §3). CLI commands use `session_scope()`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, current_app, g, has_app_context, has_request_context, request
from sqlalchemy import JSON, DateTime, Enum, MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    mapped_column,
    scoped_session,
    sessionmaker,
)
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use UTC-aware datetimes")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON(), list[Any]: JSON()}


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy emit BEGIN itself (see _sqlite_on_begin) instead of pysqlite's implicit one.
    dbapi_connection.isolation_level = None
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")  # durable commits: a signed checkpoint survives a power cut
    cur.close()


def _sqlite_on_begin(conn: Any) -> None:
    """SQLite has one writer. A request that may write (any method but GET/HEAD/OPTIONS) begins with
    BEGIN IMMEDIATE, so it waits for the write lock (busy_timeout) before its first read: a deferred
    transaction that read first and then writes fails at once with "database is locked" when another
    writer committed meanwhile (its snapshot is stale), whatever the busy timeout."""
    mode = conn.info.get("sqlite_begin")
    if mode is None:
        unsafe = has_request_context() and request.method not in ("GET", "HEAD", "OPTIONS")
        mode = "BEGIN IMMEDIATE" if unsafe else "BEGIN"
    conn.exec_driver_sql(mode)


def make_engine(url: str, echo: bool = False) -> Engine:
    kwargs: dict[str, Any] = {"echo": echo, "future": True}
    if url.startswith("postgresql"):
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://") :]
        kwargs.update(pool_pre_ping=True, pool_size=5, max_overflow=10)
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _scope() -> int:
    if has_app_context():
        return id(g._get_current_object())
    return threading.get_ident()


class Database:
    """Holds the engine and the scoped session of one application."""

    def __init__(self) -> None:
        self.engine: Engine | None = None
        self._factory: sessionmaker[Session] | None = None
        self.session: scoped_session[Session] = scoped_session(self._make_session, scopefunc=_scope)

    def _make_session(self) -> Session:
        if has_app_context():
            return current_app.extensions["decidim_db"]._factory()
        assert self._factory is not None, "database not initialised"
        return self._factory()

    def init_app(self, app: Flask) -> None:
        engine = make_engine(app.config["DATABASE_URL"], echo=app.config.get("SQL_ECHO", False))
        self.engine = engine
        self._factory = sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)
        app.extensions["decidim_db"] = _AppDatabase(engine, self._factory)

        @app.after_request
        def _commit(response: Response) -> Response:
            sess = self.session()
            if response.status_code < 400:
                sess.commit()
                run_after_commit()
            else:
                sess.rollback()
                g.pop("_decidim_after_commit", None)
            return response

        @app.teardown_appcontext
        def _remove(exc: BaseException | None) -> None:
            if exc is not None:
                self.session().rollback()
            self.session.remove()


class _AppDatabase:
    """Per-application engine and session factory (tests run several apps in one process)."""

    def __init__(self, engine: Engine, factory: sessionmaker[Session]) -> None:
        self.engine = engine
        self._factory = factory


db = Database()


def get_engine() -> Engine:
    return current_app.extensions["decidim_db"].engine


@contextmanager
def session_scope() -> Iterator[Session]:
    """A unit of work for CLI commands and jobs: commit on success, roll back on error."""
    sess = db.session()
    try:
        yield sess
        sess.commit()
    except BaseException:
        sess.rollback()
        if has_app_context():
            g.pop("_decidim_after_commit", None)
        raise
    run_after_commit()


def after_commit(key: str, fn: Any) -> None:
    """Run `fn()` once after the current unit of work commits (not at all if it rolls back).
    Keyed, so that many decisions in one request trigger one integration."""
    if has_app_context():
        g.setdefault("_decidim_after_commit", {})[key] = fn


def run_after_commit() -> None:
    callbacks = g.pop("_decidim_after_commit", None) if has_app_context() else None
    for fn in (callbacks or {}).values():
        try:
            fn()
        except Exception:  # the work was committed; a failed follow-up is retried by its worker
            current_app.logger.exception("after-commit task failed")


def str_enum(enum_cls: type[Any], length: int = 20) -> Enum:
    """A portable column type for a StrEnum: stored as its value, checked by a CHECK constraint."""
    return Enum(
        enum_cls,
        native_enum=False,
        length=length,
        values_callable=lambda e: [m.value for m in e],
        name=enum_cls.__name__.lower(),
    )
