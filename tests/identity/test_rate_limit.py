from __future__ import annotations

from decidim_py.db import db
from decidim_py.testing import make_app, make_organization


def test_sign_in_start_is_rate_limited(database_url):
    app = make_app(database_url, RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://")
    with app.app_context():
        org = make_organization(host="limits.example.test")
        db.session.commit()
        c = app.test_client()
        c.host = org.host
        codes = [c.post("/auth/nowhere/start").status_code for _ in range(21)]
        assert codes[:20] == [404] * 20  # no such provider, but each attempt counts
        assert codes[20] == 429
        assert "Too many requests" in c.post("/auth/nowhere/start").get_data(as_text=True)
        db.session.remove()
    app.extensions["decidim_db"].engine.dispose()
