"""Identity services: providers, sign-in, accounts, eligibility facts, person keys, sessions."""

from __future__ import annotations

import ipaddress
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import lazy_gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from ..accounts.models import User
from ..db import db, utcnow
from ..errors import InvalidState
from ..permissions import require
from ..tenancy import Organization
from ..transparency import Visibility, record
from . import keys, rp
from .models import (
    AccountSession,
    Assurance,
    AuthRequest,
    ClientAuth,
    ConflictState,
    EligibilityGrant,
    Identity,
    IdentityProvider,
    LogoutTokenSeen,
    PendingSignUp,
    PersonConflict,
    PersonKeyKind,
    PersonVerification,
)

AUTH_REQUEST_TTL = timedelta(minutes=10)
PENDING_TTL = timedelta(minutes=30)
SESSION_TTL = timedelta(hours=12)
AGE_THRESHOLDS = (16, 18)
DEFAULT_CLAIM_MAP = {"postal_code": "address.postal_code", "birthdate": "birthdate",
                     "national_id": "national_id", "name": "name"}


# --- configuration -----------------------------------------------------------------------------


def public_url(org: Organization) -> str:
    template = current_app.config.get("PUBLIC_URL_TEMPLATE") or "https://{host}"
    return template.format(host=org.host).rstrip("/")


def redirect_uri(org: Organization, provider: IdentityProvider) -> str:
    """Built from configuration and the organisation's host, never from the request."""
    return f"{public_url(org)}/auth/{provider.slug}/callback"


def check_issuer(issuer: str) -> None:
    """Production refuses http:// and loopback issuers; development allows them."""
    parts = urlsplit(issuer)
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.query or parts.fragment:
        raise InvalidState(_("The issuer must be an https:// URL without query or fragment."))
    if current_app.config.get("ALLOW_INSECURE_ISSUERS"):
        return
    if parts.scheme != "https":
        raise InvalidState(_("The issuer must use https://."))
    host = parts.hostname
    loopback = host == "localhost" or host.endswith(".localhost")
    try:
        loopback = loopback or ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    if loopback:
        raise InvalidState(_("A loopback issuer is only allowed in development."))


@dataclass
class ProviderData:
    slug: str
    display_name: dict[str, str]
    issuer: str
    client_id: str
    client_auth: ClientAuth = ClientAuth.CLIENT_SECRET_BASIC
    client_secret: str | None = None  # None keeps the stored one
    private_key: str | None = None
    scopes: list[str] | None = None
    claims_request: dict[str, Any] | None = None
    signing_algs: list[str] | None = None
    acr_map: dict[str, str] | None = None
    claim_map: dict[str, str] | None = None
    eligibility_days: int = 90
    backchannel_logout: bool = False
    is_enabled: bool = True


