"""Core public pages: home, language choice."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, make_response, render_template, request, url_for

from .i18n import LOCALE_COOKIE, available_locales
from .spaces import space_types
from .tenancy import current_organization
from .web import actor, safe_next

bp = Blueprint("core", __name__)


@bp.get("/")
def home() -> Any:
    org, user = current_organization(), actor()
    sections = [st.home_section(org, user) for st in space_types() if st.home_section is not None]
    return render_template("home.html", sections=sections)


@bp.get("/locale/<code>")
def set_locale(code: str) -> Any:
    """Remember the visitor's language choice (works without JavaScript: a plain link)."""
    if code not in available_locales():
        abort(404)
    response = make_response("", 303)
    response.headers["Location"] = safe_next(request.args.get("next"), url_for("core.home"))
    response.set_cookie(LOCALE_COOKIE, code, max_age=365 * 24 * 3600, samesite="Lax",
                        httponly=True, secure=request.is_secure)
    return response


@bp.get("/healthz")
def healthz() -> Any:
    return {"status": "ok"}
