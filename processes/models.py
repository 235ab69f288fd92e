from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from decidim_py.accounts.models import Host, User
from decidim_py.db import Base, TimestampMixin, utcnow


class ProcessGroup(TimestampMixin, Base):
    __tablename__ = "processes_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    title: Mapped[dict[str, Any]] = mapped_column()
    description: Mapped[dict[str, Any]] = mapped_column(default=dict)

    processes: Mapped[list[Process]] = relationship(back_populates="group")


class TimeFilter(StrEnum):
    ACTIVE = "active"
    UPCOMING = "upcoming"
    PAST = "past"
    ALL = "all"


class Process(TimestampMixin, Base):
    __tablename__ = "processes"
    __table_args__ = (
        UniqueConstraint("organization_id", "slug"),
        Index("ix_processes_listing", "organization_id", "published_at", "start_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    host_id: Mapped[int | None] = mapped_column(ForeignKey("hosts.id"), index=True)
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("processes_groups.id", ondelete="SET NULL"), index=True
    )
    slug: Mapped[str] = mapped_column(String(80))
    title: Mapped[dict[str, Any]] = mapped_column()
    subtitle: Mapped[dict[str, Any]] = mapped_column(default=dict)
    short_description: Mapped[dict[str, Any]] = mapped_column(default=dict)
    description: Mapped[dict[str, Any]] = mapped_column(default=dict)  # sanitised HTML per locale
    start_date: Mapped[date | None] = mapped_column()
    end_date: Mapped[date | None] = mapped_column()
    is_promoted: Mapped[bool] = mapped_column(default=False)
    is_private: Mapped[bool] = mapped_column(default=False)
    published_at: Mapped[datetime | None] = mapped_column()

    host: Mapped[Host | None] = relationship()
    group: Mapped[ProcessGroup | None] = relationship(back_populates="processes")
    steps: Mapped[list[ProcessStep]] = relationship(
        back_populates="process", order_by="ProcessStep.position", cascade="all, delete-orphan"
    )
    members: Mapped[list[ProcessMember]] = relationship(
        back_populates="process", cascade="all, delete-orphan"
    )

    @property
    def is_published(self) -> bool:
        return self.published_at is not None

    @property
    def active_step(self) -> ProcessStep | None:
        for step in self.steps:
            if step.is_active:
                return step
        return None

    def time_status(self, today: date) -> TimeFilter:
        if self.start_date is not None and self.start_date > today:
            return TimeFilter.UPCOMING
        if self.end_date is not None and self.end_date < today:
            return TimeFilter.PAST
        return TimeFilter.ACTIVE


class ProcessStep(TimestampMixin, Base):
    """A phase of a process. Exactly one step of a process is active (partial unique index)."""

    __tablename__ = "processes_steps"
    __table_args__ = (
        Index(
            "uq_processes_steps_one_active",
            "process_id",
            unique=True,
            sqlite_where=text("is_active = 1"),
            postgresql_where=text("is_active"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[int] = mapped_column(ForeignKey("processes.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column()
    title: Mapped[dict[str, Any]] = mapped_column()
    description: Mapped[dict[str, Any]] = mapped_column(default=dict)
    start_date: Mapped[date | None] = mapped_column()
    end_date: Mapped[date | None] = mapped_column()
    is_active: Mapped[bool] = mapped_column(default=False)

    process: Mapped[Process] = relationship(back_populates="steps")


class ProcessMember(Base):
    """A participant admitted to a private process."""

    __tablename__ = "processes_members"
    __table_args__ = (UniqueConstraint("process_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[int] = mapped_column(ForeignKey("processes.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    process: Mapped[Process] = relationship(back_populates="members")
    user: Mapped[User] = relationship()
