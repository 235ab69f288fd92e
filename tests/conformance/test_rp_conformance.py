"""Relying-party conformance: a complete sign-in against a real (fake) OpenID Provider over HTTP,
once per way a provider can behave or misbehave.

A good provider ends at the sign-up form (a new person) and then a working account page. A bad one
ends at the "Sign-in refused" page (HTTP 403) naming the refusal code, with no identity, session or
pending sign-up stored. Then: state handling, key rotation, the redirect_uri, what is stored, and
back-channel logout.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from sqlalchemy import select, text

from decidim_py.db import Base, db
from decidim_py.identity import rp, services
from decidim_py.identity.keys import token_hash
from decidim_py.identity.models import AccountSession, EligibilityGrant

from . import flow
from .fake_op import signing_keys

ACR_MAP = {"urn:loa:low": "low", "urn:loa:sub": "substantial"}


@dataclass(frozen=True)
class Case:
    mode: str
    code: str | None = None  # the refusal code; None: the sign-in is accepted
    provider: dict[str, Any] = field(default_factory=dict)  # ProviderData overrides
    form: dict[str, str] = field(default_factory=dict)  # extra fields of POST /auth/fake/start
    sent: dict[str, str] = field(default_factory=dict)  # what /authorize must have received
    at_start: bool = False  # refused before the browser is sent to the provider
    level: str = "low"  # the level of assurance an accepted sign-in records

    def __str__(self) -> str:
        return self.mode


STEP_UP = {"form": {"step_up": "1"}, "sent": {"max_age": "0", "prompt": "login"}}
SUBSTANTIAL = {"provider": {"acr_map": ACR_MAP}, "form": {"level": "substantial"},
               "sent": {"acr_values": "urn:loa:sub"}}

GOOD = [
    Case("good"),
    Case("good_es256"),
    Case("good_ps256"),
    Case("good_at_hash"),
    Case("good_acr_substantial", level="substantial", **SUBSTANTIAL),
    Case("good_aud_list"),
    Case("good_iat_30s_future"),
    Case("good_exp_30s_ago"),
    Case("good_step_up_fresh_auth_time", **STEP_UP),
]

BAD = [
    # signatures
    Case("foreign_key_same_kid", "bad_signature"),
    Case("tampered_payload", "bad_signature"),
    Case("alg_none", "alg_not_allowed"),
    Case("hs256_public_key_as_secret", "alg_not_allowed"),
    Case("embedded_jwk_and_jku", "bad_signature"),
    Case("ps256_with_key_published_for_rs256", "unknown_key"),
    # ID token claims
    Case("iss_wrong", "iss_mismatch"),
    Case("iss_missing", "iss_mismatch"),
    Case("aud_other_client", "aud_mismatch"),
    Case("aud_list_with_other_client", "untrusted_audience"),
    Case("azp_other_client", "azp_mismatch"),
    Case("expired_61s_ago", "expired"),
    Case("exp_missing", "exp_missing"),
    Case("iat_120s_future", "iat_in_future"),
    Case("sub_missing", "sub_missing"),
    Case("nonce_wrong", "nonce_mismatch"),
    Case("nonce_missing", "nonce_missing"),
    Case("nonce_non_ascii", "nonce_mismatch"),
    Case("acr_too_low", "acr_too_low", **SUBSTANTIAL),
    Case("acr_not_a_string", "acr_unknown", **SUBSTANTIAL),
    Case("exp_infinity", "exp_invalid"),  # not a NumericDate: must not mean "never expires"
    Case("iat_nan", "iat_invalid"),  # not a NumericDate: must not pass the "issued in the future" check
    Case("auth_time_year_10000", "auth_time_invalid"),
    Case("claims_not_an_object", flow.ANY_CODE),
    Case("at_hash_wrong", "at_hash_mismatch"),
    Case("at_hash_non_ascii", "at_hash_mismatch"),
    Case("auth_time_too_old", "auth_time_too_old", **STEP_UP),
    Case("auth_time_missing", "auth_time_missing", **STEP_UP),
    # the authorization response
    Case("state_mismatch", "state_unknown"),
    Case("iss_param_wrong", "iss_mismatch"),
    Case("iss_param_missing", "iss_missing"),
    Case("provider_error", "provider_error"),
    Case("code_missing", "code_missing"),
    # the token and UserInfo responses
    Case("token_endpoint_error", "token_request_failed"),
    Case("no_id_token", "id_token_missing"),
    Case("id_token_not_a_string", "token_malformed"),
    Case("token_type_not_bearer", "token_type"),
    Case("userinfo_sub_mismatch", "userinfo_sub_mismatch"),
    # discovery: the sign-in cannot start
    Case("discovery_issuer_mismatch", "discovery_issuer_mismatch", at_start=True),
    Case("pkce_not_advertised", "pkce_not_supported", at_start=True),
    Case("pkce_plain_only", "pkce_not_supported", at_start=True),
]


# --- one complete sign-in per mode -------------------------------------------------------------


@pytest.mark.parametrize("case", GOOD, ids=str)
def test_good_provider_is_accepted(case, op, make_provider, client):
    make_provider(**case.provider)
    op.mode = case.mode

    flow.assert_goes_to_sign_up(flow.sign_in(client, **case.form))
    assert {k: op.last_grant.params.get(k) for k in case.sent} == case.sent
    assert flow.count("identity_pending_signups") == 1
    assert flow.count("identities") == flow.count("identity_sessions") == 0  # not before the form

    signed_up = flow.sign_up(client)
    assert signed_up.status_code == 303, signed_up.get_data(as_text=True)
    assert urlsplit(signed_up.headers["Location"]).path == "/"
    flow.assert_signed_in(client, "newperson")
    assert flow.count("identities") == flow.count("identity_sessions") == 1
    assert flow.count("identity_pending_signups") == 0
    assert db.session.scalar(select(EligibilityGrant.level)) == case.level
    session_row = db.session.scalar(select(AccountSession))
    assert session_row.provider_sid == token_hash(op.last_grant.sid)  # kept only as a hash


@pytest.mark.parametrize("case", BAD, ids=str)
def test_misbehaving_provider_is_refused(case, op, make_provider, client):
    make_provider(**case.provider)
    op.mode = case.mode

    started = flow.start(client, **case.form)
    if case.at_start:
        flow.assert_refused(started, case.code)
        assert op.grants == []  # the browser was never sent to the provider
    else:
        response = client.get(flow.at_provider(started))
        assert {k: op.last_grant.params.get(k) for k in case.sent} == case.sent
        flow.assert_refused(response, case.code)
    flow.assert_nothing_created()
    flow.assert_signed_out(client)


ODD = ["sid_too_long", "name_too_long"]


@pytest.mark.parametrize("mode", ODD)
def test_odd_signed_values_never_cause_a_server_error(mode, op, provider, client):
    op.mode = mode
    response = flow.sign_in(client)
    if response.status_code == 403:
        flow.assert_refused(response, flow.ANY_CODE)
        flow.assert_nothing_created()
        return
    flow.assert_goes_to_sign_up(response)
    signed_up = flow.sign_up(client)
    assert signed_up.status_code == 303, signed_up.status_code
    flow.assert_signed_in(client, "newperson")


# --- state -------------------------------------------------------------------------------------


def test_state_is_single_use(op, provider, client):
    callback = flow.at_provider(flow.start(client))
    flow.assert_goes_to_sign_up(client.get(callback))
    flow.assert_refused(client.get(callback), "state_reused")
    assert flow.count("identity_auth_requests", "WHERE used_at IS NULL") == 0
    assert flow.count("identities") == flow.count("identity_sessions") == 0
    assert flow.count("identity_pending_signups") == 1  # only the first callback's


def test_state_is_single_use_after_sign_up_too(op, provider, client, new_browser):
    callback = flow.at_provider(flow.start(client))
    flow.assert_goes_to_sign_up(client.get(callback))
    assert flow.sign_up(client).status_code == 303
    replay = client.get(callback)
    # signing in renewed the session, so the browser binding is gone as well: either code will do
    flow.assert_refused(replay, "state_other_browser" if "state_other_browser" in replay.text else "state_reused")
    assert flow.count("identity_sessions") == 1


def test_callback_in_another_browser_is_refused(op, provider, client, new_browser):
    callback = flow.at_provider(flow.start(client))
    other = new_browser()
    flow.assert_refused(other.get(callback), "state_other_browser")
    flow.assert_nothing_created()
    flow.assert_signed_out(other)


def test_callback_in_a_browser_with_another_sign_in_is_refused(op, provider, client, new_browser):
    callback = flow.at_provider(flow.start(client))
    other = new_browser()
    flow.at_provider(flow.start(other))  # the other browser has a sign-in of its own going
    flow.assert_refused(other.get(callback), "state_other_browser")
    flow.assert_nothing_created()


def test_callback_without_state_is_refused(op, provider, client):
    callback = flow.at_provider(flow.start(client))
    path, query = callback.split("?", 1)
    stripped = "&".join(p for p in query.split("&") if not p.startswith("state="))
    flow.assert_refused(client.get(f"{path}?{stripped}"), "state_missing")
    flow.assert_nothing_created()


def test_refused_callback_still_uses_up_the_state(op, provider, client):
    op.mode = "nonce_wrong"
    callback = flow.at_provider(flow.start(client))
    flow.assert_refused(client.get(callback), "nonce_mismatch")
    op.mode = "good"
    flow.assert_refused(client.get(callback), "state_reused")
    flow.assert_nothing_created()


def test_expired_state_is_refused(op, provider, client, monkeypatch):
    callback = flow.at_provider(flow.start(client))
    eleven_minutes_later = datetime.now(UTC) + timedelta(minutes=11)
    monkeypatch.setattr(services, "utcnow", lambda: eleven_minutes_later)
    flow.assert_refused(client.get(callback), "state_expired")
    flow.assert_nothing_created()


def test_state_of_one_provider_is_refused_at_another_providers_callback(op, make_provider, client):
    make_provider()
    make_provider(slug="other", display_name={"en": "Other ID"})
    callback = flow.at_provider(flow.start(client))
    flow.assert_refused(client.get(callback.replace("/auth/fake/", "/auth/other/")), "state_unknown")
    flow.assert_nothing_created()


def test_next_is_kept_on_site(op, provider, client):
    flow.assert_goes_to_sign_up(client.get(flow.at_provider(flow.start(client, next="//evil.example.test/x"))))
    signed_up = flow.sign_up(client)
    assert signed_up.status_code == 303
    assert signed_up.headers["Location"] == "/"


def test_returning_person_is_signed_in_without_the_form(op, provider, client, new_browser):
    op.subject = "returning-person"
    flow.assert_goes_to_sign_up(flow.sign_in(client))
    assert flow.sign_up(client, "returning").status_code == 303

    again = new_browser()
    response = flow.sign_in(again)
    assert response.status_code == 303
    assert urlsplit(response.headers["Location"]).path == "/"
    flow.assert_signed_in(again, "returning")
    assert flow.count("identities") == 1
    assert flow.count("identity_sessions") == 2


# --- keys --------------------------------------------------------------------------------------


def test_withdrawn_key_is_refused_once_the_jwks_cache_expires(rp_app, op, provider, client, new_browser):
    op.published_kids, op.rsa_kid = ["k1"], "k1"
    flow.assert_goes_to_sign_up(flow.sign_in(client))
    assert op.hits["/jwks"] == 1

    op.published_kids = ["k2"]  # the provider withdraws k1, yet a token still comes signed with it
    rp_app.config["IDENTITY_JWKS_TTL"] = 0  # the cached key set has expired
    other = new_browser()
    flow.assert_refused(flow.sign_in(other), "unknown_key")
    assert op.hits["/jwks"] >= 2
    assert flow.count("identity_pending_signups") == 1  # only the first sign-in's


def test_unknown_kid_triggers_one_rate_limited_refetch(op, provider, new_browser, monkeypatch):
    op.published_kids, op.rsa_kid = ["k1"], "k1"
    flow.assert_goes_to_sign_up(flow.sign_in(new_browser()))
    assert op.hits["/jwks"] == 1

    op.published_kids, op.rsa_kid = ["k2"], "k2"  # rotation: the RP refetches and accepts
    flow.assert_goes_to_sign_up(flow.sign_in(new_browser()))
    assert op.hits["/jwks"] == 2

    op.published_kids, op.rsa_kid = ["k3"], "k3"  # within the refetch interval: no new request
    flow.assert_refused(flow.sign_in(new_browser()), "unknown_key")
    assert op.hits["/jwks"] == 2

    later = time.time() + 61  # once the interval has passed, the RP looks again
    monkeypatch.setattr(rp, "_now", lambda: later)
    flow.assert_goes_to_sign_up(flow.sign_in(new_browser()))
    assert op.hits["/jwks"] == 3


# --- redirect_uri, session, storage -------------------------------------------------------------


def test_redirect_uri_is_built_from_configuration_not_the_request(app, org, op, provider):
    org.secondary_hosts = ["alias.city.example.test"]
    db.session.commit()
    alias = app.test_client()
    started = alias.post("/auth/fake/start", data={"next": "/"},
                         base_url="http://alias.city.example.test:8443",
                         headers={"X-Forwarded-Host": "evil.example.test", "X-Forwarded-Proto": "https"})
    assert started.status_code == 303
    assert flow.query_of(started.headers["Location"])["redirect_uri"] == flow.CALLBACK
    response = requests.get(started.headers["Location"], allow_redirects=False, timeout=10)
    assert response.status_code == 302
    assert op.last_grant.redirect_uri == flow.CALLBACK
    assert response.headers["Location"].startswith(flow.CALLBACK + "?")


def test_token_request_repeats_the_configured_redirect_uri_and_pkce_verifier(op, provider, client):
    flow.assert_goes_to_sign_up(flow.sign_in(client))
    (token_request,) = op.token_requests
    assert token_request["redirect_uri"] == flow.CALLBACK
    assert token_request["authorization"].startswith("Basic ")
    assert "client_secret" not in token_request  # client_secret_basic: never in the body
    assert op.last_grant.params["code_challenge_method"] == "S256"


def test_sign_in_renews_the_session_and_stores_no_raw_state_or_subject(app, op, provider, client):
    op.subject = "raw-subject-5f3a9c1e77d2"
    started = flow.start(client)
    state = flow.query_of(started.headers["Location"])["state"]
    before = flow.session_cookie(client)
    assert before is not None

    flow.assert_goes_to_sign_up(client.get(flow.at_provider(started)))
    after_callback = flow.session_cookie(client)
    assert flow.sign_up(client).status_code == 303
    after_sign_up = flow.session_cookie(client)
    assert len({before, after_callback, after_sign_up}) == 3
    cookie = app.session_interface.get_signing_serializer(app).loads(after_sign_up)
    assert "oidc_browser" not in cookie and "oidc_pending" not in cookie  # a fresh session

    (auth_request,) = flow.rows("identity_auth_requests")
    assert auth_request["state_hash"] == hashlib.sha256(state.encode()).hexdigest()
    assert state not in repr(auth_request)
    for table in ("identities", "identity_sessions"):
        assert flow.rows(table), table
        assert op.subject not in repr(flow.rows(table)), table
    dump = _database_dump()
    assert state not in dump
    assert op.subject not in dump


def _database_dump() -> str:
    db.session.commit()
    names = [t.name for t in Base.metadata.sorted_tables]
    return "\n".join(repr(db.session.execute(text(f'SELECT * FROM "{n}"')).all()) for n in names)


# --- back-channel logout -----------------------------------------------------------------------


@pytest.fixture
def signed_in(op, make_provider, client):
    """A person signed in (and signed up) through the fake provider, which offers back-channel logout."""
    make_provider(backchannel_logout=True)
    flow.assert_goes_to_sign_up(flow.sign_in(client))
    assert flow.sign_up(client).status_code == 303
    flow.assert_signed_in(client, "newperson")
    return op.last_grant


def _logout(new_browser, token: str) -> Any:
    """The provider's POST: no cookies, a form with logout_token."""
    return new_browser().post("/auth/fake/backchannel-logout", data={"logout_token": token})


