"""Configuration: safe defaults, overridden by environment variables (DECIDIM_*).

Secrets are never committed: when DECIDIM_SECRET_KEY is not set, a random key is generated into
the instance folder on first run and read from there afterwards.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

DEFAULTS: dict[str, Any] = {
    "DATABASE_URL": None,  # default: sqlite file in the instance folder
    "SECRET_KEY": None,
    "ENV": "production",
    "DEV_SIGN_IN": False,  # development-only persona sign-in (never in production)
    "SPACES": ["processes"],  # space modules, each with init_app(app)
    # component modules to import (entry points are found too)
    "COMPONENTS": ["proposals", "debates", "budgets.component"],
    "SESSION_COOKIE_SECURE": False,
    "TRUSTED_PROXIES": 0,
    "DEFAULT_LOCALE": "en",
    "LOCALES": ["en", "ca", "es"],
    "SQL_ECHO": False,
    # Base URL of each organisation, from which OpenID Connect redirect URIs are built (never from
    # the request's Host header). Development: "http://{host}:5000".
    "PUBLIC_URL_TEMPLATE": "https://{host}",
    "ALLOW_INSECURE_ISSUERS": False,  # development only: http:// and loopback issuers
    "KEY_FILE": None,  # identity/person/encryption secrets (default: instance/identity_keys.json)
    "RATELIMIT_STORAGE_URI": "memory://",  # production with several servers: redis://host:6379/0
    "RATELIMIT_ENABLED": True,
    # Integrate decisions into the log right after each commit (a worker also does it, as a safety net)
    "LOG_INTEGRATE_INLINE": True,
    "NOTIFICATION_RETENTION_DAYS": 180,  # in-app notifications older than this are purged
}

BOOL_KEYS = {"DEV_SIGN_IN", "SESSION_COOKIE_SECURE", "SQL_ECHO", "ALLOW_INSECURE_ISSUERS", "RATELIMIT_ENABLED",
             "LOG_INTEGRATE_INLINE"}
INT_KEYS = {"TRUSTED_PROXIES", "NOTIFICATION_RETENTION_DAYS"}
LIST_KEYS = {"COMPONENTS", "LOCALES", "SPACES"}


def _parse(key: str, raw: str) -> Any:
    if key in BOOL_KEYS:
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if key in INT_KEYS:
        return int(raw)
    if key in LIST_KEYS:
        return [p.strip() for p in raw.split(",") if p.strip()]
    return raw


def from_environment(environ: os._Environ[str] | dict[str, str] | None = None) -> dict[str, Any]:
    """Read every known key from DECIDIM_<KEY> environment variables."""
    env = os.environ if environ is None else environ
    values = dict(DEFAULTS)
    for key in DEFAULTS:
        raw = env.get(f"DECIDIM_{key}")
        if raw is not None and raw != "":
            values[key] = _parse(key, raw)
    return values


def instance_secret(instance_path: str, name: str = "secret_key") -> str:
    """Return a secret stored in the instance folder, creating it (mode 0600) on first use."""
    folder = Path(instance_path)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if path.exists():
        return path.read_text().strip()
    value = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value)
    return value


def default_database_url(instance_path: str) -> str:
    Path(instance_path).mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{Path(instance_path) / 'decidim.sqlite3'}"
