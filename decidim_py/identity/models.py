"""Identity: OpenID providers per organisation, identities, sessions, eligibility, person keys.

What is stored, and why (privacy by design):
- `identities.identity_key` = HMAC(organisation identity key, issuer ‖ subject): recognises a
  returning person without keeping the provider's raw `sub`.
- `eligibility_grants`: minimal facts derived at sign-in (resident yes/no and zone, the dates from
  which the person reaches the ages the organisation's rules use, level of assurance), each with an
  expiry. Never the postal code, the birth date, the ID token or an access token.
- `person_verifications.person_key` = HMAC(organisation person key, national identifier) (or
  issuer ‖ subject where an admin allows lower assurance): one person, one voice. A partial unique
  index lets a person key back one active account per organisation.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, LargeBinary, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User
from ..db import Base, TimestampMixin, str_enum, utcnow


class Assurance(StrEnum):
    LOW = "low"
    SUBSTANTIAL = "substantial"
    HIGH = "high"

    @property
    def rank(self) -> int:
        return {"low": 1, "substantial": 2, "high": 3}[self.value]


class ClientAuth(StrEnum):
    CLIENT_SECRET_BASIC = "client_secret_basic"
    CLIENT_SECRET_POST = "client_secret_post"
    PRIVATE_KEY_JWT = "private_key_jwt"


class IdentityProvider(TimestampMixin, Base):
    __tablename__ = "identity_providers"
    __table_args__ = (UniqueConstraint("organization_id", "slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    slug: Mapped[str] = mapped_column(String(40))
    display_name: Mapped[dict[str, Any]] = mapped_column()
    issuer: Mapped[str] = mapped_column(String(500))
    client_id: Mapped[str] = mapped_column(String(255))
    client_auth: Mapped[ClientAuth] = mapped_column(str_enum(ClientAuth, 30))
    client_secret_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    private_key_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)  # PEM, for private_key_jwt
    scopes: Mapped[list[Any]] = mapped_column(default=lambda: ["openid"])
    claims_request: Mapped[dict[str, Any]] = mapped_column(default=dict)  # OIDC `claims` parameter
    signing_algs: Mapped[list[Any]] = mapped_column(default=lambda: ["RS256", "PS256", "ES256"])
    acr_map: Mapped[dict[str, Any]] = mapped_column(default=dict)  # provider acr -> Assurance value
    claim_map: Mapped[dict[str, Any]] = mapped_column(default=dict)  # fact -> claim path
    eligibility_days: Mapped[int] = mapped_column(default=90)
    backchannel_logout: Mapped[bool] = mapped_column(default=False)
    is_enabled: Mapped[bool] = mapped_column(default=True)
    is_development: Mapped[bool] = mapped_column(default=False)

    def level_for_acr(self, acr: object) -> Assurance | None:
        if not isinstance(acr, str):
            return None
        value = (self.acr_map or {}).get(acr)
        try:
            return Assurance(value) if value else None
        except ValueError:
            return None

    def acr_values_for(self, level: Assurance) -> list[str]:
        """The provider's acr values at or above a level, strongest last."""
        known = {m.value for m in Assurance}
        pairs = [(a, Assurance(v)) for a, v in (self.acr_map or {}).items() if v in known]
        return [a for a, lv in sorted(pairs, key=lambda p: p[1].rank) if lv.rank >= level.rank]


