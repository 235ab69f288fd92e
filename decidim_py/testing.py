"""Test helpers shared by every package's tests: databases, factories, acting as a user.

Each test gets a database of its own, copied from a template that was migrated once per run:
a file copy on SQLite, `CREATE DATABASE ... TEMPLATE` on PostgreSQL. So tests see the real schema
(migrations, triggers, constraints) and never each other's rows.
"""

from __future__ import annotations

import contextvars
import itertools
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

from flask import Flask
from flask.globals import _cv_app
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from .accounts.models import Host, HostKind, HostMembership, HostRole, User
from .db import db

PG_ADMIN_URL = os.environ.get("DECIDIM_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
_counter = itertools.count()


def backend() -> str:
    return os.environ.get("DECIDIM_TEST_DB", "sqlite")


def _pg_admin_engine() -> Any:
    return create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=None)


class TemplateDatabase:
    """A migrated template database, and cheap copies of it for each test."""

    def __init__(self, workdir: Path) -> None:
        self.kind = backend()
        self.workdir = workdir
        self.name = f"decidim_tpl_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        if self.kind == "sqlite":
            self.url = f"sqlite:///{workdir / 'template.sqlite3'}"
        elif self.kind == "postgresql":
            self.url = str(make_url(PG_ADMIN_URL).set(database=self.name))
            with _pg_admin_engine().connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{self.name}"'))
        else:
            raise RuntimeError(f"unknown DECIDIM_TEST_DB {self.kind!r}")
        from alembic import command

        from .migrate import alembic_config

        command.upgrade(alembic_config(self.url), "head")

    def copy(self) -> str:
        n = next(_counter)
        if self.kind == "sqlite":
            target = self.workdir / f"test_{n}.sqlite3"
            shutil.copyfile(self.workdir / "template.sqlite3", target)
            return f"sqlite:///{target}"
        name = f"{self.name}_{n}"
        with _pg_admin_engine().connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{self.name}"'))
        return str(make_url(PG_ADMIN_URL).set(database=name))

    def drop_copy(self, url: str) -> None:
        if self.kind == "sqlite":
            path = Path(make_url(url).database or "")
            for suffix in ("", "-wal", "-shm"):
                Path(str(path) + suffix).unlink(missing_ok=True)
            return
        name = make_url(url).database
        with _pg_admin_engine().connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def drop(self) -> None:
        if self.kind == "postgresql":
            with _pg_admin_engine().connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))


class IsolatedClient(FlaskClient):
    """A test client whose every request runs in a fresh application context, as in production.

    Flask reuses an already pushed app context for requests; the tests keep one pushed for their
    own database work, so without this, `g` (the organisation, Flask-Login's user, the database
    session) would leak from one request to the next.
    """

    host: str | None = None  # the organisation host the requests go to

    def open(self, *args: Any, **kwargs: Any) -> Any:
        if self.host and "base_url" not in kwargs and not (args and not isinstance(args[0], str)):
            kwargs["base_url"] = f"http://{self.host}"

        def run() -> Any:
            _cv_app.set(None)  # type: ignore[arg-type]
            return FlaskClient.open(self, *args, **kwargs)

        return contextvars.copy_context().run(run)


def make_app(database_url: str, **config: Any) -> Flask:
    from . import create_app

    app = create_app({
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret",
        "TESTING": True,
        "WTF_CSRF_ENABLED": False,
        "SERVER_NAME": None,
        "RATELIMIT_ENABLED": False,  # tests that check a limit turn it on
        **config,
    })
    app.test_client_class = IsolatedClient
    return app


# --- factories --------------------------------------------------------------------------------


def make_organization(host: str | None = None, **kwargs: Any) -> Any:
    from .tenancy import create_organization

    n = next(_counter)
    return create_organization(
        name=kwargs.pop("name", f"Organisation {n}"),
        host=host or f"org{n}.example.test",
        default_locale=kwargs.pop("default_locale", "en"),
        available_locales=kwargs.pop("available_locales", ["en", "ca", "es"]),
        time_zone=kwargs.pop("time_zone", "Europe/Madrid"),
        **kwargs,
    )


