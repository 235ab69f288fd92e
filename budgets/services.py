"""Budget services (admin): budgets and projects, the outcome rule declared before voting, projects
from accepted proposals. The ballot flow is in `ballots`, closing and results in `closing`.

Every service takes an explicit actor, calls `require()`, validates, writes, flushes and records its
decision; none commits.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _
from sqlalchemy import select

from decidim_py.components import Component
from decidim_py.db import db
from decidim_py.errors import InvalidState
from decidim_py.html import sanitize_translated
from decidim_py.permissions import require
from decidim_py.transparency import record

from .ballots import lock_budget
from .models import Ballot, BallotItem, Budget, Project

# --- budgets and projects (admin) ---------------------------------------------------------------


@dataclass
class BudgetData:
    title: dict[str, str]
    description: dict[str, str] = field(default_factory=dict)
    total_amount: int = 0  # cents
    zone: str | None = None
    weight: int = 0


@dataclass
class ProjectData:
    title: dict[str, str]
    description: dict[str, str] = field(default_factory=dict)
    cost: int = 0  # cents
    address: str | None = None
    weight: int = 0
    proposal_ids: list[int] = field(default_factory=list)


def budget_in(component: Component, budget_id: int) -> Budget | None:
    budget = db.session.get(Budget, budget_id)
    return budget if budget is not None and budget.component_id == component.id else None


def project_in(budget: Budget, project_id: int) -> Project | None:
    project = db.session.get(Project, project_id)
    return project if project is not None and project.budget_id == budget.id else None


def _zones(component: Component) -> dict[str, Any]:
    from decidim_py.tenancy import Organization

    org = db.session.get(Organization, component.organization_id)
    return (org.zones or {}) if org is not None else {}


def _clean_budget(component: Component, data: BudgetData) -> BudgetData:
    if not any((data.title or {}).values()):
        raise InvalidState(_("A budget needs a title."))
    if data.total_amount is None or data.total_amount <= 0:
        raise InvalidState(_("The total amount must be more than 0."))
    if data.weight is None or data.weight < 0:
        raise InvalidState(_("The position cannot be negative."))
    zone = (data.zone or "").strip() or None
    if zone is not None and zone not in _zones(component):
        raise InvalidState(_("Unknown zone."))
    return BudgetData(title=dict(data.title), description=sanitize_translated(data.description),
                      total_amount=int(data.total_amount), zone=zone, weight=int(data.weight))


def _budget_changes(budget: Budget) -> dict[str, Any]:
    return {"title": budget.title, "description_sha256": _sha(budget.description),
            "total_amount": budget.total_amount, "zone": budget.zone, "weight": budget.weight}


def _sha(value: Any) -> str:
    import json

    return hashlib.sha256(json.dumps(value or {}, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def create_budget(actor: Any, component: Component, data: BudgetData) -> Budget:
    require(actor, "budgets.budget.manage", component)
    clean = _clean_budget(component, data)
    from budgets.outcomes import TieBreaking

    budget = Budget(organization_id=component.organization_id, component_id=component.id,
                    title=clean.title, description=clean.description, total_amount=clean.total_amount,
                    zone=clean.zone, weight=clean.weight, outcome_rule="greedy", outcome_params={},
                    tie_breaking=TieBreaking(lot_seed=secrets.token_hex(16)).to_dict())
    db.session.add(budget)
    db.session.flush()
    record(actor, "budgets.budget.create", budget, component=component, changes=_budget_changes(budget))
    return budget


def has_ballots(budget: Budget) -> bool:
    return db.session.scalar(select(Ballot.id).where(Ballot.budget_id == budget.id).limit(1)) is not None


def update_budget(actor: Any, budget: Budget, data: BudgetData) -> Budget:
    require(actor, "budgets.budget.manage", budget)
    clean = _clean_budget(budget.component, data)
    lock_budget(budget)  # nobody starts a ballot while the amount may change
    if budget.is_closed:
        raise InvalidState(_("This budget is closed."))
    if has_ballots(budget) and (clean.total_amount, clean.zone) != (budget.total_amount, budget.zone):
        raise InvalidState(_("The total amount and the zone cannot change once people have voted."))
    before = _budget_changes(budget)
    budget.title, budget.description = clean.title, clean.description
    budget.total_amount, budget.zone, budget.weight = clean.total_amount, clean.zone, clean.weight
    db.session.flush()
    after = _budget_changes(budget)
    if before != after:
        record(actor, "budgets.budget.update", budget, component=budget.component,
               changes={k: {"from": before[k], "to": v} for k, v in after.items() if before[k] != v})
    return budget


def delete_budget(actor: Any, budget: Budget) -> None:
    """Only a budget nobody voted in, with no projects, and not closed."""
    require(actor, "budgets.budget.manage", budget)
    lock_budget(budget)
    if budget.is_closed or has_ballots(budget):
        raise InvalidState(_("A budget with ballots cannot be deleted."))
    if budget.projects:
        raise InvalidState(_("Delete the budget's projects first."))
    record(actor, "budgets.budget.delete", budget, component=budget.component, changes={"title": budget.title})
    db.session.delete(budget)
    db.session.flush()


def rule_locked_reason(budget: Budget) -> Any:
    """Why the outcome rule can no longer change (None: it can): it is declared before voting opens."""
    if budget.is_closed:
        return _("This budget is closed.")
    if has_ballots(budget):
        return _("People have voted: the outcome rule was declared before voting and cannot change.")
    component = budget.component
    if component.is_published and component.current_settings.votes != "disabled":
        return _("Voting is open (or finished) in the active phase: the outcome rule was declared before "
                 "voting and cannot change.")
    return None


def set_outcome_rule(actor: Any, budget: Budget, rule: str, params: dict[str, Any] | None,
                     tie_order: list[str], lot_seed: str | None = None) -> Budget:
    """Declare how winners are chosen (rule, parameters, tie-breaking with its lot seed), before voting."""
    from budgets.outcomes import RULES, TieBreaking, validate_params

    require(actor, "budgets.budget.manage", budget)
    lock_budget(budget)  # nobody starts a ballot while the rule changes
    reason = rule_locked_reason(budget)
    if reason is not None:
        raise InvalidState(reason)
    if rule not in RULES:
        raise InvalidState(_("Unknown outcome rule."))
    if "approval" not in RULES[rule].vote_types:
        raise InvalidState(_("This rule does not work with the ballots of this platform (approval)."))
    try:
        clean = validate_params(rule, dict(params or {}))
        seed = (lot_seed or "").strip() or (budget.tie_breaking or {}).get("lot_seed") or secrets.token_hex(16)
        tie = TieBreaking(order=tuple(tie_order), lot_seed=seed)
    except ValueError as exc:
        raise InvalidState(str(exc)) from None
    before = {"rule": budget.outcome_rule, "params": budget.outcome_params, "tie_breaking": budget.tie_breaking}
    budget.outcome_rule, budget.outcome_params, budget.tie_breaking = rule, clean, tie.to_dict()
    db.session.flush()
    after = {"rule": rule, "params": clean, "tie_breaking": tie.to_dict()}
    if before != after:
        record(actor, "budgets.budget.set_rule", budget, component=budget.component,
               changes={"from": before, "to": after})
    return budget


def _linkable_proposals(component: Component, ids: list[int]) -> list[Any]:
    """Published proposals of a proposals component in the same space."""
    from proposals.models import Proposal

    if not ids:
        return []
    found = list(db.session.scalars(select(Proposal).join(Component, Proposal.component_id == Component.id).where(
        Proposal.id.in_(sorted(set(ids))), Proposal.published_at.is_not(None),
        Component.space_type == component.space_type, Component.space_id == component.space_id,
        Component.manifest_name == "proposals")))
    if len(found) != len(set(ids)):
        raise InvalidState(_("Only published proposals of this space can be linked."))
    return found


def _clean_project(data: ProjectData) -> ProjectData:
    if not any((data.title or {}).values()):
        raise InvalidState(_("A project needs a title."))
    if data.cost is None or int(data.cost) <= 0:
        raise InvalidState(_("The cost must be more than 0."))
    if data.weight is None or data.weight < 0:
        raise InvalidState(_("The position cannot be negative."))
    address = (data.address or "").strip() or None
    if address is not None and len(address) > 200:
        raise InvalidState(_("The address must have at most %(max)d characters.", max=200))
    return ProjectData(title=dict(data.title), description=sanitize_translated(data.description),
                       cost=int(data.cost), address=address, weight=int(data.weight),
                       proposal_ids=list(data.proposal_ids or []))


def _project_changes(project: Project) -> dict[str, Any]:
    return {"budget": project.budget_id, "title": project.title, "description_sha256": _sha(project.description),
            "cost": project.cost, "address": project.address, "weight": project.weight,
            "proposals": [p.id for p in project.proposals]}


def _projects_frozen(budget: Budget) -> None:
    if budget.is_closed:
        raise InvalidState(_("This budget is closed."))


def create_project(actor: Any, budget: Budget, data: ProjectData) -> Project:
    require(actor, "budgets.budget.manage", budget)
    _projects_frozen(budget)
    clean = _clean_project(data)
    project = Project(organization_id=budget.organization_id, budget_id=budget.id, title=clean.title,
                      description=clean.description, cost=clean.cost, address=clean.address,
                      weight=clean.weight)
    project.proposals = _linkable_proposals(budget.component, clean.proposal_ids)
    db.session.add(project)
    db.session.flush()
    record(actor, "budgets.project.create", project, component=budget.component, changes=_project_changes(project))
    return project


def _in_ballots(project: Project) -> bool:
    return db.session.scalar(select(BallotItem.ballot_id).where(BallotItem.project_id == project.id).limit(1)) \
        is not None


def update_project(actor: Any, project: Project, data: ProjectData) -> Project:
    require(actor, "budgets.budget.manage", project)
    _projects_frozen(project.budget)
    clean = _clean_project(data)
    if clean.cost != project.cost and _in_ballots(project):
        raise InvalidState(_("The cost cannot change once the project is in someone's ballot."))
    before = _project_changes(project)
    project.title, project.description, project.cost = clean.title, clean.description, clean.cost
    project.address, project.weight = clean.address, clean.weight
    project.proposals = _linkable_proposals(project.budget.component, clean.proposal_ids)
    db.session.flush()
    after = _project_changes(project)
    if before != after:
        record(actor, "budgets.project.update", project, component=project.budget.component,
               changes={k: {"from": before[k], "to": v} for k, v in after.items() if before[k] != v})
    return project


def delete_project(actor: Any, project: Project) -> None:
    require(actor, "budgets.budget.manage", project)
    _projects_frozen(project.budget)
    if _in_ballots(project):
        raise InvalidState(_("A project that is in someone's ballot cannot be deleted."))
    record(actor, "budgets.project.delete", project, component=project.budget.component,
           changes={"budget": project.budget_id, "title": project.title})
    budget = project.budget
    project.proposals = []
    db.session.delete(project)
    db.session.flush()
    db.session.expire(budget, ["projects"])


def import_projects_from_proposals(actor: Any, budget: Budget, proposals_component: Component) -> int:
    """A project for every accepted proposal (answer published, with a cost) of a proposals component of
    the same space that is not yet a project of this budget. Returns how many were created."""
    from proposals.models import Proposal, ProposalState

    require(actor, "budgets.budget.manage", budget)
    _projects_frozen(budget)
    component = budget.component
    if (proposals_component.manifest_name != "proposals" or proposals_component.space_type != component.space_type
            or proposals_component.space_id != component.space_id):
        raise InvalidState(_("Choose a proposals component of this space."))
    linked = set(db.session.scalars(select(Proposal.id).join(Project.proposals).where(Project.budget_id == budget.id)))
    accepted = db.session.scalars(select(Proposal).where(
        Proposal.component_id == proposals_component.id, Proposal.internal_state == ProposalState.ACCEPTED,
        Proposal.state_published_at.is_not(None), Proposal.withdrawn_at.is_(None), Proposal.hidden_at.is_(None),
        Proposal.cost.is_not(None), Proposal.cost > 0).order_by(Proposal.id)).all()
    created = []
    for proposal in accepted:
        if proposal.id in linked:
            continue
        project = Project(organization_id=budget.organization_id, budget_id=budget.id,
                          title={proposal_locale(proposal): proposal.title},
                          description=sanitize_translated({proposal_locale(proposal): _paragraphs(proposal.body)}),
                          cost=proposal.cost * 100, weight=len(budget.projects) + len(created))
        project.proposals = [proposal]
        db.session.add(project)
        created.append(project)
    db.session.flush()
    if created:
        record(actor, "budgets.project.import", budget, component=component, changes={
            "proposals_component": proposals_component.id,
            "projects": [{"id": p.id, "proposal": p.proposals[0].id, "cost": p.cost} for p in created]})
    return len(created)


def proposal_locale(proposal: Any) -> str:
    from decidim_py.tenancy import Organization

    org = db.session.get(Organization, proposal.organization_id)
    return org.default_locale if org is not None else "en"


def _paragraphs(text: str) -> str:
    from markupsafe import escape

    return "".join(f"<p>{escape(p.strip())}</p>" for p in (text or "").split("\n") if p.strip())


