"""Proposals, their supports, and the per-(component, person) lock rows that serialise supports."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from decidim_py.accounts.models import Host, User
from decidim_py.components import Component
from decidim_py.db import Base, TimestampMixin, str_enum, utcnow


class ProposalState(StrEnum):
    NOT_ANSWERED = "not_answered"
    EVALUATING = "evaluating"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class Proposal(TimestampMixin, Base):
    __tablename__ = "proposals_proposals"
    __table_args__ = (
        Index("ix_proposals_proposals_component_published", "component_id", "published_at"),
        Index("ix_proposals_proposals_author", "author_id", "component_id"),
        # similar titles (proposals/similar.py): a trigram GIN index on PostgreSQL (pg_trgm); a plain
        # index of the same name on SQLite (autogenerate cannot compare a PostgreSQL-only index)
        Index("ix_proposals_proposals_title_trgm", "title", postgresql_using="gin",
              postgresql_ops={"title": "gin_trgm_ops"}),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    component_id: Mapped[int] = mapped_column(ForeignKey("components.id"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(150))
    body: Mapped[str] = mapped_column(Text)
    reference: Mapped[str | None] = mapped_column(String(80))
    # the answer: internal state (admins) and the moment it was made public (everyone)
    internal_state: Mapped[ProposalState] = mapped_column(str_enum(ProposalState),
                                                          default=ProposalState.NOT_ANSWERED)
    answer: Mapped[str | None] = mapped_column(Text)
    cost: Mapped[int | None] = mapped_column()
    answered_at: Mapped[datetime | None] = mapped_column()
    state_published_at: Mapped[datetime | None] = mapped_column()
    supports_count: Mapped[int] = mapped_column(default=0)  # final supports only
    endorsements_count: Mapped[int] = mapped_column(default=0)  # people and hosts endorsing
    published_at: Mapped[datetime | None] = mapped_column()  # None: a draft
    edited_at: Mapped[datetime] = mapped_column(default=utcnow)  # start of the edit window
    withdrawn_at: Mapped[datetime | None] = mapped_column()
    hidden_at: Mapped[datetime | None] = mapped_column()
    # origin: official (an admin's "new official proposal" screen or an import; no author), on behalf
    # of a host (a member chose it), or a participant's own
    is_official: Mapped[bool] = mapped_column(default=False)
    author_host_id: Mapped[int | None] = mapped_column(ForeignKey("hosts.id", ondelete="SET NULL"), index=True)
    comments_count: Mapped[int] = mapped_column(default=0)  # not deleted, kept by the comments hook

    component: Mapped[Component] = relationship()
    author: Mapped[User | None] = relationship()
    author_host: Mapped[Host | None] = relationship()

    @property
    def is_draft(self) -> bool:
        return self.published_at is None

    @property
    def is_withdrawn(self) -> bool:
        return self.withdrawn_at is not None

    @property
    def is_answer_published(self) -> bool:
        return self.state_published_at is not None

    @property
    def state(self) -> str | None:
        """The public state: None unless the answer is published or the proposal withdrawn."""
        if self.withdrawn_at is not None:
            return "withdrawn"
        if self.state_published_at is None or self.internal_state == ProposalState.NOT_ANSWERED:
            return None
        return str(self.internal_state)


class ProposalSupport(Base):
    __tablename__ = "proposals_supports"
    __table_args__ = (
        UniqueConstraint("proposal_id", "person_key"),  # one person, one support
        UniqueConstraint("proposal_id", "user_id"),
        Index("ix_proposals_supports_person", "component_id", "person_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals_proposals.id"))
    component_id: Mapped[int] = mapped_column(ForeignKey("components.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    person_key: Mapped[str] = mapped_column(String(80))
    is_temporary: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProposalLock(Base):
    """One row per (component, person): `SELECT ... FOR UPDATE` on it serialises a person's
    supports (vote_limit, minimum_votes_per_user) and an author's creations (proposal_limit)."""

    __tablename__ = "proposals_locks"

    component_id: Mapped[int] = mapped_column(ForeignKey("components.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(80), primary_key=True)


class ProposalEvaluatorAssignment(Base):
    """An evaluator of the space assigned to a proposal: they see it in the admin and may answer it."""

    __tablename__ = "proposals_evaluator_assignments"
    __table_args__ = (UniqueConstraint("proposal_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals_proposals.id", ondelete="CASCADE"))
    component_id: Mapped[int] = mapped_column(ForeignKey("components.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship()


class ProposalNote(Base):
    """A private note on a proposal: only the space's admins and the proposal's evaluators see it."""

    __tablename__ = "proposals_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals_proposals.id", ondelete="CASCADE"),
                                             index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    author: Mapped[User | None] = relationship()


class ProposalEndorsement(Base):
    """A participant endorsing a proposal as themselves (one per person key) or on behalf of a host
    they belong to (one per host). Participants' acts: never in the public record."""

    __tablename__ = "proposals_endorsements"
    __table_args__ = (
        UniqueConstraint("proposal_id", "person_key"),  # one person, one endorsement
        UniqueConstraint("proposal_id", "host_id"),  # one host, one endorsement
        CheckConstraint("(person_key IS NULL) <> (host_id IS NULL)", name="person_or_host"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals_proposals.id"))
    component_id: Mapped[int] = mapped_column(ForeignKey("components.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))  # who acted
    person_key: Mapped[str | None] = mapped_column(String(80))
    host_id: Mapped[int | None] = mapped_column(ForeignKey("hosts.id", ondelete="CASCADE"), index=True)
    show_name: Mapped[bool] = mapped_column(default=False)  # the person chose to be listed by name
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User | None] = relationship()
    host: Mapped[Host | None] = relationship()


class AmendmentState(StrEnum):
    DRAFT = "draft"
    EVALUATING = "evaluating"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class ProposalAmendment(TimestampMixin, Base):
    """An emendation: a participant's new title and body for someone else's proposal, which its
    author accepts (the proposal takes the text) or rejects (the emendation may become a proposal)."""

    __tablename__ = "proposals_amendments"
    __table_args__ = (Index("ix_proposals_amendments_proposal_state", "proposal_id", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    component_id: Mapped[int] = mapped_column(ForeignKey("components.id"))
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals_proposals.id"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    title: Mapped[str] = mapped_column(String(150))
    body: Mapped[str] = mapped_column(Text)
    # the proposal's text this emendation changes (taken when it is drafted and again when published)
    base_title: Mapped[str] = mapped_column(String(150))
    base_body: Mapped[str] = mapped_column(Text)
    state: Mapped[AmendmentState] = mapped_column(str_enum(AmendmentState), default=AmendmentState.DRAFT)
    published_at: Mapped[datetime | None] = mapped_column()
    answered_at: Mapped[datetime | None] = mapped_column()
    withdrawn_at: Mapped[datetime | None] = mapped_column()
    promoted_to_id: Mapped[int | None] = mapped_column(ForeignKey("proposals_proposals.id"), unique=True)

    component: Mapped[Component] = relationship()
    proposal: Mapped[Proposal] = relationship(foreign_keys=[proposal_id])
    author: Mapped[User | None] = relationship()
    promoted_to: Mapped[Proposal | None] = relationship(foreign_keys=[promoted_to_id])

    @property
    def is_draft(self) -> bool:
        return self.state == AmendmentState.DRAFT


class ProposalVersion(Base):
    """A proposal's earlier text, kept when an accepted emendation replaced it."""

    __tablename__ = "proposals_versions"
    __table_args__ = (Index("ix_proposals_versions_proposal", "proposal_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals_proposals.id"))
    title: Mapped[str] = mapped_column(String(150))
    body: Mapped[str] = mapped_column(Text)
    replaced_at: Mapped[datetime] = mapped_column(default=utcnow)
    amendment_id: Mapped[int] = mapped_column(ForeignKey("proposals_amendments.id"), unique=True)

    amendment: Mapped[ProposalAmendment] = relationship()