def _live_sessions() -> int:
    return flow.count("identity_sessions", "WHERE revoked_at IS NULL")


def test_backchannel_logout_by_sid_revokes_the_session(op, signed_in, client, new_browser):
    response = _logout(new_browser, op.logout_token(sid=signed_in.sid))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    assert _live_sessions() == 0
    flow.assert_signed_out(client)


def test_backchannel_logout_refuses_a_replayed_jti(op, signed_in, client, new_browser):
    token = op.logout_token(sid=signed_in.sid)
    assert _logout(new_browser, token).status_code == 200
    replay = _logout(new_browser, token)
    assert replay.status_code == 400
    assert replay.get_json()["error_description"] == "logout_replayed"


def test_backchannel_logout_by_sub_only_revokes_that_identitys_sessions(op, signed_in, client, new_browser):
    op.subject = signed_in.sub  # the same person signs in from a second browser
    second = new_browser()
    assert flow.sign_in(second).status_code == 303
    flow.assert_signed_in(second, "newperson")
    op.subject = None  # somebody else signs in too
    third = new_browser()
    flow.assert_goes_to_sign_up(flow.sign_in(third))
    assert flow.sign_up(third, "somebody").status_code == 303
    assert _live_sessions() == 3

    response = _logout(new_browser, op.logout_token(sub=signed_in.sub))
    assert response.status_code == 200
    flow.assert_signed_out(client)
    flow.assert_signed_out(second)
    flow.assert_signed_in(third, "somebody")
    assert _live_sessions() == 1


