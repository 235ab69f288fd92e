from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User
from ..db import Base, str_enum, utcnow


class Visibility(StrEnum):
    PUBLIC = "public"  # shown in the public record
    ADMIN = "admin"  # shown to the organisation's admins only
    PRIVATE = "private"  # kept for accountability, shown to organisation admins in the log only


class DecisionRecord(Base):
    __tablename__ = "transparency_records"
    __table_args__ = (
        Index("ix_transparency_records_org_created", "organization_id", "created_at"),
        Index("ix_transparency_records_space", "space_type", "space_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_role: Mapped[str] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(120))
    resource_type: Mapped[str] = mapped_column(String(80))
    resource_id: Mapped[int | None] = mapped_column()
    space_type: Mapped[str | None] = mapped_column(String(40))
    space_id: Mapped[int | None] = mapped_column()
    component_id: Mapped[int | None] = mapped_column()
    visibility: Mapped[Visibility] = mapped_column(str_enum(Visibility))
    changes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    reason: Mapped[str | None] = mapped_column(String(2000))
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("transparency_records.id"))

    actor: Mapped[User | None] = relationship()


class LogOutbox(Base):
    """A decision waiting to be integrated into the log: written in the decision's transaction."""

    __tablename__ = "transparency_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("transparency_records.id"), unique=True)
    entry: Mapped[bytes] = mapped_column(LargeBinary)  # RFC 8785 canonical JSON
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LogEntry(Base):
    """An integrated entry: its index in the organisation's log never changes (append-only)."""

    __tablename__ = "transparency_entries"
    __table_args__ = (UniqueConstraint("organization_id", "index"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    index: Mapped[int] = mapped_column(BigInteger)
    record_id: Mapped[int | None] = mapped_column(ForeignKey("transparency_records.id"), unique=True)
    entry: Mapped[bytes] = mapped_column(LargeBinary)
    kind: Mapped[str] = mapped_column(String(120))
    integrated_at: Mapped[datetime] = mapped_column(default=utcnow)


class LogTile(Base):
    """A C2SP hash tile (level, index): one row per tile; a partial tile grows as a prefix
    (a trigger refuses any other change) and full tiles never change."""

    __tablename__ = "transparency_tiles"
    __table_args__ = (UniqueConstraint("organization_id", "level", "index"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    level: Mapped[int] = mapped_column()
    index: Mapped[int] = mapped_column(BigInteger)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class LogCheckpoint(Base):
    """A signed checkpoint (C2SP tlog-checkpoint in a signed note). Append-only."""

    __tablename__ = "transparency_checkpoints"
    __table_args__ = (UniqueConstraint("organization_id", "size"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    size: Mapped[int] = mapped_column(BigInteger)
    root: Mapped[bytes] = mapped_column(LargeBinary)
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LogKey(Base):
    """A signing key generation of an organisation's log (the key itself is derived from a secret
    kept outside the database). During a rotation, two generations sign (a dual-signed overlap)."""

    __tablename__ = "transparency_keys"
    __table_args__ = (UniqueConstraint("organization_id", "generation"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    generation: Mapped[int] = mapped_column()
    verifier_key: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column()


class LogOpening(Base):
    """The opening (salt and value) of a salted commitment to a person in an entry. Deleting it on
    erasure leaves the log untouched but makes the commitment meaningless."""

    __tablename__ = "transparency_openings"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    commitment: Mapped[str] = mapped_column(String(64), unique=True)
    salt: Mapped[str] = mapped_column(String(64))
    value: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
