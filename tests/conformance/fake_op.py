"""A misbehaving OpenID Provider for the relying-party conformance tests.

It speaks real HTTP on 127.0.0.1 (werkzeug's threaded development server in a background thread)
and implements just enough of OpenID Connect Core for the authorization code flow with PKCE:
discovery, JWKS, /authorize (no UI: it signs the person in at once), /token (client_secret_basic,
single-use codes, redirect_uri and PKCE S256 checks), /userinfo and an end-session endpoint.

Each conformance case is a named MODE (see `MODES`): a set of small hooks that bend one thing the
provider does (the discovery document, the authorization response, the ID token claims, its
signature, the token response, the UserInfo answer). The "good" mode is a well-behaved provider.
Tests switch mode, rotate keys and read what the provider received and counted.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import urlencode, urlsplit

from joserfc import jws, jwt
from joserfc.jwk import ECKey, RSAKey
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"
CLIENT_ID = "decidim-test"
CLIENT_SECRET = "test-client-secret"


# --- keys (generated once per test session) ----------------------------------------------------


@cache
def signing_keys() -> dict[str, Any]:
    """kid -> private key. `foreign` is an attacker's RSA key: never published, signs with kid k1."""
    return {
        "k1": RSAKey.generate_key(2048, parameters={"kid": "k1"}),
        "k2": RSAKey.generate_key(2048, parameters={"kid": "k2"}),
        "k3": RSAKey.generate_key(2048, parameters={"kid": "k3"}),
        "e1": ECKey.generate_key("P-256", parameters={"kid": "e1"}),
        "foreign": RSAKey.generate_key(2048, parameters={"kid": "k1"}),
    }


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64json(value: Any) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def at_hash(access_token: str) -> str:
    digest = hashlib.sha256(access_token.encode()).digest()
    return b64url(digest[:16])


# --- modes -------------------------------------------------------------------------------------

Claims = dict[str, Any]


@dataclass
class Grant:
    """One authorization: what /authorize received and what /token will issue for it."""

    code: str
    client_id: str
    redirect_uri: str
    nonce: str
    code_challenge: str
    scope: str
    state: str
    sub: str
    sid: str
    params: dict[str, str]
    used: bool = False
    access_token: str | None = None


@dataclass(frozen=True)
class Mode:
    """How the provider misbehaves. Every hook is optional; none of them means "behave"."""

    # RS256 | PS256 | ES256 | foreign_key | tampered | none | hs256_public_key | embedded_jwk | array_payload
    signer: str = "RS256"
    discovery: Callable[[dict[str, Any], FakeOP], None] | None = None
    jwks: Callable[[list[dict[str, Any]]], None] | None = None
    authorize: Callable[[dict[str, str], FakeOP], None] | None = None
    claims: Callable[[Claims, Grant], None] | None = None
    token: Callable[[dict[str, Any]], tuple[int, dict[str, Any]] | None] | None = None
    userinfo: Callable[[dict[str, Any]], None] | None = None


def _now() -> int:
    return int(time.time())


def _claims(**values: Any) -> Callable[[Claims, Grant], None]:
    """A claims hook that sets values (callables are called with the grant)."""

    def hook(claims: Claims, grant: Grant) -> None:
        for name, value in values.items():
            claims[name] = value(grant) if callable(value) else value

    return hook


def _drop(*names: str) -> Callable[[Claims, Grant], None]:
    def hook(claims: Claims, grant: Grant) -> None:
        for name in names:
            claims.pop(name, None)

    return hook


def _discovery(**values: Any) -> Callable[[dict[str, Any], FakeOP], None]:
    def hook(doc: dict[str, Any], op: FakeOP) -> None:
        for name, value in values.items():
            if value is None:
                doc.pop(name, None)
            else:
                doc[name] = value(op) if callable(value) else value

    return hook


def _authorize(**values: Any) -> Callable[[dict[str, str], FakeOP], None]:
    def hook(params: dict[str, str], op: FakeOP) -> None:
        for name, value in values.items():
            if value is None:
                params.pop(name, None)
            else:
                params[name] = value(op) if callable(value) else value

    return hook