def save_provider(actor: Any, org: Organization, data: ProviderData,
                  provider: IdentityProvider | None = None) -> IdentityProvider:
    require(actor, "identity.provider.manage", org)
    check_issuer(data.issuer)
    if not data.slug.replace("-", "").isalnum() or data.slug != data.slug.lower():
        raise InvalidState(_("The short name may use lower-case letters, digits and hyphens."))
    clash = db.session.scalar(select(IdentityProvider.id).where(
        IdentityProvider.organization_id == org.id, IdentityProvider.slug == data.slug))
    if clash is not None and (provider is None or clash != provider.id):
        raise InvalidState(_("Another provider already uses this short name."))
    algs = data.signing_algs or list(rp.ALLOWED_ALGS)
    if not set(algs) <= set(rp.ALLOWED_ALGS):
        raise InvalidState(_("Only RS256, PS256 and ES256 signatures are accepted."))
    for value in (data.acr_map or {}).values():
        if value not in {a.value for a in Assurance}:
            raise InvalidState(_("Levels of assurance are low, substantial or high."))
    if data.client_auth == ClientAuth.PRIVATE_KEY_JWT and not (data.private_key or (
            provider is not None and provider.private_key_encrypted)):
        raise InvalidState(_("private_key_jwt needs a private key."))
    fields = {
        "slug": data.slug, "display_name": data.display_name, "issuer": data.issuer,
        "client_id": data.client_id, "client_auth": data.client_auth,
        "scopes": data.scopes or ["openid"], "claims_request": data.claims_request or {},
        "signing_algs": algs, "acr_map": data.acr_map or {}, "claim_map": data.claim_map or {},
        "eligibility_days": data.eligibility_days, "backchannel_logout": data.backchannel_logout,
        "is_enabled": data.is_enabled,
        "is_development": bool(current_app.config.get("ALLOW_INSECURE_ISSUERS"))
        and urlsplit(data.issuer).scheme == "http",
    }
    changes: dict[str, Any] = {}
    if provider is None:
        provider = IdentityProvider(organization_id=org.id, **fields)
        db.session.add(provider)
        changes = {k: v for k, v in fields.items() if k not in ("display_name",)}
    else:
        for key, value in fields.items():
            if getattr(provider, key) != value:
                changes[key] = {"from": getattr(provider, key), "to": value}
                setattr(provider, key, value)
    if data.client_secret:
        provider.client_secret_encrypted = keys.encrypt(data.client_secret)
        changes["client_secret"] = "changed"  # never the secret itself
    if data.private_key:
        provider.private_key_encrypted = keys.encrypt(data.private_key)
        changes["private_key"] = "changed"
    db.session.flush()
    action = "identity.provider.create" if "slug" in changes and not isinstance(
        changes["slug"], dict) else "identity.provider.update"
    if changes:
        record(actor, action, provider, organization_id=org.id, changes=changes)
    rp.clear_caches()
    return provider


def enabled_providers(org: Organization) -> list[IdentityProvider]:
    return list(db.session.scalars(select(IdentityProvider).where(
        IdentityProvider.organization_id == org.id, IdentityProvider.is_enabled.is_(True))
        .order_by(IdentityProvider.id)))


def provider_by_slug(org: Organization, slug: str) -> IdentityProvider | None:
    return db.session.scalar(select(IdentityProvider).where(
        IdentityProvider.organization_id == org.id, IdentityProvider.slug == slug))


# --- sign-in -----------------------------------------------------------------------------------


def start_sign_in(
    org: Organization, provider: IdentityProvider, *, browser_token: str,
    required_level: Assurance = Assurance.LOW, max_age: int | None = None,
    next_url: str | None = None, purpose: str = "sign_in", locale: str | None = None,
) -> str:
    """Create the server-side state of an authorization request; returns the provider URL."""
    if not provider.is_enabled:
        raise InvalidState(_("This identity provider is not available."))
    start = rp.authorization_url(
        provider, redirect_uri=redirect_uri(org, provider), client_secret=None,
        required_level=required_level, max_age=max_age, ui_locales=locale,
        prompt_login=purpose == "step_up",
    )
    db.session.add(AuthRequest(
        organization_id=org.id, provider_id=provider.id, state_hash=keys.token_hash(start.state),
        browser_hash=keys.token_hash(browser_token), nonce=start.nonce,
        code_verifier=start.code_verifier, required_level=required_level, max_age=max_age,
        next_url=next_url, purpose=purpose, expires_at=utcnow() + AUTH_REQUEST_TTL,
    ))
    db.session.flush()
    return start.url


def consume_auth_request(org: Organization, provider: IdentityProvider, state: str | None,
                         browser_token: str | None) -> AuthRequest:
    """The state check: known, this provider, this browser, not expired, and used once only."""
    if not state:
        raise rp.SignInError("state_missing")
    req = db.session.scalar(select(AuthRequest).where(AuthRequest.state_hash == keys.token_hash(state)))
    if req is None or req.organization_id != org.id or req.provider_id != provider.id:
        raise rp.SignInError("state_unknown")
    if not browser_token or not secrets.compare_digest(req.browser_hash, keys.token_hash(browser_token)):
        raise rp.SignInError("state_other_browser")
    if req.expires_at < utcnow():
        raise rp.SignInError("state_expired")
    # single use, even under concurrent callbacks: only one UPDATE can flip used_at
    result = db.session.execute(update(AuthRequest).where(
        AuthRequest.id == req.id, AuthRequest.used_at.is_(None)).values(used_at=utcnow()))
    if result.rowcount != 1:
        raise rp.SignInError("state_reused")
    return req


