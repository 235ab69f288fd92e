"""Debates (open or time-boxed), their information updates, and their conclusions once closed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from decidim_py.accounts.models import User
from decidim_py.components import Component
from decidim_py.db import Base, TimestampMixin, utcnow


class Debate(TimestampMixin, Base):
    __tablename__ = "debates_debates"
    __table_args__ = (Index("ix_debates_debates_component_closed", "component_id", "closed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    component_id: Mapped[int] = mapped_column(ForeignKey("components.id"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    official: Mapped[bool] = mapped_column(default=False)  # created by the organisation (admin screens)
    title: Mapped[str] = mapped_column(String(150))
    description: Mapped[str] = mapped_column(Text)
    start_time: Mapped[datetime | None] = mapped_column()  # both set: a time-boxed debate
    end_time: Mapped[datetime | None] = mapped_column()
    closed_at: Mapped[datetime | None] = mapped_column()
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    conclusions: Mapped[str | None] = mapped_column(Text)

    component: Mapped[Component] = relationship()
    author: Mapped[User | None] = relationship(foreign_keys=[author_id])
    updates: Mapped[list[DebateUpdate]] = relationship(back_populates="debate", order_by="DebateUpdate.id")

    @property
    def is_closed(self) -> bool:
        return self.closed_at is not None

    @property
    def is_time_boxed(self) -> bool:
        return self.start_time is not None and self.end_time is not None


class DebateUpdate(Base):
    """A dated information update an admin adds to a debate."""

    __tablename__ = "debates_updates"

    id: Mapped[int] = mapped_column(primary_key=True)
    debate_id: Mapped[int] = mapped_column(ForeignKey("debates_debates.id"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    debate: Mapped[Debate] = relationship(back_populates="updates")
