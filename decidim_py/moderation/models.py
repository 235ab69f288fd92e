"""Moderation: one row per reported item (generic resource), reports by people, hiding."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, TimestampMixin, str_enum, utcnow

HIDE_THRESHOLD = 3  # distinct reporters that hide an item automatically


class ReportReason(StrEnum):
    SPAM = "spam"
    OFFENSIVE = "offensive"
    DOES_NOT_BELONG = "does_not_belong"


class Moderation(TimestampMixin, Base):
    __tablename__ = "moderation_moderations"
    __table_args__ = (
        UniqueConstraint("organization_id", "resource_type", "resource_id"),
        Index("ix_moderation_moderations_space", "space_type", "space_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    resource_type: Mapped[str] = mapped_column(String(80))
    resource_id: Mapped[int] = mapped_column()
    space_type: Mapped[str | None] = mapped_column(String(40))
    space_id: Mapped[int | None] = mapped_column()
    component_id: Mapped[int | None] = mapped_column(ForeignKey("components.id"))
    report_count: Mapped[int] = mapped_column(default=0)
    hidden_at: Mapped[datetime | None] = mapped_column()

    @property
    def is_hidden(self) -> bool:
        return self.hidden_at is not None


class Report(Base):
    __tablename__ = "moderation_reports"
    __table_args__ = (UniqueConstraint("moderation_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    moderation_id: Mapped[int] = mapped_column(ForeignKey("moderation_moderations.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    reason: Mapped[ReportReason] = mapped_column(str_enum(ReportReason))
    details: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
