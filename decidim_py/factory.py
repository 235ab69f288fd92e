"""The application factory: config → db → i18n → login → spaces/components → errors."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from flask import Flask, g, request
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wrappers import Response

from . import config as config_module

ROOT = Path(__file__).resolve().parent.parent
csrf = CSRFProtect()

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'"
)


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Application factory: config → db → i18n → login → spaces/components → errors."""
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(Path(__file__).parent / "static"),
        instance_path=str(ROOT / "instance"),
    )
    settings = config_module.from_environment()
    settings.update(config or {})
    if not settings.get("DATABASE_URL"):
        settings["DATABASE_URL"] = config_module.default_database_url(app.instance_path)
    if not settings.get("SECRET_KEY"):
        settings["SECRET_KEY"] = config_module.instance_secret(app.instance_path)
    app.config.update(settings)
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.get("SESSION_COOKIE_SECURE", False),
        WTF_CSRF_TIME_LIMIT=None,
        MAX_CONTENT_LENGTH=8 * 1024 * 1024,
        TEMPLATES_AUTO_RELOAD=settings.get("ENV") == "development",
    )
    if settings.get("TRUSTED_PROXIES"):
        n = int(settings["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]

    from . import errors, i18n
    from .accounts import login as login_module
    from .db import db
    from .tenancy import load_organization

    db.init_app(app)
    i18n.init_app(app)
    csrf.init_app(app)
    login_module.login_manager.init_app(app)

    app.before_request(load_organization)
    from .permissions import start_request_memo

    app.url_value_preprocessor(lambda _endpoint, _values: start_request_memo())
    app.teardown_request(lambda _exc: g.pop("_decidim_can_memo", None))
    # Import the core models so that the metadata is complete, and the core permission rules.
    from . import admin, identity, limits, views  # noqa: F401
    from .accounts import permissions as _core_rules  # noqa: F401
    from .components import load_components
    from .transparency import models as _transparency_models  # noqa: F401

    limits.init_app(app)
    identity.init_app(app)
    from . import comments, moderation, notifications

    comments.init_app(app)
    moderation.init_app(app)
    notifications.init_app(app)
    for space_module in settings.get("SPACES", ["processes"]):
        importlib.import_module(space_module).init_app(app)
    load_components(app)

    from .transparency import cli as transparency_cli
    from .transparency import views as transparency_views

    app.register_blueprint(transparency_views.bp)
    transparency_cli.register_cli(app)
    app.register_blueprint(views.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(login_module.bp)
    errors.init_app(app)

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError) -> Any:
        from flask_babel import gettext

        return errors.render_error(
            400, gettext("The form expired or was sent from another site. Reload the page and try again.")
        )

    @app.after_request
    def _security_headers(response: Response) -> Response:
        h = response.headers
        h.setdefault("Content-Security-Policy", CSP)
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("X-Frame-Options", "DENY")
        h.setdefault("Referrer-Policy", "same-origin")
        h.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()")
        h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if request.is_secure:
            h.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if request.endpoint != "static" and "Cache-Control" not in h:
            user = g.get("_login_user")
            signed_in = user is not None and getattr(user, "is_authenticated", False)
            h["Cache-Control"] = "no-store" if signed_in else "private, no-cache"
        h.add("Vary", "Cookie")
        return response

    from .cli import register_cli

    register_cli(app)
    from . import html as html_module

    app.jinja_env.globals["safe_html"] = html_module.safe_html
    from .permissions import can

    app.jinja_env.globals["can"] = can
    app.jinja_env.globals["here"] = lambda: request.full_path.rstrip("?")
    return app
