from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from flask_login import UserMixin
from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, TimestampMixin, str_enum, utcnow
from ..tenancy import Organization


class User(UserMixin, TimestampMixin, Base):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("organization_id", "nickname"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    nickname: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(120))
    locale: Mapped[str | None] = mapped_column(String(10))
    email: Mapped[str | None] = mapped_column(String(254))
    is_admin: Mapped[bool] = mapped_column(default=False)
    # "user manager": creates managed participants after checking an ID document in person
    is_user_manager: Mapped[bool] = mapped_column(default=False)
    # a managed participant: created by an official, acted for by impersonation, claimable
    is_managed: Mapped[bool] = mapped_column(default=False)
    terms_accepted_at: Mapped[datetime | None] = mapped_column()
    blocked_at: Mapped[datetime | None] = mapped_column()
    deleted_at: Mapped[datetime | None] = mapped_column()

    organization: Mapped[Organization] = relationship()

    @property
    def is_active(self) -> bool:  # Flask-Login: blocked and deleted accounts cannot act
        return self.blocked_at is None and self.deleted_at is None

    def __repr__(self) -> str:
        return f"<User @{self.nickname}>"


class HostKind(StrEnum):
    DEPARTMENT = "department"
    COMMUNITY = "community"


class Host(TimestampMixin, Base):
    """A city department or a community organisation that runs its own processes."""

    __tablename__ = "hosts"
    __table_args__ = (UniqueConstraint("organization_id", "slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    slug: Mapped[str] = mapped_column(String(80))
    name: Mapped[dict[str, Any]] = mapped_column()
    kind: Mapped[HostKind] = mapped_column(
        str_enum(HostKind)
    )

    memberships: Mapped[list[HostMembership]] = relationship(
        back_populates="host", cascade="all, delete-orphan"
    )


class HostRole(StrEnum):
    ADMIN = "admin"
    MEMBER = "member"


class HostMembership(Base):
    __tablename__ = "host_memberships"
    __table_args__ = (UniqueConstraint("host_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    host_id: Mapped[int] = mapped_column(ForeignKey("hosts.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    role: Mapped[HostRole] = mapped_column(
        str_enum(HostRole)
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    host: Mapped[Host] = relationship(back_populates="memberships")
    user: Mapped[User] = relationship()


class SpaceRoleName(StrEnum):
    ADMIN = "admin"
    MODERATOR = "moderator"
    EVALUATOR = "evaluator"
    COLLABORATOR = "collaborator"


class SpaceRole(Base):
    """A per-space role (admin, moderator, evaluator, collaborator) of a user in one space."""

    __tablename__ = "space_roles"
    __table_args__ = (
        UniqueConstraint("space_type", "space_id", "user_id", "role"),
        Index("ix_space_roles_space", "space_type", "space_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    space_type: Mapped[str] = mapped_column(String(40))
    space_id: Mapped[int] = mapped_column()
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    role: Mapped[SpaceRoleName] = mapped_column(
        str_enum(SpaceRoleName)
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship()
