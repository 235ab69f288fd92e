"""Assisted participation (managed participants, impersonation) and provider configuration."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from decidim_py.accounts.models import User
from decidim_py.accounts.system import SystemActor
from decidim_py.db import db
from decidim_py.errors import InvalidState
from decidim_py.identity import keys
from decidim_py.identity.models import ClientAuth, IdentityProvider, Impersonation, PersonVerification
from decidim_py.identity.services import (
    ProviderData,
    create_managed_participant,
    save_provider,
    save_residence,
    start_impersonation,
)
from decidim_py.permissions import NotAllowed
from decidim_py.testing import login_as, make_admin, make_user
from decidim_py.transparency import DecisionRecord, Visibility


@pytest.fixture
def manager(app, org):
    save_residence(SystemActor(org.id), org, ["08001"], {})
    user = make_user(org, "clerk", name="Clerk")
    user.is_user_manager = True
    db.session.flush()
    return user


def _create(manager, org, **kw):
    values = dict(name="Maria", nickname="maria", national_id="12345678Z", postal_code="08001",
                  birthdate=date(1950, 5, 5), document_checked=True)
    values.update(kw)
    return create_managed_participant(manager, org, **values)


def test_managed_participant_gets_the_same_person_key_as_online(app, org, manager):
    with pytest.raises(NotAllowed):
        _create(make_user(org), org)
    with pytest.raises(InvalidState):
        _create(manager, org, document_checked=False)
    user, conflict = _create(manager, org)
    assert conflict is None and user.is_managed
    verification = db.session.scalar(select(PersonVerification).where(PersonVerification.user_id == user.id))
    assert verification.person_key == keys.person_key(org.id, "12345678z", kind="national_id")
    with pytest.raises(InvalidState):  # the same person cannot get a second managed account
        _create(manager, org, nickname="maria2", national_id="12 345 678 Z")
    entry = db.session.scalar(select(DecisionRecord).where(DecisionRecord.action == "identity.managed.create"))
    assert entry.visibility == Visibility.ADMIN and "12345678" not in repr(entry.changes)


def test_impersonation_needs_a_reason_lasts_30_minutes_and_is_recorded(app, org, manager, client):
    user, _ = _create(manager, org)
    ordinary = make_user(org)
    with pytest.raises(InvalidState):
        start_impersonation(manager, user, "  ")
    with pytest.raises(InvalidState):
        start_impersonation(manager, ordinary, "help")  # not a managed participant
    with pytest.raises(NotAllowed):
        start_impersonation(make_user(org), user, "help")
    db.session.commit()

    login_as(client, manager)
    r = client.post(f"/admin/identity/managed/{user.id}/impersonate", data={"reason": "At the civic centre desk"})
    assert r.status_code == 303
    html = client.get("/").get_data(as_text=True)
    assert "You are acting for Maria" in html
    db.session.rollback()
    imp = db.session.scalar(select(Impersonation))
    assert imp.reason == "At the civic centre desk"
    assert timedelta(minutes=29) < imp.expires_at - imp.started_at <= timedelta(minutes=30)
    r = client.post("/impersonation/end")
    assert r.status_code == 303
    html = client.get("/admin/identity/managed").get_data(as_text=True)
    assert "You are acting for" not in html and "Clerk" in html  # back to the official's own session
    db.session.rollback()
    actions = [a for a in db.session.scalars(select(DecisionRecord.action).order_by(DecisionRecord.id))
               if a.startswith("identity.impersonation")]
    assert actions == ["identity.impersonation.start", "identity.impersonation.end"]


def _data(**kw):
    values = dict(slug="city-idp", display_name={"en": "City ID"}, issuer="https://id.city.example",
                  client_id="decidim", client_secret="s3cret")
    values.update(kw)
    return ProviderData(**values)


def test_provider_secret_is_encrypted_and_never_recorded(app, org):
    admin = make_admin(org)
    provider = save_provider(admin, org, _data())
    assert b"s3cret" not in provider.client_secret_encrypted
    assert keys.decrypt(provider.client_secret_encrypted) == "s3cret"
    entry = db.session.scalar(select(DecisionRecord).where(DecisionRecord.action == "identity.provider.create"))
    assert entry.changes["client_secret"] == "changed" and "s3cret" not in repr(entry.changes)
    save_provider(admin, org, _data(client_secret=None, scopes=["openid", "address"]), provider)
    assert keys.decrypt(provider.client_secret_encrypted) == "s3cret"  # kept when left empty
    update = db.session.scalars(select(DecisionRecord).where(DecisionRecord.action == "identity.provider.update")).all()
    assert update and "scopes" in update[-1].changes


@pytest.mark.parametrize("issuer", ["http://id.city.example", "https://127.0.0.1", "https://localhost:8443",
                                    "https://id.example/?x=1", "ftp://id.example"])
def test_production_refuses_insecure_or_loopback_issuers(app, org, issuer):
    with pytest.raises(InvalidState):
        save_provider(make_admin(org), org, _data(issuer=issuer))


def test_development_allows_a_loopback_issuer_and_marks_it(app, org):
    app.config["ALLOW_INSECURE_ISSUERS"] = True
    provider = save_provider(make_admin(org), org, _data(issuer="http://127.0.0.1:5001"))
    assert provider.is_development


def test_only_organisation_admins_manage_providers_and_algorithms_are_allowlisted(app, org):
    with pytest.raises(NotAllowed):
        save_provider(make_user(org), org, _data())
    with pytest.raises(InvalidState):
        save_provider(make_admin(org), org, _data(signing_algs=["none"]))
    with pytest.raises(InvalidState):
        save_provider(make_admin(org), org, _data(signing_algs=["HS256"]))
    with pytest.raises(InvalidState):
        save_provider(make_admin(org), org, _data(client_auth=ClientAuth.PRIVATE_KEY_JWT, client_secret=None))


def test_provider_admin_screen_and_sign_in_page(app, org, client):
    admin = make_admin(org)
    db.session.commit()
    login_as(client, admin)
    r = client.post("/admin/identity/providers/new", data={
        "display_name-en": "City ID", "slug": "city-idp", "issuer": "https://id.city.example",
        "client_id": "decidim", "client_auth": "client_secret_basic", "client_secret": "s3cret",
        "scopes": "openid profile", "acr_map": '{"urn:loa:2": "substantial"}', "claim_map": "",
        "claims_request": "", "signing_algs": "RS256", "eligibility_days": "90", "is_enabled": "y"})
    assert r.status_code == 303, r.get_data(as_text=True)
    html = client.get("/admin/identity/providers").get_data(as_text=True)
    assert "https://city.example.test/auth/city-idp/callback" in html
    r = client.post("/admin/identity/providers/new", data={"display_name-en": "X", "slug": "x", "issuer": "y",
                                                           "client_id": "c", "acr_map": "{not json"})
    assert r.status_code == 422
    login_as(client, None)
    assert "Sign in with City ID" in client.get("/sign-in").get_data(as_text=True)
    db.session.rollback()
    assert db.session.scalar(select(IdentityProvider.slug)) == "city-idp"
    assert db.session.scalar(select(User).where(User.nickname == "x")) is None


def test_sign_in_on_a_secondary_host_moves_to_the_main_host(app):
    from decidim_py.testing import make_organization

    org = make_organization(host="main.example.test", secondary_hosts=["alias.example.test"])
    db.session.commit()
    c = app.test_client()
    c.host = "alias.example.test"
    r = c.get("/sign-in?next=/processes/")
    assert r.status_code == 303
    assert r.headers["Location"] == "https://main.example.test/sign-in?next=/processes/"
    del org