def _token_error(response: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    return 400, {"error": "invalid_grant", "error_description": "the provider is having a bad day"}


def _no_id_token(response: dict[str, Any]) -> None:
    response.pop("id_token")


def _id_token_number(response: dict[str, Any]) -> None:
    response["id_token"] = 12345


def _token_type_mac(response: dict[str, Any]) -> None:
    response["token_type"] = "mac"


def _userinfo_other_sub(data: dict[str, Any]) -> None:
    data["sub"] = "somebody-else"


def _jwks_k1_rs256_only(keys: list[dict[str, Any]]) -> None:
    for key in keys:
        if key["kid"] == "k1":
            key["alg"] = "RS256"


MODES: dict[str, Mode] = {
    # --- a well-behaved provider, in several dialects
    "good": Mode(),
    "good_es256": Mode(signer="ES256"),
    "good_ps256": Mode(signer="PS256"),
    "good_at_hash": Mode(claims=_claims(at_hash=lambda g: at_hash(g.access_token))),
    "good_acr_substantial": Mode(claims=_claims(acr="urn:loa:sub")),
    "good_aud_list": Mode(claims=_claims(aud=[CLIENT_ID])),
    "good_iat_30s_future": Mode(claims=_claims(iat=lambda g: _now() + 30)),
    "good_exp_30s_ago": Mode(claims=_claims(iat=lambda g: _now() - 300, exp=lambda g: _now() - 30)),
    "good_step_up_fresh_auth_time": Mode(claims=_claims(auth_time=lambda g: _now() - 5)),
    # --- signatures
    "foreign_key_same_kid": Mode(signer="foreign_key"),
    "tampered_payload": Mode(signer="tampered"),
    "alg_none": Mode(signer="none"),
    "hs256_public_key_as_secret": Mode(signer="hs256_public_key"),
    "embedded_jwk_and_jku": Mode(signer="embedded_jwk"),
    "ps256_with_key_published_for_rs256": Mode(signer="PS256", jwks=_jwks_k1_rs256_only),
    # --- ID token claims
    "iss_wrong": Mode(claims=_claims(iss="https://evil.example.test")),
    "iss_missing": Mode(claims=_drop("iss")),
    "aud_other_client": Mode(claims=_claims(aud="other-client")),
    "aud_list_with_other_client": Mode(claims=_claims(aud=[CLIENT_ID, "other-client"])),
    "azp_other_client": Mode(claims=_claims(azp="other-client")),
    "expired_61s_ago": Mode(claims=_claims(iat=lambda g: _now() - 300, exp=lambda g: _now() - 61)),
    "exp_missing": Mode(claims=_drop("exp")),
    "iat_120s_future": Mode(claims=_claims(iat=lambda g: _now() + 120)),
    "sub_missing": Mode(claims=_drop("sub")),
    "nonce_wrong": Mode(claims=_claims(nonce="not-the-nonce-the-rp-sent")),
    "nonce_missing": Mode(claims=_drop("nonce")),
    "nonce_non_ascii": Mode(claims=_claims(nonce="nonce-\u00e9\u00e8")),
    "acr_too_low": Mode(claims=_claims(acr="urn:loa:low")),
    "acr_not_a_string": Mode(claims=_claims(acr=["urn:loa:sub"])),
    "exp_infinity": Mode(claims=_claims(exp=float("inf"))),
    "iat_nan": Mode(claims=_claims(iat=float("nan"))),
    "auth_time_year_10000": Mode(claims=_claims(auth_time=253402300800)),
    "claims_not_an_object": Mode(signer="array_payload"),
    "at_hash_wrong": Mode(claims=_claims(at_hash=lambda g: at_hash("another-access-token"))),
    "at_hash_non_ascii": Mode(claims=_claims(at_hash="\u00e9t\u00e9")),
    "auth_time_too_old": Mode(claims=_claims(auth_time=lambda g: _now() - 300)),
    "auth_time_missing": Mode(claims=_drop("auth_time")),
    # --- odd values a provider signs: accepting or refusing them is fine, a server error is not
    "sid_too_long": Mode(claims=_claims(sid="s" * 300)),
    "name_too_long": Mode(claims=_claims(name="N" * 500)),
    # --- the authorization response
    "state_mismatch": Mode(authorize=_authorize(state=lambda op: secrets.token_urlsafe(32))),
    "iss_param_wrong": Mode(authorize=_authorize(iss="https://evil.example.test")),
    "iss_param_missing": Mode(authorize=_authorize(iss=None)),
    "provider_error": Mode(authorize=_authorize(code=None, error="access_denied",
                                                error_description="The person said no")),
    "code_missing": Mode(authorize=_authorize(code=None)),
    # --- the token and UserInfo responses
    "token_endpoint_error": Mode(token=_token_error),
    "no_id_token": Mode(token=_no_id_token),
    "id_token_not_a_string": Mode(token=_id_token_number),
    "token_type_not_bearer": Mode(token=_token_type_mac),
    "userinfo_sub_mismatch": Mode(userinfo=_userinfo_other_sub),
    # --- discovery (sign-in cannot start)
    "discovery_issuer_mismatch": Mode(discovery=_discovery(issuer=lambda op: op.issuer + "/other")),
    "pkce_not_advertised": Mode(discovery=_discovery(code_challenge_methods_supported=None)),
    "pkce_plain_only": Mode(discovery=_discovery(code_challenge_methods_supported=["plain"])),
}


# --- the provider ------------------------------------------------------------------------------


class FakeOP:
    """The provider. `start()` serves it on a free port; `reset()` brings back a good provider."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.issuer = ""
        self.reset()

    # lifecycle

    def start(self) -> FakeOP:
        self._server = make_server("127.0.0.1", 0, self.wsgi, threaded=True)
        self.issuer = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-op", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def reset(self) -> None:
        with self._lock:
            self.mode = "good"
            self.client_id = CLIENT_ID
            self.client_secret = CLIENT_SECRET
            self.client_public_key: Any = None  # set: the client authenticates with private_key_jwt
            self.redirect_uris: list[str] = []
            self.published_kids: list[str] = ["k1", "k2", "e1"]
            self.rsa_kid = "k1"  # the RSA key RS256/PS256 tokens are signed with
            self.subject: str | None = None  # None: a fresh subject for every authorization
            self.hits: Counter[str] = Counter()
            self.grants: list[Grant] = []
            self.id_tokens: list[Claims] = []  # the claims of every ID token issued
            self.token_requests: list[dict[str, str]] = []
            self._codes: dict[str, Grant] = {}
            self._access_tokens: dict[str, Grant] = {}

    @property
    def behaviour(self) -> Mode:
        return MODES[self.mode]

    @property
    def last_grant(self) -> Grant:
        return self.grants[-1]

    # tokens

    def sign(self, claims: Claims, signer: str = "RS256", header: dict[str, Any] | None = None) -> str:
        keys = signing_keys()
        extra = dict(header or {})
        if signer in ("RS256", "PS256"):
            return jwt.encode({"alg": signer, "kid": self.rsa_kid, **extra}, claims, keys[self.rsa_kid],
                              algorithms=[signer])
        if signer == "ES256":
            return jwt.encode({"alg": "ES256", "kid": "e1", **extra}, claims, keys["e1"], algorithms=["ES256"])
        if signer == "foreign_key":
            return jwt.encode({"alg": "RS256", "kid": "k1", **extra}, claims, keys["foreign"],
                              algorithms=["RS256"])
        if signer == "embedded_jwk":
            # the attacker's own public key, offered in the header (jwk) and by URL (jku)
            public = keys["foreign"].as_dict(private=False)
            return jwt.encode({"alg": "RS256", "kid": "k1", "jwk": public,
                               "jku": self.issuer + "/attacker-jwks", **extra},
                              claims, keys["foreign"], algorithms=["RS256"])
        if signer == "tampered":
            token = jwt.encode({"alg": "RS256", "kid": self.rsa_kid, **extra}, claims, keys[self.rsa_kid],
                               algorithms=["RS256"])
            head, _payload, signature = token.split(".")
            forged = {**claims, "sub": "admin", "name": "Someone Else"}
            return f"{head}.{b64json(forged)}.{signature}"
        if signer == "array_payload":  # a well-signed JWS whose payload is not a JSON object
            return jws.serialize_compact({"alg": "RS256", "kid": self.rsa_kid}, b"[1, 2, 3]", keys[self.rsa_kid],
                                         algorithms=["RS256"])
        if signer == "none":
            return f"{b64json({'alg': 'none', 'typ': 'JWT', **extra})}.{b64json(claims)}."
        if signer == "hs256_public_key":
            secret = keys["k1"].as_pem(private=False)
            signing_input = f"{b64json({'alg': 'HS256', 'kid': 'k1', 'typ': 'JWT', **extra})}.{b64json(claims)}"
            mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
            return f"{signing_input}.{b64url(mac)}"
        raise ValueError(f"unknown signer {signer!r}")

    def logout_token(self, *, sid: str | None = None, sub: str | None = None, signer: str = "RS256",
                     typ: str = "logout+jwt", drop: tuple[str, ...] = (), **extra: Any) -> str:
        """A back-channel logout token (OIDC Back-Channel Logout 1.0 §2.4)."""
        claims: Claims = {"iss": self.issuer, "aud": self.client_id, "iat": _now(),
                          "jti": secrets.token_urlsafe(16), "events": {BACKCHANNEL_EVENT: {}}}
        if sid is not None:
            claims["sid"] = sid
        if sub is not None:
            claims["sub"] = sub
        claims.update(extra)
        for name in drop:
            claims.pop(name, None)
        return self.sign(claims, signer, header={"typ": typ})

    def _id_token_claims(self, grant: Grant) -> Claims:
        now = _now()
        claims: Claims = {"iss": self.issuer, "sub": grant.sub, "aud": grant.client_id, "iat": now,
                          "exp": now + 300, "nonce": grant.nonce, "sid": grant.sid, "auth_time": now - 2,
                          "name": "Test Person"}
        hook = self.behaviour.claims
        if hook is not None:
            hook(claims, grant)
        return claims

    # HTTP

    def wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        with self._lock:
            self.hits[request.path] += 1
            handler = {
                "/.well-known/openid-configuration": self._discovery,
                "/jwks": self._jwks,
                "/attacker-jwks": self._attacker_jwks,
                "/authorize": self._authorize,
                "/token": self._token,
                "/userinfo": self._userinfo,
                "/end-session": lambda r: Response("signed out", 200),
            }.get(request.path)
            response = handler(request) if handler else Response("not found", 404)
        return response(environ, start_response)

    @staticmethod
    def _json(data: Any, status: int = 200) -> Response:
        return Response(json.dumps(data), status, headers={"Cache-Control": "no-store"},
                        content_type="application/json")

    def _discovery(self, request: Request) -> Response:
        doc: dict[str, Any] = {
            "issuer": self.issuer,
            "authorization_endpoint": self.issuer + "/authorize",
            "token_endpoint": self.issuer + "/token",
            "userinfo_endpoint": self.issuer + "/userinfo",
            "jwks_uri": self.issuer + "/jwks",
            "end_session_endpoint": self.issuer + "/end-session",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256", "PS256", "ES256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "private_key_jwt"],
            "authorization_response_iss_parameter_supported": True,
            "backchannel_logout_supported": True,
            "backchannel_logout_session_supported": True,
        }
        hook = self.behaviour.discovery
        if hook is not None:
            hook(doc, self)
        return self._json(doc)

    def _jwks(self, request: Request) -> Response:
        keys = [dict(signing_keys()[kid].as_dict(private=False), use="sig") for kid in self.published_kids]
        hook = self.behaviour.jwks
        if hook is not None:
            hook(keys)
        return self._json({"keys": keys})

    def _attacker_jwks(self, request: Request) -> Response:
        return self._json({"keys": [signing_keys()["foreign"].as_dict(private=False)]})

    def _authorize(self, request: Request) -> Response:
        q = request.args.to_dict()
        problems = []
        if q.get("response_type") != "code":
            problems.append("response_type must be code")
        if q.get("client_id") != self.client_id:
            problems.append("unknown client_id")
        if q.get("redirect_uri") not in self.redirect_uris:
            problems.append(f"unregistered redirect_uri {q.get('redirect_uri')!r}")
        if "openid" not in q.get("scope", "").split():
            problems.append("scope lacks openid")
        if q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
            problems.append("PKCE S256 is required")
        if not q.get("nonce"):
            problems.append("nonce is required")
        if not q.get("state"):
            problems.append("state is required")
        grant = Grant(code=secrets.token_urlsafe(24), client_id=q.get("client_id", ""),
                      redirect_uri=q.get("redirect_uri", ""), nonce=q.get("nonce", ""),
                      code_challenge=q.get("code_challenge", ""), scope=q.get("scope", ""),
                      state=q.get("state", ""), sub=self.subject or f"person-{secrets.token_hex(8)}",
                      sid=f"sid-{secrets.token_hex(8)}", params=q)
        self.grants.append(grant)
        if problems:  # never redirect to an unchecked redirect_uri
            return Response("invalid authorization request: " + "; ".join(problems), 400)
        self._codes[grant.code] = grant
        params = {"code": grant.code, "state": grant.state, "iss": self.issuer}
        hook = self.behaviour.authorize
        if hook is not None:
            hook(params, self)
        sep = "&" if urlsplit(grant.redirect_uri).query else "?"
        return Response("", 302, headers={"Location": grant.redirect_uri + sep + urlencode(params)})

    def _client_authenticated(self, request: Request, form: dict[str, str]) -> bool:
        if self.client_public_key is None:
            auth = request.authorization
            return (auth is not None and auth.type == "basic" and auth.username == self.client_id
                    and auth.password == self.client_secret)
        # private_key_jwt (RFC 7523): a JWT signed by the client's key, about the client, for us
        if form.get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
            return False
        try:
            token = jwt.decode(form.get("client_assertion", ""), self.client_public_key, algorithms=["RS256"])
        except Exception:
            return False
        claims = token.claims
        return (claims.get("iss") == self.client_id and claims.get("sub") == self.client_id
                and claims.get("aud") == f"{self.issuer}/token" and claims.get("exp", 0) > time.time())

    def _token(self, request: Request) -> Response:
        form = request.form.to_dict()
        self.token_requests.append({**form, "authorization": request.headers.get("Authorization", "")})
        if request.method != "POST" or not self._client_authenticated(request, form):
            return self._json({"error": "invalid_client"}, 401)
        if form.get("grant_type") != "authorization_code":
            return self._json({"error": "unsupported_grant_type"}, 400)
        grant = self._codes.get(form.get("code", ""))
        if grant is None or grant.used:
            return self._json({"error": "invalid_grant", "error_description": "unknown or used code"}, 400)
        grant.used = True
        if form.get("redirect_uri") != grant.redirect_uri:
            return self._json({"error": "invalid_grant", "error_description": "redirect_uri differs"}, 400)
        verifier = form.get("code_verifier", "")
        if not verifier or b64url(hashlib.sha256(verifier.encode()).digest()) != grant.code_challenge:
            return self._json({"error": "invalid_grant", "error_description": "PKCE verification failed"}, 400)
        grant.access_token = secrets.token_urlsafe(32)
        self._access_tokens[grant.access_token] = grant
        claims = self._id_token_claims(grant)
        self.id_tokens.append(claims)
        body: dict[str, Any] = {"access_token": grant.access_token, "token_type": "Bearer",
                                "id_token": self.sign(claims, self.behaviour.signer), "expires_in": 300}
        hook = self.behaviour.token
        if hook is not None:
            replaced = hook(body)
            if replaced is not None:
                return self._json(replaced[1], replaced[0])
        return self._json(body)

    def _userinfo(self, request: Request) -> Response:
        header = request.headers.get("Authorization", "")
        grant = self._access_tokens.get(header.removeprefix("Bearer ")) if header.startswith("Bearer ") else None
        if grant is None:
            return Response("", 401, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        data: dict[str, Any] = {"sub": grant.sub, "name": "Test Person", "locale": "en"}
        hook = self.behaviour.userinfo
        if hook is not None:
            hook(data)
        return self._json(data)

