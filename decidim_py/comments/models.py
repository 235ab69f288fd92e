"""Comments on any commentable resource: a generic (resource_type, resource_id) in a component."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User
from ..db import Base, TimestampMixin, utcnow

MAX_DEPTH = 3  # a top-level comment has depth 0; replies go down to depth 3
MAX_LENGTH = 1000


class Comment(TimestampMixin, Base):
    __tablename__ = "comments_comments"
    __table_args__ = (
        # the page of top-level comments of a resource, and the replies of a page (root_id IN ...)
        Index("ix_comments_comments_resource", "organization_id", "resource_type", "resource_id", "parent_id"),
        CheckConstraint("depth >= 0 AND depth <= 3", name="depth_range"),
        CheckConstraint("alignment IN (-1, 0, 1)", name="alignment_values"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    component_id: Mapped[int] = mapped_column(ForeignKey("components.id"), index=True)
    resource_type: Mapped[str] = mapped_column(String(80))
    resource_id: Mapped[int] = mapped_column()
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("comments_comments.id"))
    root_id: Mapped[int | None] = mapped_column(ForeignKey("comments_comments.id"), index=True)
    depth: Mapped[int] = mapped_column(default=0)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    body: Mapped[str] = mapped_column(Text)
    alignment: Mapped[int] = mapped_column(default=0)  # 1 in favour, 0 neutral, -1 against
    up_votes: Mapped[int] = mapped_column(default=0)
    down_votes: Mapped[int] = mapped_column(default=0)
    replies_count: Mapped[int] = mapped_column(default=0)  # on a top-level comment: all its replies
    edited_at: Mapped[datetime | None] = mapped_column()
    deleted_at: Mapped[datetime | None] = mapped_column()

    author: Mapped[User] = relationship(lazy="joined", innerjoin=True)

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def is_edited(self) -> bool:
        return self.edited_at is not None

    @property
    def score(self) -> int:
        return self.up_votes - self.down_votes


class CommentVote(Base):
    __tablename__ = "comments_votes"
    __table_args__ = (
        UniqueConstraint("comment_id", "user_id"),
        CheckConstraint("weight IN (-1, 1)", name="weight_values"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments_comments.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    weight: Mapped[int] = mapped_column()  # 1 up, -1 down
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
