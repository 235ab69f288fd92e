"""Rate limits (DESIGN.md §9) through Flask-Limiter: memory storage embedded, Redis in production
(DECIDIM_RATELIMIT_STORAGE_URI=redis://host:6379/0). A breach answers the translated 429 page."""

from __future__ import annotations

from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

limiter = Limiter(key_func=get_remote_address, default_limits=[])

SIGN_IN = "20 per minute; 200 per hour"  # starting sign-ins and callbacks, per client address


def init_app(app: Flask) -> None:
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config.get("RATELIMIT_STORAGE_URI") or "memory://")
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    limiter.init_app(app)
