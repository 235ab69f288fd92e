"""Real sign-in end to end over HTTP against the development provider (npm oidc-provider):
authorization, callback, account creation, eligibility facts, one person one voice, claiming a
managed account, RP-initiated logout and back-channel logout."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import select

from decidim_py.accounts.system import SystemActor
from decidim_py.db import db
from decidim_py.identity.models import AccountSession, EligibilityGrant, Identity, PersonVerification
from decidim_py.identity.services import ProviderData, create_managed_participant, save_provider, save_residence
from decidim_py.testing import make_app, make_organization, make_user

from .live import ACR_MAP, Browser, DevIdp, LiveApp, free_port


@pytest.fixture
def live(database_url, tmp_path) -> Iterator[tuple[LiveApp, DevIdp, object]]:
    port = free_port()
    idp = DevIdp(port, tmp_path / "dev-idp.log")
    app = make_app(database_url, WTF_CSRF_ENABLED=True, ALLOW_INSECURE_ISSUERS=True,
                   PUBLIC_URL_TEMPLATE=f"http://{{host}}:{port}", IDENTITY_SECRET="i", PERSON_SECRET="p",
                   ENCRYPTION_SECRET="e")
    ctx = app.app_context()
    ctx.push()
    org = make_organization(host="127.0.0.1", default_locale="en")
    system = SystemActor(org.id)
    save_residence(system, org, ["08001", "08012", "08024"], {})
    save_provider(system, org, ProviderData(
        slug="dev", display_name={"en": "Dev ID"}, issuer=idp.issuer, client_id="decidim-test",
        client_secret="decidim-test-secret", scopes=["openid", "profile", "address", "birthdate", "national_id"],
        acr_map=ACR_MAP, backchannel_logout=True))
    db.session.commit()
    server = LiveApp(app, port)
    try:
        yield server, idp, org
    finally:
        server.stop()
        idp.stop()
        db.session.remove()
        ctx.pop()
        app.extensions["decidim_db"].engine.dispose()


def _rows(model, **where):
    db.session.rollback()
    db.session.expire_all()  # see what the server's requests committed
    q = select(model)
    for k, v in where.items():
        q = q.where(getattr(model, k) == v)
    return db.session.scalars(q).all()


def test_sign_in_creates_an_account_with_minimal_facts(live):
    app, idp, org = live
    browser = Browser()
    r = browser.sign_in(app, "resident")
    r = browser.sign_up(app, r, "pere", "Pere")
    assert r.status_code == 200 and "My account (Pere)" in r.text
    account = browser.get(f"{app.base}/account")
    assert account.status_code == 200 and "Substantial" in account.text and "Dev ID" in account.text
    (identity,) = _rows(Identity)
    assert "c3fc778c" not in identity.identity_key  # only an HMAC of issuer + subject
    (grant,) = _rows(EligibilityGrant, user_id=identity.user_id)
    assert grant.is_resident is True and grant.age_from["18"] == "1998-04-02"
    (session_row,) = _rows(AccountSession, user_id=identity.user_id)
    assert session_row.provider_sid and session_row.revoked_at is None

    # a returning person is recognised: no second sign-up
    again = Browser()
    r = again.sign_in(app, "resident")
    assert r.status_code == 200 and "My account (Pere)" in r.text
    assert len(_rows(Identity)) == 1


def test_second_account_of_the_same_person_is_told_and_recorded(live):
    app, idp, org = live
    first = Browser()
    first.sign_up(app, first.sign_in(app, "resident"), "pere", "Pere")
    second = Browser()
    r = second.sign_up(app, second.sign_in(app, "resident-second-account"), "pere2", "P. Soler")
    assert "already verified on another account" in r.text and "Dev ID" in r.text
    verifications = _rows(PersonVerification)
    assert len([v for v in verifications if v.revoked_at is None]) == 1


def test_non_resident_and_minor_facts(live):
    app, idp, org = live
    b = Browser()
    b.sign_up(app, b.sign_in(app, "non-resident"), "lucia", "Lucía")
    m = Browser()
    m.sign_up(app, m.sign_in(app, "minor"), "nil", "Nil")
    grants = {g.user_id: g for g in _rows(EligibilityGrant)}
    by_nick = {i.user.nickname: grants[i.user_id] for i in _rows(Identity)}
    assert by_nick["lucia"].is_resident is False
    assert by_nick["nil"].is_resident is True
    assert date.fromisoformat(by_nick["nil"].age_from["18"]) > date.today()


def test_a_level_the_provider_cannot_give_is_refused(live):
    app, idp, org = live
    b = Browser()
    r = b.sign_in(app, "low-assurance", level="substantial")
    assert r.status_code == 403 and "acr_too_low" in r.text
    assert _rows(Identity) == []


def test_an_in_person_account_is_claimed_by_signing_in(live):
    app, idp, org = live
    clerk = make_user(org, "clerk")
    clerk.is_user_manager = True
    db.session.flush()
    managed, _ = create_managed_participant(clerk, org, name="Pere (desk)", nickname="pere_desk",
                                            national_id="12345678Z", postal_code="08012",
                                            birthdate=date(1980, 4, 2), document_checked=True)
    db.session.commit()
    b = Browser()
    r = b.sign_in(app, "resident")
    assert "My account (Pere (desk))" in r.text  # no sign-up: the managed account is now theirs
    db.session.rollback()
    (identity,) = _rows(Identity)
    assert identity.user_id == managed.id and identity.user.is_managed is False


def _confirm_end_session(browser, idp, response):
    """The provider asks to confirm the end of its session; confirming sends back-channel logouts."""
    confirm = browser.follow(response)
    xsrf = Browser.csrf(confirm.text.replace('name="xsrf"', 'name="csrf_token"'))
    return browser.follow(browser.post(f"{idp.issuer}/session/end/confirm", {"xsrf": xsrf, "logout": "yes"}))


def _live_sessions():
    return [s for s in _rows(AccountSession) if s.revoked_at is None]


def test_back_channel_logout_revokes_the_session_of_that_provider_session(live):
    app, idp, org = live
    b = Browser()
    b.sign_up(app, b.sign_in(app, "resident"), "pere", "Pere")
    other = Browser()  # the same person in another browser: another provider session
    other.sign_in(app, "resident")
    assert len(_live_sessions()) == 2
    # the person signs out at the provider (not here): the provider tells us over the back channel
    r = b.get(f"{idp.issuer}/session/end?client_id=decidim-test&post_logout_redirect_uri={app.base}/")
    done = _confirm_end_session(b, idp, r)
    assert done.url.startswith(app.base)
    assert b.get(f"{app.base}/account").status_code == 303  # signed out here too
    assert other.get(f"{app.base}/account").status_code == 200  # the other provider session lives on
    assert len(_live_sessions()) == 1


def test_rp_initiated_logout(live):
    app, idp, org = live
    b = Browser()
    b.sign_up(app, b.sign_in(app, "resident"), "pere", "Pere")
    home = b.get(f"{app.base}/")
    r = b.post(f"{app.base}/sign-out", {"csrf_token": b.csrf(home.text)})
    assert r.status_code == 303 and r.headers["Location"].startswith(idp.issuer + "/session/end")
    assert "client_id=decidim-test" in r.headers["Location"]
    assert _live_sessions() == []  # revoked here at once, before the provider answers
    done = _confirm_end_session(b, idp, r)
    assert done.url.startswith(app.base)
    # the provider session is over too: signing in again shows the persona picker
    page = b.get(f"{app.base}/sign-in")
    r = b.follow(b.post(f"{app.base}/auth/dev/start", {"csrf_token": b.csrf(page.text), "next": "/"}))
    assert "/interaction/" in r.url