class Identity(Base):
    """A user's link to a provider's subject, known only through its HMAC."""

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("organization_id", "identity_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("identity_providers.id"), index=True)
    identity_key: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_sign_in_at: Mapped[datetime | None] = mapped_column()

    user: Mapped[User] = relationship()
    provider: Mapped[IdentityProvider] = relationship()


class AuthRequest(Base):
    """Server-side state of one authorization request: state, nonce and PKCE verifier never leave
    the server. Bound to the browser by a random value whose hash is stored here; single use."""

    __tablename__ = "identity_auth_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    provider_id: Mapped[int] = mapped_column(ForeignKey("identity_providers.id", ondelete="CASCADE"))
    state_hash: Mapped[str] = mapped_column(String(64), unique=True)
    browser_hash: Mapped[str] = mapped_column(String(64))
    nonce: Mapped[str] = mapped_column(String(128))
    code_verifier: Mapped[str] = mapped_column(String(128))
    required_level: Mapped[Assurance] = mapped_column(str_enum(Assurance))
    max_age: Mapped[int | None] = mapped_column()
    next_url: Mapped[str | None] = mapped_column(String(500))
    purpose: Mapped[str] = mapped_column(String(20), default="sign_in")  # sign_in | step_up | claim
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column()

    provider: Mapped[IdentityProvider] = relationship()


class AccountSession(Base):
    """A signed-in browser. The cookie holds only a random token; its hash is the row's key.
    Back-channel logout revokes rows by the provider's `sid` or by the identity (sub)."""

    __tablename__ = "identity_sessions"
    __table_args__ = (Index("ix_identity_sessions_sid", "provider_id", "provider_sid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("identity_providers.id", ondelete="CASCADE"))
    identity_key: Mapped[str | None] = mapped_column(String(64), index=True)
    provider_sid: Mapped[str | None] = mapped_column(String(64))  # SHA-256 of the provider's sid
    level: Mapped[Assurance | None] = mapped_column(str_enum(Assurance))
    auth_time: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
    impersonated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])


class LogoutTokenSeen(Base):
    """Replay cache of back-channel logout tokens (jti), kept until the token would expire."""

    __tablename__ = "identity_logout_jtis"
    __table_args__ = (UniqueConstraint("provider_id", "jti"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("identity_providers.id", ondelete="CASCADE"))
    jti: Mapped[str] = mapped_column(String(64))  # SHA-256 of the token's jti
    expires_at: Mapped[datetime] = mapped_column()


class EligibilityGrant(Base):
    """Minimal facts derived from verified claims at sign-in, with an expiry (one row per user)."""

    __tablename__ = "eligibility_grants"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("identity_providers.id", ondelete="SET NULL"))
    level: Mapped[Assurance] = mapped_column(str_enum(Assurance))
    is_resident: Mapped[bool | None] = mapped_column()  # None: the provider gave no postal code
    zone: Mapped[str | None] = mapped_column(String(60))
    # {"16": "2028-06-01", ...}: from which date the person is at least that old (no birth date kept)
    age_from: Mapped[dict[str, Any]] = mapped_column(default=dict)
    verified_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    source: Mapped[str] = mapped_column(String(20), default="oidc")  # oidc | in_person


class PersonKeyKind(StrEnum):
    NATIONAL_ID = "national_id"  # from a provider of level substantial or above, or in person
    SUBJECT = "subject"  # issuer + subject: only where an admin allows lower assurance


class PersonVerification(Base):
    __tablename__ = "person_verifications"
    __table_args__ = (
        Index(
            "uq_person_verifications_one_active",
            "organization_id",
            "person_key",
            unique=True,
            sqlite_where=text("revoked_at IS NULL"),
            postgresql_where=text("revoked_at IS NULL"),
        ),
        Index("ix_person_verifications_user", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    person_key: Mapped[str] = mapped_column(String(64))
    kind: Mapped[PersonKeyKind] = mapped_column(str_enum(PersonKeyKind))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("identity_providers.id", ondelete="SET NULL"))
    level: Mapped[Assurance] = mapped_column(str_enum(Assurance))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column()

    user: Mapped[User] = relationship()
    provider: Mapped[IdentityProvider | None] = relationship()


class ConflictState(StrEnum):
    OPEN = "open"
    TRANSFERRED = "transferred"
    DISMISSED = "dismissed"


class PersonConflict(Base):
    """A second account presented a person key that already backs another account."""

    __tablename__ = "person_conflicts"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    verification_id: Mapped[int] = mapped_column(ForeignKey("person_verifications.id"))
    claimant_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    claimant_provider_id: Mapped[int | None] = mapped_column(
        ForeignKey("identity_providers.id", ondelete="SET NULL"))
    claimant_level: Mapped[Assurance] = mapped_column(str_enum(Assurance))
    claimant_kind: Mapped[PersonKeyKind] = mapped_column(str_enum(PersonKeyKind))
    state: Mapped[ConflictState] = mapped_column(str_enum(ConflictState), default=ConflictState.OPEN)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column()

    verification: Mapped[PersonVerification] = relationship()
    claimant: Mapped[User] = relationship(foreign_keys=[claimant_id])


class ActionRequirement(TimestampMixin, Base):
    """What a component action needs: e.g. vote → resident, 16 or older, level substantial."""

    __tablename__ = "eligibility_requirements"
    __table_args__ = (UniqueConstraint("component_id", "action"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    component_id: Mapped[int] = mapped_column(ForeignKey("components.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(40))  # create, support, vote, comment, endorse
    level: Mapped[Assurance] = mapped_column(str_enum(Assurance), default=Assurance.LOW)
    resident: Mapped[bool] = mapped_column(default=False)
    zone: Mapped[str | None] = mapped_column(String(60))
    min_age: Mapped[int | None] = mapped_column()
    person_key: Mapped[bool] = mapped_column(default=False)  # one person, one voice
    allow_low_assurance_person_key: Mapped[bool] = mapped_column(default=False)


class Impersonation(Base):
    """An official acting for a managed participant (assisted participation)."""

    __tablename__ = "identity_impersonations"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    official_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(String(500))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    ended_at: Mapped[datetime | None] = mapped_column()

    official: Mapped[User] = relationship(foreign_keys=[official_id])
    user: Mapped[User] = relationship(foreign_keys=[user_id])


class PendingSignUp(Base):
    """Between a first verified sign-in and the sign-up form: derived facts only (no raw claims),
    kept at most 30 minutes, found by the hash of a random token held in the browser session."""

    __tablename__ = "identity_pending_signups"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    provider_id: Mapped[int] = mapped_column(ForeignKey("identity_providers.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    identity_key: Mapped[str] = mapped_column(String(64))
    facts: Mapped[dict[str, Any]] = mapped_column()  # see services.derive_facts
    suggested_name: Mapped[str | None] = mapped_column(String(120))
    provider_sid: Mapped[str | None] = mapped_column(String(64))  # SHA-256 of the provider's sid
    next_url: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
