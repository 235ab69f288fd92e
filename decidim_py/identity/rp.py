"""A hardened OpenID Connect relying party (authorization code flow + PKCE) on Authlib.

Authlib does the OAuth 2.0 token request (client authentication: client_secret_basic,
client_secret_post, private_key_jwt) and joserfc (Authlib's JOSE library) the JWS verification.
Everything Authlib alone would accept but a relying party must refuse is checked here, each with its
own error code (see `SignInError`): discovery issuer, PKCE S256 support, state (single use, bound to
the browser, server side), RFC 9207 `iss`, signature algorithm allowlist (never `none`), key id
lookup with a rate-limited refetch, `iss`, `aud`, `azp`, `exp`/`iat` with 60 s leeway, `nonce`,
`at_hash`, `acr`, `auth_time` against `max_age`, and the UserInfo `sub`. Back-channel logout tokens
are validated per OIDC Back-Channel Logout 1.0 §2.6.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from flask import current_app
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from .models import Assurance, ClientAuth, IdentityProvider

LEEWAY = 60  # seconds, for exp / iat / auth_time
ALLOWED_ALGS = ("RS256", "PS256", "ES256")
BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"
HTTP_TIMEOUT = 8


class SignInError(Exception):  # noqa: N818
    """A refused sign-in. `code` is stable (tests, logs); the message is for the person."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail


# --- caches (per process) ----------------------------------------------------------------------


@dataclass
class _Cached:
    value: Any
    fetched_at: float


@dataclass
class _Caches:
    lock: threading.Lock = field(default_factory=threading.Lock)
    discovery: dict[str, _Cached] = field(default_factory=dict)
    jwks: dict[str, _Cached] = field(default_factory=dict)
    jwks_refetch: dict[str, float] = field(default_factory=dict)


_caches = _Caches()


def clear_caches() -> None:
    with _caches.lock:
        _caches.discovery.clear()
        _caches.jwks.clear()
        _caches.jwks_refetch.clear()


def _setting(name: str, default: float) -> float:
    try:
        return float(current_app.config.get(name, default))
    except RuntimeError:  # outside an app context
        return default


def _now() -> float:
    return time.time()


def _http() -> requests.Session:
    session = requests.Session()
    session.headers["User-Agent"] = "decidim-py relying party"
    return session


def _get_json(url: str) -> dict[str, Any]:
    try:
        response = _http().get(url, timeout=HTTP_TIMEOUT)
    except requests.RequestException as exc:
        raise SignInError("provider_unreachable", f"{url}: {exc}") from exc
    if response.status_code != 200:
        raise SignInError("provider_http_error", f"{url}: HTTP {response.status_code}")
    try:
        data = response.json()
    except ValueError as exc:
        raise SignInError("provider_bad_json", url) from exc
    if not isinstance(data, dict):
        raise SignInError("provider_bad_json", url)
    return data


def discovery(provider: IdentityProvider) -> dict[str, Any]:
    """The provider's metadata, fetched from its issuer and cached with a TTL."""
    ttl = _setting("IDENTITY_DISCOVERY_TTL", 3600)
    with _caches.lock:
        cached = _caches.discovery.get(provider.issuer)
        if cached and _now() - cached.fetched_at < ttl:
            return cached.value
    url = provider.issuer.rstrip("/") + "/.well-known/openid-configuration"
    meta = _get_json(url)
    if meta.get("issuer") != provider.issuer:
        raise SignInError("discovery_issuer_mismatch",
                          f"configured {provider.issuer!r}, document says {meta.get('issuer')!r}")
    for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not isinstance(meta.get(key), str):
            raise SignInError("discovery_incomplete", key)
    if "S256" not in (meta.get("code_challenge_methods_supported") or []):
        raise SignInError("pkce_not_supported", "the provider does not advertise PKCE S256")
    if "code" not in (meta.get("response_types_supported") or ["code"]):
        raise SignInError("code_flow_not_supported")
    with _caches.lock:
        _caches.discovery[provider.issuer] = _Cached(meta, _now())
    return meta


