"""Flask-Login wiring. Sign-in itself is OpenID Connect (identity issue); a development-only
persona sign-in exists when DEV_SIGN_IN is on (the `run` command sets it, production never does)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, g, render_template, request, session, url_for
from flask_babel import lazy_gettext as _
from flask_login import LoginManager, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import select

from ..db import db
from ..tenancy import current_organization
from ..web import safe_next, see_other
from .models import User

login_manager = LoginManager()
login_manager.login_view = "accounts.sign_in"
login_manager.login_message = _("Please sign in to see this page.")
login_manager.session_protection = "strong"

bp = Blueprint("accounts", __name__)


SESSION_KEY = "account_session"


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """The cookie names a user and carries a random session token; both must match a live,
    unrevoked server-side session (back-channel logout and sign-out revoke it)."""
    from ..identity.services import session_for

    org = g.get("organization")
    if org is None:
        return None
    row = session_for(session.get(SESSION_KEY))
    if row is None or str(row.user_id) != user_id:
        return None
    user = db.session.get(User, row.user_id)
    # A session cookie never crosses organisations: the user must belong to this host's one.
    if user is None or user.organization_id != org.id or not user.is_active:
        return None
    g.account_session = row
    return user


def sign_in_user(user: User, session_token: str) -> None:
    """Start a signed-in browser session: a fresh cookie (no fixation) holding only the token."""
    session.clear()
    session[SESSION_KEY] = session_token
    login_user(user)


@bp.get("/sign-in")
def sign_in() -> Any:
    from ..identity.services import public_url
    from ..tenancy import normalise_host

    org = current_organization()
    if normalise_host(request.host) != org.host:
        # Sign in on the organisation's main host: the provider calls back there, and the
        # browser binding of the sign-in lives in that host's cookie.
        target = public_url(org) + url_for("accounts.sign_in", next=request.args.get("next"))
        return see_other(target)
    personas = []
    if current_app.config.get("DEV_SIGN_IN"):
        personas = db.session.scalars(
            select(User).where(User.organization_id == org.id, User.deleted_at.is_(None),
                               User.blocked_at.is_(None)).order_by(User.id).limit(50)
        ).all()
    from ..identity.services import enabled_providers

    return render_template("accounts/sign_in.html", personas=personas, form=FlaskForm(),
                           providers=enabled_providers(org),
                           next=safe_next(request.args.get("next"), url_for("core.home")))


@bp.post("/dev/sign-in/<int:user_id>")
def dev_sign_in(user_id: int) -> Any:
    if not current_app.config.get("DEV_SIGN_IN"):
        abort(404)
    FlaskForm().validate_on_submit() or abort(400)
    from ..identity.services import open_session

    org = current_organization()
    user = db.session.get(User, user_id)
    if user is None or user.organization_id != org.id or not user.is_active:
        abort(404)
    sign_in_user(user, open_session(user, provider=None, identity_key=None, sid=None, level=None,
                                    auth_time=None))
    return see_other(safe_next(request.form.get("next"), url_for("core.home")))


@bp.post("/sign-out")
def sign_out() -> Any:
    from ..identity.services import revoke_session

    FlaskForm().validate_on_submit() or abort(400)
    row = revoke_session(session.get(SESSION_KEY))
    logout_user()
    session.clear()
    target = url_for("core.home")
    if row is not None and row.provider_id is not None:
        from ..identity import rp, services
        from ..identity.models import IdentityProvider

        provider = db.session.get(IdentityProvider, row.provider_id)
        if provider is not None:
            org = current_organization()
            target = rp.end_session_url(provider, services.public_url(org) + "/") or target
    return see_other(target)
