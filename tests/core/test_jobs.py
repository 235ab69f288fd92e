from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from decidim_py.db import db, utcnow
from decidim_py.identity.models import AccountSession
from decidim_py.identity.services import open_session
from decidim_py.testing import make_user


def test_the_scheduled_purge_ends_expired_sign_in_state(app, org, monkeypatch):
    from decidim_py import jobs

    user = make_user(org)
    open_session(user, provider=None, identity_key=None, sid=None, level=None, auth_time=None,
                 ttl=timedelta(seconds=-1))
    open_session(user, provider=None, identity_key=None, sid=None, level=None, auth_time=None)
    db.session.commit()
    monkeypatch.setattr(jobs, "_app", app)
    assert jobs.purge_expired_identity_state.call_local() == 1
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(AccountSession)) == 1
    remaining = db.session.scalar(select(AccountSession))
    assert remaining.expires_at > utcnow()
    from datetime import datetime

    due = jobs.huey.read_periodic(datetime(2026, 1, 1, 0, 15))  # the scheduler runs it every 15 minutes
    assert {t.name for t in due} == {"purge_expired_identity_state", "integrate_logs"}
    assert {t.name for t in jobs.huey.read_periodic(datetime(2026, 1, 1, 0, 16))} == {"integrate_logs"}