def _fetch_jwks(uri: str) -> KeySet:
    data = _get_json(uri)
    keys = [k for k in data.get("keys", []) if isinstance(k, dict) and k.get("use", "sig") == "sig"]
    try:
        return KeySet.import_key_set({"keys": keys})
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise SignInError("jwks_invalid", str(exc)) from exc


def signing_key(provider: IdentityProvider, kid: str | None, alg: str) -> Any:
    """The provider's key for `kid`. The key set is cached with a TTL (so a withdrawn key stops
    being trusted); an unknown kid triggers a refetch at most once per refetch interval."""
    uri = discovery(provider)["jwks_uri"]
    ttl = _setting("IDENTITY_JWKS_TTL", 600)
    interval = _setting("IDENTITY_JWKS_REFETCH_INTERVAL", 60)
    with _caches.lock:
        cached = _caches.jwks.get(uri)
    if cached is None or _now() - cached.fetched_at >= ttl:
        cached = _Cached(_fetch_jwks(uri), _now())
        with _caches.lock:
            _caches.jwks[uri] = cached
    key = _find_key(cached.value, kid, alg)
    if key is None:
        with _caches.lock:
            last = _caches.jwks_refetch.get(uri, 0.0)
            allowed = _now() - last >= interval
            if allowed:
                _caches.jwks_refetch[uri] = _now()
        if allowed:
            cached = _Cached(_fetch_jwks(uri), _now())
            with _caches.lock:
                _caches.jwks[uri] = cached
            key = _find_key(cached.value, kid, alg)
    if key is None:
        raise SignInError("unknown_key", f"no key {kid!r} for {alg}")
    return key


_KTY = {"RS256": "RSA", "PS256": "RSA", "ES256": "EC"}


def _find_key(keyset: KeySet, kid: str | None, alg: str) -> Any:
    candidates = [k for k in keyset.keys if k.key_type == _KTY[alg]]
    if kid is not None:
        candidates = [k for k in candidates if k.kid == kid]
    elif len(candidates) != 1:
        return None  # without a kid, only an unambiguous key will do
    for k in candidates:
        key_alg = getattr(k, "alg", None)
        if key_alg in (None, alg):
            return k
    return None


# --- the authorization request -----------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class AuthorizationStart:
    url: str
    state: str
    nonce: str
    code_verifier: str