def make_user(org: Any, nickname: str | None = None, **kwargs: Any) -> User:
    n = next(_counter)
    user = User(organization_id=org.id, nickname=nickname or f"user{n}",
                name=kwargs.pop("name", f"User {n}"), **kwargs)
    db.session.add(user)
    db.session.flush()
    return user


def make_admin(org: Any, nickname: str | None = None) -> User:
    return make_user(org, nickname, is_admin=True)


def make_host(org: Any, slug: str | None = None, admins: list[User] | None = None) -> Host:
    n = next(_counter)
    host = Host(organization_id=org.id, slug=slug or f"host-{n}", kind=HostKind.DEPARTMENT,
                name={"en": f"Host {n}", "ca": f"Amfitrió {n}", "es": f"Anfitrión {n}"})
    db.session.add(host)
    db.session.flush()
    for user in admins or []:
        db.session.add(HostMembership(host=host, user=user, role=HostRole.ADMIN))
    db.session.flush()
    return host


def make_process(org: Any, *, steps: int = 1, published: bool = True, actor: Any = None,
                 **kwargs: Any) -> Any:
    from processes import services as ps
    from processes.services import ProcessData, StepData

    from .accounts.system import SystemActor

    who = actor or SystemActor(org.id)
    n = next(_counter)
    data = ProcessData(
        slug=kwargs.pop("slug", f"process-{n}"),
        title=kwargs.pop("title", {"en": f"Process {n}", "ca": f"Procés {n}", "es": f"Proceso {n}"}),
        start_date=kwargs.pop("start_date", date(2020, 1, 1)),
        end_date=kwargs.pop("end_date", date(2099, 12, 31)),
        **kwargs,
    )
    process = ps.create_process(who, org, data)
    for i in range(steps):
        ps.add_step(who, process, StepData(title={"en": f"Phase {i + 1}", "ca": f"Fase {i + 1}",
                                                  "es": f"Fase {i + 1}"}))
    if published:
        ps.publish_process(who, process)
    return process


# --- acting as a user -------------------------------------------------------------------------


def login_as(client: FlaskClient, user: User | None) -> None:
    """Make the test client's next requests come from `user` (None: sign out)."""
    from flask_login.utils import _create_identifier

    from .identity.services import open_session

    token = None
    if user is not None:
        token = open_session(user, provider=None, identity_key=None, sid=None, level=None, auth_time=None)
        db.session.commit()
    base_url = f"http://{client.host}" if getattr(client, "host", None) else None
    with client.application.test_request_context(base_url=base_url,
                                                  environ_base=client.environ_base):
        identifier = _create_identifier()  # Flask-Login's "strong" session protection
    with client.session_transaction(base_url=base_url) as sess:
        if user is None:
            sess.clear()
            return
        sess["_user_id"] = str(user.id)
        sess["_fresh"] = True
        sess["_id"] = identifier
        sess["account_session"] = token


@contextmanager
def acting_as(client: FlaskClient, user: User | None) -> Iterator[FlaskClient]:
    login_as(client, user)
    try:
        yield client
    finally:
        login_as(client, None)


def race(app: Flask, jobs: list[Any], refusals: tuple[type[BaseException], ...],
         errors: list[str] | None = None) -> dict[str, int]:
    """Run jobs at the same moment, each in its own application context and database session,
    committing like a request does. A job loads what it needs and returns the action to race
    (`lambda: (lambda: service(db.session.get(User, uid), ...))`); the outcomes are counted as ok,
    refused (one of `refusals`) or error (each appended to `errors` when given, for the assertion
    message)."""
    import threading

    barrier = threading.Barrier(len(jobs))
    outcomes = {"ok": 0, "refused": 0, "error": 0}
    lock = threading.Lock()

    def run(job: Any) -> None:
        with app.app_context():
            try:
                action = job()
                db.session.commit()  # start from a fresh transaction, as a request does
                barrier.wait()
                action()
                db.session.commit()
                result = "ok"
            except refusals:
                db.session.rollback()
                result = "refused"
            except Exception as exc:  # noqa: BLE001 - counted, for the test to assert
                db.session.rollback()
                result = "error"
                if errors is not None:
                    with lock:
                        errors.append(repr(exc))
            finally:
                db.session.remove()
        with lock:
            outcomes[result] += 1

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return outcomes
