"""Sign-in with OpenID Connect, sign-up after a first sign-in, back-channel logout, account page."""

from __future__ import annotations

import secrets
from typing import Any

from flask import Blueprint, abort, current_app, flash, jsonify, render_template, request, session, url_for
from flask_babel import lazy_gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Regexp

from ..accounts.login import sign_in_user
from ..db import db
from ..errors import InvalidState
from ..forms import choices
from ..i18n import LOCALE_NAMES, select_locale
from ..limits import SIGN_IN, limiter
from ..tenancy import current_organization
from ..web import safe_next, see_other
from . import rp, services
from .eligibility import LEVEL_LABELS, grant_of
from .models import Assurance

bp = Blueprint("identity", __name__)
BROWSER_KEY = "oidc_browser"
PENDING_KEY = "oidc_pending"

REFUSALS = {
    "acr_too_low": _("The way you signed in is not strong enough for this. Please choose a stronger method "
                     "at your identity provider."),
    "provider_error": _("Your identity provider did not sign you in. You can try again."),
    "state_expired": _("The sign-in took too long. Please try again."),
    "state_reused": _("This sign-in link was already used. Please start again."),
    "state_other_browser": _("This sign-in was started in another browser. Please start again here."),
    "provider_unreachable": _("We cannot reach your identity provider right now. Please try again later."),
}
GENERIC_REFUSAL = _("We could not sign you in: the answer from your identity provider did not pass our "
                    "security checks. Please try again; if it keeps happening, tell the organisation.")


def _browser_token() -> str:
    token = session.get(BROWSER_KEY)
    if not token:
        token = secrets.token_urlsafe(32)
        session[BROWSER_KEY] = token
    return token


def _provider(slug: str) -> Any:
    provider = services.provider_by_slug(current_organization(), slug)
    if provider is None or not provider.is_enabled:
        abort(404)
    return provider


@bp.post("/auth/<slug>/start")
@limiter.limit(SIGN_IN)
def start(slug: str) -> Any:
    FlaskForm().validate_on_submit() or abort(400)
    provider = _provider(slug)
    try:
        level = Assurance(request.form.get("level", "low"))
    except ValueError:
        level = Assurance.LOW
    purpose = "step_up" if request.form.get("step_up") else "sign_in"
    try:
        url = services.start_sign_in(
            current_organization(), provider, browser_token=_browser_token(), required_level=level,
            max_age=0 if purpose == "step_up" else None, purpose=purpose, locale=select_locale(),
            next_url=safe_next(request.form.get("next"), url_for("core.home")),
        )
    except rp.SignInError as exc:
        current_app.logger.warning("sign-in with %s could not start: %s", provider.slug, exc)
        return _refused(exc)
    return see_other(url)


def _refused(exc: rp.SignInError) -> tuple[str, int]:
    message = REFUSALS.get(exc.code, GENERIC_REFUSAL)
    return render_template("identity/refused.html", message=message, code=exc.code), 403


@bp.get("/auth/<slug>/callback")
@limiter.limit(SIGN_IN)
def callback(slug: str) -> Any:
    org, provider = current_organization(), _provider(slug)
    try:
        outcome = services.finish_sign_in(org, provider, request.args.to_dict(), session.get(BROWSER_KEY))
    except rp.SignInError as exc:
        current_app.logger.warning("sign-in with %s refused: %s", provider.slug, exc)
        db.session.commit()  # keep the consumed state consumed
        return _refused(exc)
    if outcome.pending_token:
        session[PENDING_KEY] = outcome.pending_token
        return see_other(url_for(".sign_up"))
    assert outcome.user is not None and outcome.session_token is not None
    sign_in_user(outcome.user, outcome.session_token)
    if outcome.conflict is not None:
        flash(str(_conflict_message(outcome.conflict)), "error")
    else:
        flash(str(_("You are signed in.")), "success")
    return see_other(safe_next(outcome.next_url, url_for("core.home")))


def _conflict_message(conflict: Any) -> Any:
    provider = conflict.verification.provider
    name = provider.display_name if provider else None
    from ..i18n import translated

    return _("Your identity is already verified on another account (verified with %(provider)s). That "
             "account keeps taking part for you; an administrator can move the verification here.",
             provider=translated(name) if name else _("an in-person check"))


