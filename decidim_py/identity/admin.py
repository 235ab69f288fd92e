"""Admin screens: identity providers, person-key conflicts, residence, managed participants."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, abort, flash, render_template, request, url_for
from flask_babel import lazy_gettext as _
from sqlalchemy import select

from ..accounts.login import sign_in_user
from ..accounts.models import User
from ..admin import admin_required
from ..db import db
from ..forms import choices
from ..permissions import require
from ..tenancy import current_organization
from ..web import actor, run_form, see_other
from . import services
from .forms import ImpersonateForm, ManagedParticipantForm, ProviderForm, ResidenceForm, TransferForm
from .models import ClientAuth, ConflictState, IdentityProvider, PersonConflict

bp = Blueprint("identity_admin", __name__, url_prefix="/admin/identity")
bp.before_request(admin_required)


def _loads(text: str | None) -> dict[str, Any]:
    return json.loads(text) if text and text.strip() else {}


def _provider_data(form: ProviderForm) -> services.ProviderData:
    return services.ProviderData(
        slug=form.slug.data.strip(), display_name=form.display_name.data, issuer=form.issuer.data.strip(),
        client_id=form.client_id.data.strip(), client_auth=ClientAuth(form.client_auth.data),
        client_secret=form.client_secret.data or None, private_key=form.private_key.data or None,
        scopes=form.scopes.data.split(), claims_request=_loads(form.claims_request.data),
        acr_map=_loads(form.acr_map.data), claim_map=_loads(form.claim_map.data),
        signing_algs=form.signing_algs.data.split(), eligibility_days=form.eligibility_days.data or 90,
        backchannel_logout=bool(form.backchannel_logout.data), is_enabled=bool(form.is_enabled.data),
    )


@bp.get("/providers")
def providers() -> Any:
    org = current_organization()
    require(actor(), "identity.provider.manage", org)
    rows = db.session.scalars(select(IdentityProvider).where(IdentityProvider.organization_id == org.id)
                              .order_by(IdentityProvider.id)).all()
    return render_template("admin/identity/providers.html", providers=rows,
                           redirect_uri=lambda p: services.redirect_uri(org, p))


@bp.route("/providers/new", methods=["GET", "POST"])
@bp.route("/providers/<int:provider_id>/edit", methods=["GET", "POST"])
def edit_provider(provider_id: int | None = None) -> Any:
    org = current_organization()
    require(actor(), "identity.provider.manage", org)
    provider = None
    if provider_id is not None:
        provider = db.session.get(IdentityProvider, provider_id)
        if provider is None or provider.organization_id != org.id:
            abort(404)
    form = ProviderForm(obj=provider)
    form.client_auth.choices = choices((m.value, m.value) for m in ClientAuth)
    if provider is not None and request.method == "GET":
        form.client_secret.data = ""
        form.private_key.data = ""
        form.scopes.data = " ".join(provider.scopes or [])
        form.signing_algs.data = " ".join(provider.signing_algs or [])
        for name in ("claims_request", "acr_map", "claim_map"):
            form[name].data = json.dumps(getattr(provider, name) or {}, ensure_ascii=False)
    return run_form(
        form, lambda: services.save_provider(actor(), org, _provider_data(form), provider),
        success=_("Identity provider saved."), redirect_to=lambda _p: url_for(".providers"),
        template="admin/identity/provider_form.html", provider=provider,
    )


@bp.get("/conflicts")
def conflicts() -> Any:
    org = current_organization()
    require(actor(), "identity.conflict.manage", org)
    rows = db.session.scalars(select(PersonConflict).where(
        PersonConflict.organization_id == org.id).order_by(PersonConflict.id.desc()).limit(200)).all()
    return render_template("admin/identity/conflicts.html", conflicts=rows, states=ConflictState,
                           form=TransferForm(formdata=None))


@bp.post("/conflicts/<int:conflict_id>/transfer")
def transfer(conflict_id: int) -> Any:
    org = current_organization()
    conflict = db.session.get(PersonConflict, conflict_id)
    if conflict is None or conflict.organization_id != org.id:
        abort(404)
    form = TransferForm()
    if not form.validate_on_submit():
        flash(str(_("Please give the reason for the transfer.")), "error")
        return see_other(url_for(".conflicts"))
    services.transfer_conflict(actor(), conflict, form.reason.data)
    flash(str(_("The verification now backs the other account.")), "success")
    return see_other(url_for(".conflicts"))


@bp.route("/residence", methods=["GET", "POST"])
def residence() -> Any:
    org = current_organization()
    require(actor(), "identity.residence.manage", org)
    form = ResidenceForm()
    if request.method == "GET":
        form.postal_codes.data = " ".join(org.postal_codes or [])
        form.zones.data = json.dumps(org.zones or {}, ensure_ascii=False, indent=1)

    def save() -> None:
        codes = [c for c in form.postal_codes.data.replace(",", " ").split() if c]
        services.save_residence(actor(), org, codes, _loads(form.zones.data))

    return run_form(form, save, success=_("Residence settings saved."),
                    redirect_to=lambda _r: url_for(".residence"), template="admin/identity/residence.html")


@bp.route("/managed", methods=["GET", "POST"])
def managed() -> Any:
    org = current_organization()
    require(actor(), "identity.managed.manage", org)
    form = ManagedParticipantForm()
    rows = db.session.scalars(select(User).where(User.organization_id == org.id, User.is_managed.is_(True))
                              .order_by(User.id.desc()).limit(200)).all()
    return run_form(
        form,
        lambda: services.create_managed_participant(
            actor(), org, name=form.name.data.strip(), nickname=form.nickname.data.strip(),
            national_id=form.national_id.data, postal_code=(form.postal_code.data or "").strip() or None,
            birthdate=form.birthdate.data, document_checked=bool(form.document_checked.data)),
        success=_("Managed participant created."), redirect_to=lambda _r: url_for(".managed"),
        template="admin/identity/managed.html", participants=rows, impersonate_form=ImpersonateForm(formdata=None),
    )


@bp.post("/managed/<int:user_id>/impersonate")
def impersonate(user_id: int) -> Any:
    org = current_organization()
    user = db.session.get(User, user_id)
    if user is None or user.organization_id != org.id:
        abort(404)
    form = ImpersonateForm()
    if not form.validate_on_submit():
        flash(str(_("Please give the reason.")), "error")
        return see_other(url_for(".managed"))
    from flask import session

    from ..accounts.login import SESSION_KEY
    from .views import IMPERSONATOR_KEY

    token, _imp = services.start_impersonation(actor(), user, form.reason.data)
    official_token = session.get(SESSION_KEY)
    sign_in_user(user, token)
    session[IMPERSONATOR_KEY] = official_token
    flash(str(_("You are now acting for %(name)s for at most 30 minutes.", name=user.name)), "success")
    return see_other(url_for("core.home"))
