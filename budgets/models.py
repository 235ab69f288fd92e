"""Budgets, projects, ballots (orders) and their items, the per-(component, person) lock rows, and
the result of closing a budget (the published ballots file, the job's progress, the outcome)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from decidim_py.components import Component
from decidim_py.db import Base, TimestampMixin, str_enum, utcnow
from proposals.models import Proposal

project_proposals = Table(
    "budgets_project_proposals",
    Base.metadata,
    Column("project_id", ForeignKey("budgets_projects.id", ondelete="CASCADE"), primary_key=True),
    Column("proposal_id", ForeignKey("proposals_proposals.id", ondelete="CASCADE"), primary_key=True),
)


class Budget(TimestampMixin, Base):
    __tablename__ = "budgets_budgets"
    __table_args__ = (
        CheckConstraint("total_amount > 0", name="total_amount_positive"),
        CheckConstraint("weight >= 0", name="weight_not_negative"),
        Index("ix_budgets_budgets_component", "component_id", "weight"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    component_id: Mapped[int] = mapped_column(ForeignKey("components.id"))
    title: Mapped[dict[str, Any]] = mapped_column()
    description: Mapped[dict[str, Any]] = mapped_column(default=dict)
    total_amount: Mapped[int] = mapped_column()  # cents
    zone: Mapped[str | None] = mapped_column(String(60))
    weight: Mapped[int] = mapped_column(default=0)
    # the outcome rule, declared before voting opens (budgets.outcomes.RULES)
    outcome_rule: Mapped[str] = mapped_column(String(40), default="greedy")
    outcome_params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    tie_breaking: Mapped[dict[str, Any]] = mapped_column(default=dict)  # TieBreaking.to_dict()
    ballots_count: Mapped[int] = mapped_column(default=0)  # checked-out ballots, imported ones included
    closed_at: Mapped[datetime | None] = mapped_column()

    component: Mapped[Component] = relationship()
    projects: Mapped[list[Project]] = relationship(back_populates="budget",
                                                   order_by="(Project.weight, Project.id)")

    @property
    def is_closed(self) -> bool:
        return self.closed_at is not None


class Project(TimestampMixin, Base):
    __tablename__ = "budgets_projects"
    __table_args__ = (
        CheckConstraint("cost > 0", name="cost_positive"),
        Index("ix_budgets_projects_budget", "budget_id", "weight"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    budget_id: Mapped[int] = mapped_column(ForeignKey("budgets_budgets.id"))
    title: Mapped[dict[str, Any]] = mapped_column()
    description: Mapped[dict[str, Any]] = mapped_column(default=dict)
    cost: Mapped[int] = mapped_column()  # cents
    address: Mapped[str | None] = mapped_column(String(200))
    weight: Mapped[int] = mapped_column(default=0)
    votes_count: Mapped[int] = mapped_column(default=0)  # checked-out ballots that include it
    is_selected: Mapped[bool | None] = mapped_column()  # set by the outcome

    budget: Mapped[Budget] = relationship(back_populates="projects")
    proposals: Mapped[list[Proposal]] = relationship(secondary=project_proposals, order_by=Proposal.id)

    @property
    def component(self) -> Component:
        return self.budget.component


class Ballot(Base):
    """A person's order in one budget. Ballots are secret: no account is stored, only the person key
    the "one ballot per person and budget" constraint is unique on."""

    __tablename__ = "budgets_ballots"
    __table_args__ = (
        UniqueConstraint("budget_id", "person_key"),  # one person, one ballot per budget
        Index("ix_budgets_ballots_person", "component_id", "person_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    budget_id: Mapped[int] = mapped_column(ForeignKey("budgets_budgets.id"))
    component_id: Mapped[int] = mapped_column(ForeignKey("components.id"))
    person_key: Mapped[str] = mapped_column(String(80))
    checked_out_at: Mapped[datetime | None] = mapped_column()
    public_id: Mapped[str | None] = mapped_column(String(40), unique=True)  # random, in the ballots file
    receipt_sha256: Mapped[str | None] = mapped_column(String(64))
    is_imported: Mapped[bool] = mapped_column(default=False)  # from a Pabulib file (paper ballots...)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    budget: Mapped[Budget] = relationship()
    items: Mapped[list[BallotItem]] = relationship(cascade="all, delete-orphan", passive_deletes=True)

    @property
    def is_checked_out(self) -> bool:
        return self.checked_out_at is not None


class BallotItem(Base):
    __tablename__ = "budgets_ballot_items"

    ballot_id: Mapped[int] = mapped_column(ForeignKey("budgets_ballots.id", ondelete="CASCADE"), primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("budgets_projects.id"), primary_key=True, index=True)


class BudgetLock(Base):
    """One row per (component, person): `SELECT ... FOR UPDATE` on it serialises a person's ballot
    changes in every budget of the component (the workflows look across budgets)."""

    __tablename__ = "budgets_locks"

    component_id: Mapped[int] = mapped_column(ForeignKey("components.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(80), primary_key=True)


class ResultStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class BudgetResult(TimestampMixin, Base):
    """Closing a budget: the published anonymous ballots file, the outcome job's progress and result."""

    __tablename__ = "budgets_results"

    id: Mapped[int] = mapped_column(primary_key=True)
    budget_id: Mapped[int] = mapped_column(ForeignKey("budgets_budgets.id"), unique=True)
    status: Mapped[ResultStatus] = mapped_column(str_enum(ResultStatus), default=ResultStatus.QUEUED)
    progress_done: Mapped[int] = mapped_column(default=0)
    progress_total: Mapped[int] = mapped_column(default=0)
    progress_message: Mapped[str] = mapped_column(String(200), default="")
    ballots_file: Mapped[str] = mapped_column(Text)  # Pabulib .pb, exactly as published
    ballots_sha256: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[dict[str, Any] | None] = mapped_column()  # Outcome.to_dict()
    error: Mapped[str | None] = mapped_column(Text)
    finished_at: Mapped[datetime | None] = mapped_column()

    budget: Mapped[Budget] = relationship()
