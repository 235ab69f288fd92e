"""Follows (a person follows a resource) and in-app notifications (one row per recipient)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, utcnow


class Follow(Base):
    __tablename__ = "notifications_follows"
    __table_args__ = (
        UniqueConstraint("user_id", "resource_type", "resource_id"),  # one follow per person and item
        Index("ix_notifications_follows_resource", "resource_type", "resource_id"),  # the fan-out
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    resource_type: Mapped[str] = mapped_column(String(80))  # the model's class name
    resource_id: Mapped[int] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Notification(Base):
    __tablename__ = "notifications_notifications"
    __table_args__ = (
        Index("ix_notifications_notifications_recipient", "recipient_id", "created_at"),  # the list
        Index("ix_notifications_notifications_unread", "recipient_id", "read_at"),  # the header count
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    recipient_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(80))
    resource_type: Mapped[str] = mapped_column(String(80))
    resource_id: Mapped[int] = mapped_column()
    # what the text needs (a title, a state, a comment id), never who did it
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)  # index: the retention purge
    read_at: Mapped[datetime | None] = mapped_column()

    @property
    def is_read(self) -> bool:
        return self.read_at is not None