class SignUpForm(FlaskForm):
    nickname = StringField(_("Nickname"), validators=[
        DataRequired(message=_("Please fill this in.")), Length(min=3, max=40),
        Regexp(r"^[a-z0-9_]+$", message=_("Use lower-case letters, digits and underscores."))],
        description=_("Shown next to what you publish. It does not need to be your real name."))
    name = StringField(_("Name to show"), validators=[DataRequired(message=_("Please fill this in.")),
                                                      Length(max=120)])
    locale = SelectField(_("Language"))
    accept_terms = BooleanField(_("I accept the terms of use"))


@bp.route("/sign-up", methods=["GET", "POST"])
def sign_up() -> Any:
    org = current_organization()
    token = session.get(PENDING_KEY)
    if not token:
        flash(str(_("Please sign in first.")), "error")
        return see_other(url_for("accounts.sign_in"))
    form = SignUpForm()
    form.locale.choices = choices((code, LOCALE_NAMES.get(code, code)) for code in org.available_locales)
    if request.method == "GET":
        form.locale.data = select_locale()
    if form.validate_on_submit():
        if not form.accept_terms.data:
            form.accept_terms.errors = [str(_("Please accept the terms of use."))]
            return render_template("identity/sign_up.html", form=form), 422
        try:
            user, session_token, conflict, next_url = services.create_account(
                org, token, nickname=form.nickname.data, name=form.name.data.strip(),
                locale=form.locale.data, accept_terms=True)
        except InvalidState as exc:
            form.form_errors.append(str(exc.message))
            return render_template("identity/sign_up.html", form=form), 409
        sign_in_user(user, session_token)
        flash(str(_conflict_message(conflict) if conflict else _("Welcome! Your account is ready.")),
              "error" if conflict else "success")
        return see_other(safe_next(next_url, url_for("core.home")))
    status = 422 if request.method == "POST" else 200
    return render_template("identity/sign_up.html", form=form), status


@bp.post("/auth/<slug>/backchannel-logout")
def backchannel_logout(slug: str) -> Any:
    """OIDC Back-Channel Logout 1.0: a form POST with `logout_token`; no cookies, no CSRF token."""
    org, provider = current_organization(), _provider(slug)
    token = request.form.get("logout_token")
    headers = {"Cache-Control": "no-store"}
    if not token:
        return jsonify(error="invalid_request"), 400, headers
    try:
        revoked = services.backchannel_logout(org, provider, token)
    except rp.SignInError as exc:
        current_app.logger.warning("back-channel logout from %s refused: %s", provider.slug, exc)
        return jsonify(error="invalid_request", error_description=exc.code), 400, headers
    current_app.logger.info("back-channel logout from %s revoked %d sessions", provider.slug, revoked)
    return "", 200, headers


@bp.get("/account")
def account() -> Any:
    if not current_user.is_authenticated:
        return see_other(url_for("accounts.sign_in", next=url_for(".account")))
    user = current_user._get_current_object()
    grant = grant_of(user)
    verification = services.active_verification(user)
    identities = services.identities_of(user)
    return render_template(
        "identity/account.html", grant=grant, verification=verification, identities=identities,
        conflict=services.open_conflict_of(user), level_labels=LEVEL_LABELS,
        providers=services.enabled_providers(current_organization()),
    )


IMPERSONATOR_KEY = "impersonator_session"


@bp.post("/impersonation/end")
def end_impersonation() -> Any:
    """Stop acting for a managed participant and return to the official's own session."""
    from flask import g

    from ..accounts.login import SESSION_KEY

    FlaskForm().validate_on_submit() or abort(400)
    if not current_user.is_authenticated:  # also loads g.account_session
        abort(400)
    row = g.get("account_session")
    official_token = session.get(IMPERSONATOR_KEY)
    if row is None or row.impersonated_by_id is None:
        abort(400)
    services.end_impersonation(row)
    official_row = services.session_for(official_token)
    if official_row is not None and official_row.user_id == row.impersonated_by_id:
        sign_in_user(official_row.user, official_token)
    else:
        session.pop(SESSION_KEY, None)
    flash(str(_("You stopped acting for this participant.")), "success")
    return see_other(url_for("identity_admin.managed"))