def _claim(claims: dict[str, Any], path: str | None) -> Any:
    if not path:
        return None
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _add_years(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # born on 29 February: the birthday counts from 1 March (never early)
        return date(d.year + years, 3, 1)


def derive_facts(org: Organization, provider: IdentityProvider, verified: rp.VerifiedSignIn,
                 thresholds: set[int] | None = None) -> dict[str, Any]:
    """The minimal facts kept from verified claims. The postal code and birth date themselves are
    not kept; the national identifier only as an HMAC."""
    cmap = {**DEFAULT_CLAIM_MAP, **(provider.claim_map or {})}
    facts: dict[str, Any] = {"level": verified.level.value, "is_resident": None, "zone": None,
                             "age_from": {}, "person_key": None, "person_kind": None}
    postal = _claim(verified.claims, cmap["postal_code"])
    if isinstance(postal, str | int) and (org.postal_codes or org.zones):
        postal = str(postal).strip()
        facts["is_resident"] = postal in set(org.postal_codes or []) or any(
            postal in z.get("postal_codes", []) for z in (org.zones or {}).values())
        for slug, zone in (org.zones or {}).items():
            if postal in zone.get("postal_codes", []):
                facts["zone"] = slug
                break
    birth = _claim(verified.claims, cmap["birthdate"])
    if isinstance(birth, str):
        try:
            born = date.fromisoformat(birth[:10])
        except ValueError:
            born = None
        if born is not None:
            for age in sorted(set(AGE_THRESHOLDS) | (thresholds or set())):
                facts["age_from"][str(age)] = _add_years(born, age).isoformat()
    national = _claim(verified.claims, cmap["national_id"])
    if isinstance(national, str) and national.strip() and verified.level.rank >= Assurance.SUBSTANTIAL.rank:
        facts["person_key"] = keys.person_key(org.id, national, kind=PersonKeyKind.NATIONAL_ID)
        facts["person_kind"] = PersonKeyKind.NATIONAL_ID.value
    else:
        facts["person_key"] = keys.person_key(org.id, f"{verified.issuer}|{verified.subject}",
                                              kind=PersonKeyKind.SUBJECT)
        facts["person_kind"] = PersonKeyKind.SUBJECT.value
    return facts


@dataclass
class SignInOutcome:
    user: User | None  # an existing (or claimed) account, signed in
    pending_token: str | None  # a new person: go to the sign-up form with this token
    session_token: str | None
    conflict: PersonConflict | None
    next_url: str | None


def finish_sign_in(org: Organization, provider: IdentityProvider, params: dict[str, str],
                   browser_token: str | None) -> SignInOutcome:
    req = consume_auth_request(org, provider, params.get("state"), browser_token)
    verified = rp.complete(
        provider, params, redirect_uri=redirect_uri(org, provider), nonce=req.nonce,
        code_verifier=req.code_verifier, required_level=Assurance(req.required_level),
        max_age=req.max_age, client_secret=keys.decrypt(provider.client_secret_encrypted),
        private_key=keys.decrypt(provider.private_key_encrypted),
    )
    ikey = keys.identity_key(org.id, verified.issuer, verified.subject)
    facts = derive_facts(org, provider, verified, requirement_ages(org))
    identity = db.session.scalar(select(Identity).where(
        Identity.organization_id == org.id, Identity.identity_key == ikey))
    user = identity.user if identity is not None else None
    if user is None:
        user = _claimable_managed_account(org, facts)
        if user is not None:
            db.session.add(Identity(organization_id=org.id, user_id=user.id, provider_id=provider.id,
                                    identity_key=ikey))
            user.is_managed = False
            record(None, "identity.managed.claim", user, organization_id=org.id,
                   visibility=Visibility.PRIVATE, changes={"provider": provider.slug})
    if user is None:
        token = secrets.token_urlsafe(32)
        name = _claim(verified.claims, {**DEFAULT_CLAIM_MAP, **(provider.claim_map or {})}["name"])
        facts["auth_time"] = verified.auth_time.isoformat() if verified.auth_time else None
        db.session.add(PendingSignUp(
            organization_id=org.id, provider_id=provider.id, token_hash=keys.token_hash(token),
            identity_key=ikey, facts=facts, suggested_name=name[:120] if isinstance(name, str) else None,
            provider_sid=_sid_hash(verified.sid), next_url=req.next_url, expires_at=utcnow() + PENDING_TTL,
        ))
        db.session.flush()
        return SignInOutcome(None, token, None, None, req.next_url)
    if not user.is_active:
        raise InvalidState(_("This account is blocked."))
    if identity is not None:
        identity.last_sign_in_at = utcnow()
    conflict = apply_facts(user, provider, facts)
    session_token = open_session(user, provider=provider, identity_key=ikey, sid=_sid_hash(verified.sid),
                                 level=verified.level, auth_time=verified.auth_time)
    return SignInOutcome(user, None, session_token, conflict, req.next_url)


def _sid_hash(sid: str | None) -> str | None:
    """The provider's session id is kept only as a hash (fixed length, matched on logout)."""
    return keys.token_hash(sid) if sid else None


def _claimable_managed_account(org: Organization, facts: dict[str, Any]) -> User | None:
    if facts.get("person_kind") != PersonKeyKind.NATIONAL_ID:
        return None
    verification = active_verification_by_key(org.id, facts["person_key"])
    if verification is not None and verification.user.is_managed:
        return verification.user
    return None


def requirement_ages(org: Organization) -> set[int]:
    from .models import ActionRequirement

    return {a for a in db.session.scalars(select(ActionRequirement.min_age).where(
        ActionRequirement.organization_id == org.id, ActionRequirement.min_age.is_not(None)))}


def active_verification_by_key(org_id: int, person_key: str) -> PersonVerification | None:
    return db.session.scalar(select(PersonVerification).where(
        PersonVerification.organization_id == org_id, PersonVerification.person_key == person_key,
        PersonVerification.revoked_at.is_(None)))


def active_verification(user: User) -> PersonVerification | None:
    return db.session.scalar(select(PersonVerification).where(
        PersonVerification.user_id == user.id, PersonVerification.revoked_at.is_(None)))


def apply_facts(user: User, provider: IdentityProvider | None, facts: dict[str, Any],
                source: str = "oidc") -> PersonConflict | None:
    """Store the eligibility grant and the person verification; returns a conflict if another
    account already holds this person key (the database's unique index decides)."""
    days = provider.eligibility_days if provider is not None else 365
    grant = db.session.scalar(select(EligibilityGrant).where(EligibilityGrant.user_id == user.id))
    values = {"provider_id": provider.id if provider else None, "level": Assurance(facts["level"]),
              "is_resident": facts["is_resident"], "zone": facts["zone"], "age_from": facts["age_from"],
              "verified_at": utcnow(), "expires_at": utcnow() + timedelta(days=days), "source": source}
    if grant is None:
        db.session.add(EligibilityGrant(user_id=user.id, **values))
    else:
        for k, v in values.items():
            setattr(grant, k, v)
    db.session.flush()
    if not facts.get("person_key"):
        return None
    kind = PersonKeyKind(facts["person_kind"])
    level = Assurance(facts["level"])
    mine = active_verification(user)
    if mine is not None and mine.person_key == facts["person_key"]:
        return None
    if mine is not None and mine.kind == PersonKeyKind.NATIONAL_ID and kind == PersonKeyKind.SUBJECT:
        return None  # a weaker sign-in never replaces a national-identifier verification
    holder = active_verification_by_key(user.organization_id, facts["person_key"])
    if holder is not None and holder.user_id != user.id:
        return _open_conflict(user, provider, holder, level, kind)
    if mine is not None:
        mine.revoked_at = utcnow()
        db.session.flush()
    verification = PersonVerification(
        organization_id=user.organization_id, person_key=facts["person_key"], kind=kind, user_id=user.id,
        provider_id=provider.id if provider else None, level=level)
    try:
        with db.session.begin_nested():
            db.session.add(verification)
            db.session.flush()
    except IntegrityError:  # a concurrent sign-in of another account won the race
        holder = active_verification_by_key(user.organization_id, facts["person_key"])
        if holder is None:
            raise
        return _open_conflict(user, provider, holder, level, kind)
    return None


def _open_conflict(user: User, provider: IdentityProvider | None, holder: PersonVerification,
                   level: Assurance, kind: PersonKeyKind) -> PersonConflict:
    existing = db.session.scalar(select(PersonConflict).where(
        PersonConflict.verification_id == holder.id, PersonConflict.claimant_id == user.id,
        PersonConflict.state == ConflictState.OPEN))
    if existing is not None:
        return existing
    conflict = PersonConflict(
        organization_id=user.organization_id, verification_id=holder.id, claimant_id=user.id,
        claimant_provider_id=provider.id if provider else None, claimant_level=level, claimant_kind=kind)
    db.session.add(conflict)
    db.session.flush()
    record(None, "identity.conflict.open", conflict, organization_id=user.organization_id,
           visibility=Visibility.ADMIN)
    return conflict


def open_conflict_of(user: User) -> PersonConflict | None:
    return db.session.scalar(select(PersonConflict).where(
        PersonConflict.claimant_id == user.id, PersonConflict.state == ConflictState.OPEN)
        .order_by(PersonConflict.id.desc()))


def transfer_conflict(actor: Any, conflict: PersonConflict, reason: str) -> PersonVerification:
    """An admin moves the verification to the claiming account (e.g. the person lost access)."""
    org = db.session.get(Organization, conflict.organization_id)
    require(actor, "identity.conflict.manage", org)
    if conflict.state != ConflictState.OPEN:
        raise InvalidState(_("This conflict is already resolved."))
    if not reason.strip():
        raise InvalidState(_("Please give the reason for the transfer."))
    holder = conflict.verification
    holder.revoked_at = utcnow()
    db.session.flush()
    old = active_verification(conflict.claimant)
    if old is not None:
        old.revoked_at = utcnow()
        db.session.flush()
    moved = PersonVerification(
        organization_id=holder.organization_id, person_key=holder.person_key, kind=conflict.claimant_kind,
        user_id=conflict.claimant_id, provider_id=conflict.claimant_provider_id, level=conflict.claimant_level)
    db.session.add(moved)
    conflict.state, conflict.resolved_at = ConflictState.TRANSFERRED, utcnow()
    db.session.flush()
    record(actor, "identity.conflict.transfer", conflict, organization_id=org.id, reason=reason,
           visibility=Visibility.ADMIN, changes={"from_account": holder.user_id, "to_account": conflict.claimant_id})
    return moved


def create_account(org: Organization, pending_token: str, *, nickname: str, name: str, locale: str,
                   accept_terms: bool) -> tuple[User, str, PersonConflict | None, str | None]:
    """The sign-up form after a first sign-in: returns (user, session token, conflict, next)."""
    pending = db.session.scalar(select(PendingSignUp).where(
        PendingSignUp.token_hash == keys.token_hash(pending_token),
        PendingSignUp.organization_id == org.id))
    if pending is None or pending.expires_at < utcnow():
        raise InvalidState(_("Your sign-in expired before the account was created. Please sign in again."))
    if not accept_terms:
        raise InvalidState(_("Please accept the terms of use."))
    if locale not in (org.available_locales or []):
        raise InvalidState(_("Please choose one of the languages offered."))
    if db.session.scalar(select(User.id).where(User.organization_id == org.id, User.nickname == nickname)):
        raise InvalidState(_("This nickname is taken. Please choose another one."))
    provider = db.session.get(IdentityProvider, pending.provider_id)
    assert provider is not None
    user = User(organization_id=org.id, nickname=nickname, name=name, locale=locale,
                terms_accepted_at=utcnow())
    db.session.add(user)
    db.session.flush()
    db.session.add(Identity(organization_id=org.id, user_id=user.id, provider_id=provider.id,
                            identity_key=pending.identity_key, last_sign_in_at=utcnow()))
    db.session.flush()
    conflict = apply_facts(user, provider, pending.facts)
    auth_time = pending.facts.get("auth_time")
    token = open_session(user, provider=provider, identity_key=pending.identity_key, sid=pending.provider_sid,
                         level=Assurance(pending.facts["level"]),
                         auth_time=datetime.fromisoformat(auth_time) if auth_time else None)
    next_url = pending.next_url
    db.session.delete(pending)
    db.session.flush()
    return user, token, conflict, next_url


# --- sessions ----------------------------------------------------------------------------------


def open_session(user: User, *, provider: IdentityProvider | None, identity_key: str | None,
                 sid: str | None, level: Assurance | None, auth_time: datetime | None,
                 impersonated_by: User | None = None, ttl: timedelta = SESSION_TTL) -> str:
    token = secrets.token_urlsafe(32)
    db.session.add(AccountSession(
        token_hash=keys.token_hash(token), user_id=user.id, provider_id=provider.id if provider else None,
        identity_key=identity_key, provider_sid=sid, level=level, auth_time=auth_time,
        expires_at=utcnow() + ttl, impersonated_by_id=impersonated_by.id if impersonated_by else None))
    db.session.flush()
    return token


def session_for(token: str | None) -> AccountSession | None:
    if not token:
        return None
    row = db.session.scalar(select(AccountSession).where(AccountSession.token_hash == keys.token_hash(token)))
    if row is None or row.revoked_at is not None or row.expires_at < utcnow():
        return None
    return row


def revoke_session(token: str | None) -> AccountSession | None:
    row = session_for(token)
    if row is not None:
        row.revoked_at = utcnow()
        db.session.flush()
    return row


def backchannel_logout(org: Organization, provider: IdentityProvider, logout_token: str) -> int:
    """Validate a logout token, refuse a replayed jti, revoke the sessions it names."""
    if not provider.backchannel_logout:
        raise rp.SignInError("backchannel_disabled")
    request = rp.validate_logout_token(provider, logout_token)
    try:
        with db.session.begin_nested():
            db.session.add(LogoutTokenSeen(provider_id=provider.id, jti=keys.token_hash(request.jti),
                                           expires_at=request.expires_at))
            db.session.flush()
    except IntegrityError as exc:
        raise rp.SignInError("logout_replayed", request.jti) from exc
    from sqlalchemy import delete

    q = update(AccountSession).where(AccountSession.provider_id == provider.id,
                                     AccountSession.revoked_at.is_(None))
    pending = delete(PendingSignUp).where(PendingSignUp.provider_id == provider.id)
    if request.sid is not None:
        q = q.where(AccountSession.provider_sid == _sid_hash(request.sid))
        pending = pending.where(PendingSignUp.provider_sid == _sid_hash(request.sid))
    if request.sub is not None:
        ikey = keys.identity_key(org.id, provider.issuer, request.sub)
        q = q.where(AccountSession.identity_key == ikey)
        pending = pending.where(PendingSignUp.identity_key == ikey)
    result = db.session.execute(q.values(revoked_at=utcnow()))
    # a sign-up not yet finished belongs to the provider session that just ended: drop it too
    db.session.execute(pending)
    return int(result.rowcount or 0)


def purge_expired(now: datetime | None = None) -> int:
    """End of life for sign-in state: expired auth requests, pending sign-ups, sessions, jtis."""
    from sqlalchemy import delete

    now = now or datetime.now(UTC)
    total = 0
    for model, column in ((AuthRequest, AuthRequest.expires_at), (PendingSignUp, PendingSignUp.expires_at),
                          (LogoutTokenSeen, LogoutTokenSeen.expires_at),
                          (AccountSession, AccountSession.expires_at)):
        total += int(db.session.execute(delete(model).where(column < now)).rowcount or 0)
    return total


def identities_of(user: User) -> list[Identity]:
    return list(db.session.scalars(select(Identity).where(Identity.user_id == user.id).order_by(Identity.id)))


# --- residence settings ------------------------------------------------------------------------


def save_residence(actor: Any, org: Organization, postal_codes: list[str], zones: dict[str, Any]) -> None:
    require(actor, "identity.residence.manage", org)
    for slug, zone in zones.items():
        if not isinstance(zone, dict) or not isinstance(zone.get("postal_codes", []), list):
            raise InvalidState(_("Each zone needs a list of postal codes."))
        if not slug.replace("-", "").isalnum():
            raise InvalidState(_("Zone names may use letters, digits and hyphens."))
    changes = {}
    if list(org.postal_codes or []) != postal_codes:
        changes["postal_codes"] = {"from": org.postal_codes, "to": postal_codes}
    if dict(org.zones or {}) != zones:
        changes["zones"] = {"from": org.zones, "to": zones}
    org.postal_codes, org.zones = postal_codes, zones
    db.session.flush()
    if changes:
        record(actor, "identity.residence.update", org, organization_id=org.id, changes=changes)


# --- assisted participation --------------------------------------------------------------------

IMPERSONATION_TTL = timedelta(minutes=30)


def create_managed_participant(
    actor: User, org: Organization, *, name: str, nickname: str, national_id: str,
    postal_code: str | None, birthdate: date | None, document_checked: bool,
) -> tuple[User, PersonConflict | None]:
    """An official creates an account for someone after checking their ID document in person.
    The same person key as online sign-in is computed, so both kinds of participation collide."""
    require(actor, "identity.managed.manage", org)
    if not document_checked:
        raise InvalidState(_("Confirm that you checked the ID document in person."))
    if not national_id.strip():
        raise InvalidState(_("The ID document number is needed."))
    if db.session.scalar(select(User.id).where(User.organization_id == org.id, User.nickname == nickname)):
        raise InvalidState(_("This nickname is taken. Please choose another one."))
    pkey = keys.person_key(org.id, national_id, kind=PersonKeyKind.NATIONAL_ID)
    holder = active_verification_by_key(org.id, pkey)
    if holder is not None:
        raise InvalidState(_("This person already has an account here; they can take part with it."))
    user = User(organization_id=org.id, nickname=nickname, name=name, is_managed=True)
    db.session.add(user)
    db.session.flush()
    claims: dict[str, Any] = {"national_id": national_id}
    if postal_code:
        claims["address"] = {"postal_code": postal_code}
    if birthdate:
        claims["birthdate"] = birthdate.isoformat()
    verified = rp.VerifiedSignIn(issuer="in-person", subject=f"managed-{user.id}", claims=claims,
                                 level=Assurance.SUBSTANTIAL, sid=None, auth_time=None)
    facts = derive_facts(org, _InPerson(), verified, requirement_ages(org))
    conflict = apply_facts(user, None, facts, source="in_person")
    record(actor, "identity.managed.create", user, organization_id=org.id, visibility=Visibility.ADMIN,
           changes={"nickname": nickname})
    return user, conflict


class _InPerson:
    """Stands in for a provider when facts come from an in-person document check."""

    claim_map: dict[str, str] = {}
    eligibility_days = 365


def start_impersonation(actor: User, user: User, reason: str) -> tuple[str, Any]:
    """A user manager acts for a managed participant: at most 30 minutes, with a reason, recorded."""
    from .models import Impersonation

    org = db.session.get(Organization, user.organization_id)
    require(actor, "identity.impersonate", org)
    if not user.is_managed:
        raise InvalidState(_("Only managed participants can be impersonated."))
    if not reason.strip():
        raise InvalidState(_("Please give the reason."))
    if actor.id == user.id:
        raise InvalidState(_("You cannot impersonate yourself."))
    imp = Impersonation(organization_id=user.organization_id, official_id=actor.id, user_id=user.id,
                        reason=reason.strip(), expires_at=utcnow() + IMPERSONATION_TTL)
    db.session.add(imp)
    db.session.flush()
    token = open_session(user, provider=None, identity_key=None, sid=None, level=Assurance.SUBSTANTIAL,
                         auth_time=utcnow(), impersonated_by=actor, ttl=IMPERSONATION_TTL)
    record(actor, "identity.impersonation.start", imp, organization_id=user.organization_id,
           visibility=Visibility.ADMIN, reason=reason.strip(), changes={"participant": user.nickname})
    return token, imp


def end_impersonation(session_row: AccountSession) -> None:
    from .models import Impersonation

    session_row.revoked_at = utcnow()
    imp = db.session.scalar(select(Impersonation).where(
        Impersonation.user_id == session_row.user_id, Impersonation.official_id == session_row.impersonated_by_id,
        Impersonation.ended_at.is_(None)).order_by(Impersonation.id.desc()))
    if imp is not None:
        imp.ended_at = utcnow()
        db.session.flush()
        record(imp.official, "identity.impersonation.end", imp, organization_id=imp.organization_id,
               visibility=Visibility.ADMIN)