def authorization_url(
    provider: IdentityProvider,
    *,
    redirect_uri: str,
    client_secret: str | None,
    required_level: Assurance,
    max_age: int | None = None,
    ui_locales: str | None = None,
    prompt_login: bool = False,
) -> AuthorizationStart:
    meta = discovery(provider)
    state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64)
    challenge = _b64(hashlib.sha256(verifier.encode()).digest())
    claims = json.loads(json.dumps(provider.claims_request or {}))
    acr_values = provider.acr_values_for(required_level)
    if acr_values:
        claims.setdefault("id_token", {})["acr"] = {"essential": True, "values": acr_values}
    params: dict[str, Any] = {
        "response_type": "code",
        "client_id": provider.client_id,
        "redirect_uri": redirect_uri,
        "scope": " ".join(dict.fromkeys(["openid", *(provider.scopes or [])])),
        "state": state,
        "nonce": nonce,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    if acr_values:
        params["acr_values"] = " ".join(acr_values)
    if claims:
        params["claims"] = json.dumps(claims, separators=(",", ":"))
    if max_age is not None:
        params["max_age"] = str(max_age)
    if prompt_login:
        params["prompt"] = "login"
    if ui_locales:
        params["ui_locales"] = ui_locales
    endpoint = meta["authorization_endpoint"]
    sep = "&" if urlsplit(endpoint).query else "?"
    return AuthorizationStart(endpoint + sep + urlencode(params), state, nonce, verifier)


# --- the callback ------------------------------------------------------------------------------


@dataclass
class VerifiedSignIn:
    issuer: str
    subject: str
    claims: dict[str, Any]  # ID token claims, then UserInfo claims for what the token lacked
    level: Assurance
    sid: str | None
    auth_time: datetime | None


def check_authorization_response(provider: IdentityProvider, params: dict[str, str]) -> str:
    """RFC 9207 and error handling, before the code is redeemed. Returns the code."""
    meta = discovery(provider)
    iss = params.get("iss")
    if meta.get("authorization_response_iss_parameter_supported") and iss is None:
        raise SignInError("iss_missing", "the provider promised an iss parameter and sent none")
    if iss is not None and iss != provider.issuer:
        raise SignInError("iss_mismatch", f"authorization response iss {iss!r}")
    if "error" in params:
        raise SignInError("provider_error", f"{params.get('error')}: {params.get('error_description', '')}")
    code = params.get("code")
    if not code:
        raise SignInError("code_missing")
    return code


def redeem_code(
    provider: IdentityProvider,
    *,
    code: str,
    redirect_uri: str,
    code_verifier: str,
    client_secret: str | None,
    private_key: str | None = None,
) -> dict[str, Any]:
    meta = discovery(provider)
    token_endpoint = meta["token_endpoint"]
    method = ClientAuth(provider.client_auth)
    secret = private_key if method == ClientAuth.PRIVATE_KEY_JWT else client_secret
    session = OAuth2Session(
        client_id=provider.client_id,
        client_secret=secret,
        token_endpoint_auth_method=method.value,
        redirect_uri=redirect_uri,
    )
    if method == ClientAuth.PRIVATE_KEY_JWT:
        session.register_client_auth_method(PrivateKeyJWT(token_endpoint, alg="RS256"))
    try:
        token = session.fetch_token(
            token_endpoint, grant_type="authorization_code", code=code,
            code_verifier=code_verifier, timeout=HTTP_TIMEOUT,
        )
    except Exception as exc:  # authlib raises OAuthError, requests its own; all mean refused
        raise SignInError("token_request_failed", str(exc)) from exc
    if str(token.get("token_type", "")).lower() != "bearer":
        raise SignInError("token_type", str(token.get("token_type")))
    if not token.get("id_token"):
        raise SignInError("id_token_missing")
    if not isinstance(token["id_token"], str):
        raise SignInError("token_malformed", "id_token is not a string")
    if "access_token" in token and not isinstance(token["access_token"], str):
        raise SignInError("token_malformed", "access_token is not a string")
    return dict(token)


def _decode_jws(provider: IdentityProvider, token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Verify a compact JWS against the provider's keys: (header, claims)."""
    try:
        header_segment = token.split(".")[0]
        header = json.loads(base64.urlsafe_b64decode(header_segment + "=" * (-len(header_segment) % 4)))
    except (ValueError, IndexError) as exc:
        raise SignInError("token_malformed", str(exc)) from exc
    if not isinstance(header, dict):
        raise SignInError("token_malformed", "header")
    alg = header.get("alg")
    allowed = [a for a in (provider.signing_algs or ALLOWED_ALGS) if a in ALLOWED_ALGS]
    if alg not in allowed:
        raise SignInError("alg_not_allowed", repr(alg))
    if header.get("crit"):
        raise SignInError("token_malformed", "unsupported crit header")
    key = signing_key(provider, header.get("kid"), alg)
    try:
        verified = jwt.decode(token, key, algorithms=[alg])
    except JoseError as exc:
        raise SignInError("bad_signature", str(exc)) from exc
    except ValueError as exc:
        raise SignInError("token_malformed", str(exc)) from exc
    return dict(verified.header), dict(verified.claims)


MAX_TIMESTAMP = 253402300799  # 9999-12-31T23:59:59Z: anything later is not a real time


def _timestamp(value: Any) -> float | None:
    """A NumericDate: a finite int or float (not a bool) within the years 1970-9999."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not math.isfinite(value) or not 0 <= value <= MAX_TIMESTAMP:
        return None
    return float(value)


def _same(a: Any, b: str) -> bool:
    """Constant-time comparison of a claim with an expected string (any claim type accepted)."""
    return isinstance(a, str) and secrets.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def _check_time_claims(claims: dict[str, Any], now: float, *, require_exp: bool = True) -> None:
    exp, iat = _timestamp(claims.get("exp")), _timestamp(claims.get("iat"))
    if require_exp or "exp" in claims:
        if exp is None:
            raise SignInError("exp_missing" if "exp" not in claims else "exp_invalid")
        if now > exp + LEEWAY:
            raise SignInError("expired", f"expired {int(now - exp)} s ago")
    if iat is None:
        raise SignInError("iat_missing" if "iat" not in claims else "iat_invalid")
    if iat > now + LEEWAY:
        raise SignInError("iat_in_future", f"issued {int(iat - now)} s ahead")


def _check_audience(provider: IdentityProvider, claims: dict[str, Any]) -> None:
    aud = claims.get("aud")
    audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else None
    if not audiences or provider.client_id not in audiences:
        raise SignInError("aud_mismatch", repr(aud))
    untrusted = [a for a in audiences if a != provider.client_id]
    if untrusted:
        raise SignInError("untrusted_audience", repr(untrusted))
    azp = claims.get("azp")
    if azp is not None and azp != provider.client_id:
        raise SignInError("azp_mismatch", repr(azp))


def _at_hash(access_token: str, alg: str) -> str:
    digest = hashlib.sha256(access_token.encode()).digest()  # all allowed algs use SHA-256
    return _b64(digest[: len(digest) // 2])


def validate_id_token(
    provider: IdentityProvider,
    id_token: str,
    *,
    nonce: str,
    access_token: str | None,
    required_level: Assurance,
    max_age: int | None,
) -> tuple[dict[str, Any], Assurance]:
    header, claims = _decode_jws(provider, id_token)
    now = _now()
    if claims.get("iss") != provider.issuer:
        raise SignInError("iss_mismatch", f"id token iss {claims.get('iss')!r}")
    _check_audience(provider, claims)
    _check_time_claims(claims, now)
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise SignInError("sub_missing")
    if claims.get("nonce") is None:
        raise SignInError("nonce_missing")
    if not _same(claims["nonce"], nonce):
        raise SignInError("nonce_mismatch")
    if "at_hash" in claims:
        if not access_token or not _same(claims["at_hash"], _at_hash(access_token, header["alg"])):
            raise SignInError("at_hash_mismatch")
    level = provider.level_for_acr(claims.get("acr"))
    if level is None:
        if provider.acr_map or required_level != Assurance.LOW:
            raise SignInError("acr_unknown", repr(claims.get("acr")))
        level = Assurance.LOW  # a provider without levels: the lowest one
    if level.rank < required_level.rank:
        raise SignInError("acr_too_low", f"{level} < {required_level}")
    if "auth_time" in claims and _timestamp(claims["auth_time"]) is None:
        raise SignInError("auth_time_invalid")
    if max_age is not None:
        auth_time = _timestamp(claims.get("auth_time"))
        if auth_time is None:
            raise SignInError("auth_time_missing")
        if now - auth_time > max_age + LEEWAY:
            raise SignInError("auth_time_too_old", f"{int(now - auth_time)} s ago")
    return claims, level


def userinfo(provider: IdentityProvider, access_token: str, subject: str) -> dict[str, Any]:
    meta = discovery(provider)
    endpoint = meta.get("userinfo_endpoint")
    if not endpoint:
        return {}
    try:
        response = _http().get(endpoint, headers={"Authorization": f"Bearer {access_token}"},
                               timeout=HTTP_TIMEOUT)
    except requests.RequestException as exc:
        raise SignInError("userinfo_failed", str(exc)) from exc
    if response.status_code != 200:
        raise SignInError("userinfo_failed", f"HTTP {response.status_code}")
    content_type = response.headers.get("Content-Type", "").split(";")[0].strip()
    if content_type == "application/jwt":
        _header, data = _decode_jws(provider, response.text.strip())
        if data.get("iss") not in (None, provider.issuer):
            raise SignInError("iss_mismatch", "userinfo")
    else:
        try:
            data = response.json()
        except ValueError as exc:
            raise SignInError("userinfo_failed", "not JSON") from exc
    if not isinstance(data, dict) or data.get("sub") != subject:
        raise SignInError("userinfo_sub_mismatch", repr(data.get("sub") if isinstance(data, dict) else None))
    return data


def complete(
    provider: IdentityProvider,
    params: dict[str, str],
    *,
    redirect_uri: str,
    nonce: str,
    code_verifier: str,
    required_level: Assurance,
    max_age: int | None,
    client_secret: str | None,
    private_key: str | None = None,
) -> VerifiedSignIn:
    """Everything after the state check: iss parameter, code, ID token, UserInfo."""
    code = check_authorization_response(provider, params)
    token = redeem_code(provider, code=code, redirect_uri=redirect_uri, code_verifier=code_verifier,
                        client_secret=client_secret, private_key=private_key)
    claims, level = validate_id_token(
        provider, token["id_token"], nonce=nonce, access_token=token.get("access_token"),
        required_level=required_level, max_age=max_age,
    )
    merged = dict(claims)
    if token.get("access_token") and discovery(provider).get("userinfo_endpoint"):
        for key, value in userinfo(provider, token["access_token"], claims["sub"]).items():
            merged.setdefault(key, value)
    auth_time = _timestamp(claims.get("auth_time"))
    return VerifiedSignIn(
        issuer=provider.issuer,
        subject=claims["sub"],
        claims=merged,
        level=level,
        sid=claims.get("sid") if isinstance(claims.get("sid"), str) else None,
        auth_time=datetime.fromtimestamp(auth_time, UTC) if auth_time is not None else None,
    )


# --- back-channel logout -----------------------------------------------------------------------


@dataclass
class LogoutRequest:
    jti: str
    sid: str | None
    sub: str | None
    expires_at: datetime


def validate_logout_token(provider: IdentityProvider, token: str) -> LogoutRequest:
    """OIDC Back-Channel Logout 1.0 §2.6 (the replay check on `jti` is the caller's)."""
    header, claims = _decode_jws(provider, token)
    if header.get("typ") not in (None, "logout+jwt", "JWT"):
        raise SignInError("logout_typ", repr(header.get("typ")))
    if claims.get("iss") != provider.issuer:
        raise SignInError("iss_mismatch", f"logout token iss {claims.get('iss')!r}")
    _check_audience(provider, claims)
    now = _now()
    _check_time_claims(claims, now, require_exp=False)
    iat = float(claims["iat"])
    if now - iat > 10 * 60 + LEEWAY and "exp" not in claims:
        raise SignInError("expired", "logout token older than 10 minutes")
    events = claims.get("events")
    if not isinstance(events, dict) or not isinstance(events.get(BACKCHANNEL_EVENT), dict):
        raise SignInError("logout_events")
    if "nonce" in claims:
        raise SignInError("logout_nonce")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti:
        raise SignInError("logout_jti_missing")
    sid, sub = claims.get("sid"), claims.get("sub")
    if not isinstance(sid, str) and not isinstance(sub, str):
        raise SignInError("logout_no_subject")
    until = _timestamp(claims.get("exp")) or (iat + 600)
    expires = datetime.fromtimestamp(until, UTC) + timedelta(seconds=LEEWAY)
    return LogoutRequest(jti=jti, sid=sid if isinstance(sid, str) else None,
                         sub=sub if isinstance(sub, str) else None, expires_at=expires)


def end_session_url(provider: IdentityProvider, post_logout_redirect_uri: str) -> str | None:
    """RP-initiated logout: the provider's end_session_endpoint (no ID token is kept, so the
    request names our client_id instead of an id_token_hint)."""
    try:
        meta = discovery(provider)
    except SignInError:
        return None
    endpoint = meta.get("end_session_endpoint")
    if not endpoint:
        return None
    params = {"client_id": provider.client_id, "post_logout_redirect_uri": post_logout_redirect_uri}
    sep = "&" if urlsplit(endpoint).query else "?"
    return endpoint + sep + urlencode(params)
