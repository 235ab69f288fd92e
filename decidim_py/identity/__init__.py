"""Public digital identity: OpenID Connect sign-in, eligibility per action, one person one vote,
assisted participation (DESIGN.md §5)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from .. import csrf
    from . import eligibility, permissions  # noqa: F401  (register the rules)
    from .admin import bp as admin_bp
    from .cli import register_cli
    from .views import backchannel_logout, bp

    app.register_blueprint(bp)
    app.register_blueprint(admin_bp)
    csrf.exempt(backchannel_logout)
    register_cli(app)
