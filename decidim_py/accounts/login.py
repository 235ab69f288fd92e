"""Flask-Login wiring. Sign-in itself is OpenID Connect (identity issue); a development-only
persona sign-in exists when DEV_SIGN_IN is on (the `run` command sets it, production never does)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, g, render_template, request, url_for
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


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    org = g.get("organization")
    if org is None:
        return None
    try:
        uid = int(user_id)
    except ValueError:
        return None
    user = db.session.get(User, uid)
    # A session cookie never crosses organisations: the user must belong to this host's one.
    if user is None or user.organization_id != org.id or not user.is_active:
        return None
    return user


@bp.get("/sign-in")
def sign_in() -> Any:
    org = current_organization()
    personas = []
    if current_app.config.get("DEV_SIGN_IN"):
        personas = db.session.scalars(
            select(User).where(User.organization_id == org.id, User.deleted_at.is_(None),
                               User.blocked_at.is_(None)).order_by(User.id).limit(50)
        ).all()
    return render_template("accounts/sign_in.html", personas=personas, form=FlaskForm(),
                           next=safe_next(request.args.get("next"), url_for("core.home")))


@bp.post("/dev/sign-in/<int:user_id>")
def dev_sign_in(user_id: int) -> Any:
    if not current_app.config.get("DEV_SIGN_IN"):
        abort(404)
    FlaskForm().validate_on_submit() or abort(400)
    user = load_user(str(user_id))
    if user is None:
        abort(404)
    login_user(user)
    return see_other(safe_next(request.form.get("next"), url_for("core.home")))


@bp.post("/sign-out")
def sign_out() -> Any:
    FlaskForm().validate_on_submit() or abort(400)
    logout_user()
    return see_other(url_for("core.home"))