def test_backchannel_logout_between_callback_and_sign_up_form_is_not_lost(op, make_provider, client, new_browser):
    """The provider ends its session while the person is still on the sign-up form: the account may be
    created, but no live session may come out of the provider session that was logged out."""
    make_provider(backchannel_logout=True)
    flow.assert_goes_to_sign_up(flow.sign_in(client))
    assert _logout(new_browser, op.logout_token(sid=op.last_grant.sid)).status_code == 200
    flow.sign_up(client)
    assert _live_sessions() == 0
    flow.assert_signed_out(client)


BAD_LOGOUT_TOKENS = {
    "nonce": ({"nonce": "n-0S6_WzA2Mj"}, "logout_nonce"),
    "no_events": ({"drop": ("events",)}, "logout_events"),
    "events_without_backchannel_event": ({"events": {"http://example.test/other-event": {}}}, "logout_events"),
    "no_sid_and_no_sub": ({"sid": None}, "logout_no_subject"),
    "no_jti": ({"drop": ("jti",)}, "logout_jti_missing"),
    "aud_other_client": ({"aud": "other-client"}, "aud_mismatch"),
    "iss_wrong": ({"iss": "https://evil.example.test"}, "iss_mismatch"),
    "bad_signature": ({"signer": "foreign_key"}, "bad_signature"),
    "tampered": ({"signer": "tampered"}, "bad_signature"),
    "alg_none": ({"signer": "none"}, "alg_not_allowed"),
    "typ_access_token": ({"typ": "at+jwt"}, "logout_typ"),
    "expired": ({"iat": int(time.time()) - 3600, "exp": int(time.time()) - 3000}, "expired"),
    "exp_infinity": ({"exp": float("inf")}, "exp_invalid"),  # not NumericDates
    "iat_nan": ({"iat": float("nan")}, "iat_invalid"),
}


