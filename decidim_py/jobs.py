"""Background and scheduled work (DESIGN.md §9) through Huey.

Embedded default: `SqliteHuey` in the instance folder, with a consumer started by `devtools/run`
(`huey_consumer decidim_py.jobs.huey`). Production: `DECIDIM_HUEY_URL=redis://host:6379/1` selects
`RedisHuey`. Tests run tasks immediately (`DECIDIM_HUEY_IMMEDIATE=1`). Tasks build the application
themselves, so the consumer needs no Flask server.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from huey import Huey, RedisHuey, SqliteHuey, crontab

ROOT = Path(__file__).resolve().parent.parent


def _make_huey() -> Huey:
    url = os.environ.get("DECIDIM_HUEY_URL", "")
    immediate = os.environ.get("DECIDIM_HUEY_IMMEDIATE", "").lower() in {"1", "true", "yes"}
    if url.startswith("redis://"):
        return RedisHuey("decidim-py", url=url, immediate=immediate)
    path = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else str(ROOT / "instance" / "huey.sqlite3")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey("decidim-py", filename=path, immediate=immediate)


huey = _make_huey()
_app: Any = None


def app() -> Any:
    """The application the tasks run in (created once per consumer process)."""
    global _app
    if _app is None:
        from . import create_app

        _app = create_app()
    return _app


@huey.on_startup()
def _load_components() -> None:
    """Components declare their tasks in modules the application imports (e.g. budgets.closing):
    each consumer worker builds the application once at start, so it knows every task."""
    app()


@huey.periodic_task(crontab(minute="*/15"))
def purge_expired_identity_state() -> int:
    """End of life of sign-in state: expired auth requests, pending sign-ups, sessions, logout jtis."""
    from .db import session_scope
    from .identity.services import purge_expired

    with app().app_context(), session_scope():
        return purge_expired()


@huey.periodic_task(crontab(minute="45", hour="3"))
def purge_expired_notifications() -> int:
    """End of life of notifications: older than DECIDIM_NOTIFICATION_RETENTION_DAYS (default 180),
    and the follows and notifications of deleted accounts. Daily."""
    from .db import session_scope
    from .notifications.services import purge_expired

    with app().app_context(), session_scope():
        return purge_expired()


@huey.periodic_task(crontab(minute="*"))
def integrate_logs() -> int:
    """Safety net for the inline integration: a decision committed just before a crash, or while
    integration failed, is integrated within a minute (the outbox keeps it)."""
    from sqlalchemy import select

    from .db import db
    from .tenancy import Organization
    from .transparency.log import integrate

    with app().app_context():
        total = 0
        for org in db.session.scalars(select(Organization)).all():
            total += integrate(org).integrated
        return total
