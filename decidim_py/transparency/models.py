from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String
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