@pytest.mark.parametrize("name", list(BAD_LOGOUT_TOKENS))
def test_backchannel_logout_refuses_a_bad_token(name, op, signed_in, client, new_browser):
    options, code = BAD_LOGOUT_TOKENS[name]
    options = {"sid": signed_in.sid, **options}
    response = _logout(new_browser, op.logout_token(**options))
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.get_json()["error"] == "invalid_request"
    if code is not None:
        assert response.get_json()["error_description"] == code
    assert _live_sessions() == 1
    flow.assert_signed_in(client, "newperson")


def test_backchannel_logout_with_a_long_jti_never_causes_a_server_error(op, signed_in, client, new_browser):
    response = _logout(new_browser, op.logout_token(sid=signed_in.sid, jti="j" * 300))
    assert response.status_code in (200, 400), response.status_code
    assert _live_sessions() == (0 if response.status_code == 200 else 1)


def test_backchannel_logout_without_a_token_is_a_bad_request(op, signed_in, new_browser):
    response = new_browser().post("/auth/fake/backchannel-logout", data={})
    assert response.status_code == 400
    assert _live_sessions() == 1


def test_backchannel_logout_is_refused_when_the_provider_does_not_offer_it(op, provider, client, new_browser):
    flow.assert_goes_to_sign_up(flow.sign_in(client))
    assert flow.sign_up(client).status_code == 303
    response = _logout(new_browser, op.logout_token(sid=op.last_grant.sid))
    assert response.status_code == 400
    assert response.get_json()["error_description"] == "backchannel_disabled"
    flow.assert_signed_in(client, "newperson")


def test_the_fake_provider_publishes_only_public_keys(op):
    jwks = requests.get(op.issuer + "/jwks", timeout=10).json()
    assert {k["kid"] for k in jwks["keys"]} == {"k1", "k2", "e1"}
    assert all("d" not in k for k in jwks["keys"])
    assert signing_keys()["foreign"].as_dict(private=False)["n"] not in {k.get("n") for k in jwks["keys"]}


def test_private_key_jwt_client_authentication(op, make_provider, client):
    """The client authenticates with a JWT signed by its own key (RFC 7523), no shared secret."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from joserfc.jwk import RSAKey

    from decidim_py.identity.models import ClientAuth

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    op.client_public_key = RSAKey.import_key(private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    make_provider(client_auth=ClientAuth.PRIVATE_KEY_JWT, client_secret=None, private_key=pem)
    flow.assert_goes_to_sign_up(flow.sign_in(client))
    request = op.token_requests[-1]
    assert request["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    assert request["authorization"] == ""  # no shared secret sent
    # a wrong key is refused by the provider, and so the sign-in is refused here
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    op.client_public_key = RSAKey.import_key(other.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    fresh = client.application.test_client()
    fresh.host = client.host
    flow.assert_refused(flow.sign_in(fresh), "token_request_failed")
