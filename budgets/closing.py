"""Closing a budget: the anonymous ballots file (Pabulib), the outcome as a background job with
progress, the public decision, receipts checks, imports of Pabulib files and exports of results.

The outcome is computed from the published file itself (`pabulib.parse` → `to_election` →
`compute`), so `python -m budgets.outcomes recompute ballots.pb` reproduces it from the file alone.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _
from sqlalchemy import delete, func, insert, select, update

from decidim_py.accounts.system import SystemActor
from decidim_py.components import Component
from decidim_py.db import after_commit, db, get_engine, session_scope, utcnow
from decidim_py.errors import InvalidState
from decidim_py.i18n import translated
from decidim_py.jobs import huey
from decidim_py.permissions import require
from decidim_py.transparency import record

from .ballots import lock_budget
from .models import Ballot, BallotItem, Budget, BudgetResult, Project, ResultStatus
from .pabulib_messages import issue_message
from .rules import BallotRule

RECEIPT_COLUMN = "receipt_sha256"
SOURCE_COLUMN = "source"  # "online" | "imported"
PROGRESS_INTERVAL = 0.5  # seconds between two progress writes


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def money(cents: int) -> str:
    """Cents as a decimal amount for the file ("1500", "1234.5", "0.05")."""
    value = Decimal(cents) / 100
    text = format(value.normalize(), "f")
    return text


def project_file_id(project: Project) -> str:
    return str(project.id)


# --- the ballots file ---------------------------------------------------------------------------


def ballots_file(budget: Budget) -> str:
    """Projects and checked-out ballots of a budget as a Pabulib file: ballot ids are the random
    public ids given at checkout (never row ids), with the receipt hash and the source of each."""
    from budgets.outcomes.pabulib import write

    component = budget.component
    space = component.space
    projects = budget.projects
    ballots = db.session.execute(
        select(Ballot.id, Ballot.public_id, Ballot.receipt_sha256, Ballot.is_imported)
        .where(Ballot.budget_id == budget.id, Ballot.checked_out_at.is_not(None)).order_by(Ballot.public_id)).all()
    items: dict[int, list[int]] = {}
    for ballot_id, project_id in db.session.execute(
            select(BallotItem.ballot_id, BallotItem.project_id).join(Ballot, Ballot.id == BallotItem.ballot_id)
            .where(Ballot.budget_id == budget.id, Ballot.checked_out_at.is_not(None))):
        items.setdefault(ballot_id, []).append(project_id)
    rule = BallotRule.for_budget(budget)
    meta = {
        "description": translated(budget.title) or f"budget {budget.id}",
        "country": "",
        "unit": translated(space.title) if space is not None else "",
        "instance": f"{component.id}-{budget.id}",
        "num_projects": str(len(projects)),
        "num_votes": str(len(ballots)),
        "budget": money(budget.total_amount),
        "vote_type": "approval",
        "currency": "EUR",
        "ballot_rule": rule.kind,  # the rule in force at closing (no min/max_length: it may have changed)
        "rule": budget.outcome_rule,
        "rule_params": json.dumps(budget.outcome_params or {}, sort_keys=True),
        "tie_breaking": json.dumps(budget.tie_breaking or {}, sort_keys=True),
    }
    counts: dict[int, int] = {}
    for ballot_id, *_rest in ballots:
        for pid in items.get(ballot_id, []):
            counts[pid] = counts.get(pid, 0) + 1
    file_projects = {
        project_file_id(p): {"project_id": project_file_id(p), "cost": money(p.cost), "votes": str(counts.get(p.id, 0)),
                             "name": _one_line(translated(p.title))}
        for p in projects
    }
    votes = [
        {"voter_id": public_id, "vote": ",".join(str(pid) for pid in sorted(items.get(ballot_id, []))),
         RECEIPT_COLUMN: receipt or "-", SOURCE_COLUMN: "imported" if imported else "online"}
        for ballot_id, public_id, receipt, imported in ballots
    ]
    return write(meta, file_projects, votes)


def _one_line(text: str) -> str:
    return " ".join((text or "").replace(";", ",").split())


# --- closing and the outcome job ----------------------------------------------------------------


def close_voting(actor: Any, budget: Budget) -> BudgetResult:
    """Close voting in a budget: publish the anonymous ballots file (its SHA-256 in the public record)
    and queue the outcome's computation. Unfinished (not checked-out) ballots are discarded."""
    require(actor, "budgets.budget.manage", budget)
    lock_budget(budget)
    if budget.is_closed:
        raise InvalidState(_("Voting in this budget is already closed."))
    if not budget.projects:
        raise InvalidState(_("This budget has no projects."))
    budget.closed_at = utcnow()
    unfinished = select(Ballot.id).where(Ballot.budget_id == budget.id, Ballot.checked_out_at.is_(None))
    db.session.execute(delete(BallotItem).where(BallotItem.ballot_id.in_(unfinished))
                       .execution_options(synchronize_session=False))
    db.session.execute(delete(Ballot).where(Ballot.budget_id == budget.id, Ballot.checked_out_at.is_(None))
                       .execution_options(synchronize_session=False))
    text = ballots_file(budget)
    result = BudgetResult(budget_id=budget.id, status=ResultStatus.QUEUED, ballots_file=text,
                          ballots_sha256=sha256_text(text))
    db.session.add(result)
    db.session.flush()
    imported = db.session.scalar(select(func.count()).select_from(Ballot).where(
        Ballot.budget_id == budget.id, Ballot.checked_out_at.is_not(None), Ballot.is_imported.is_(True))) or 0
    record(actor, "budgets.budget.close", budget, component=budget.component, changes={
        "ballots_sha256": result.ballots_sha256, "ballots": budget.ballots_count, "imported_ballots": imported,
        "rule": budget.outcome_rule, "params": budget.outcome_params, "tie_breaking": budget.tie_breaking})
    schedule_outcome(result)
    return result


def schedule_outcome(result: BudgetResult) -> None:
    """Queue the outcome job once the closing is committed."""
    result_id = result.id
    after_commit(f"budgets.outcome.{result_id}", lambda: compute_outcome_job(result_id))


def rerun_outcome(actor: Any, budget: Budget) -> BudgetResult:
    """Run the outcome job again after a failure (the published file does not change)."""
    require(actor, "budgets.budget.manage", budget)
    result = result_of(budget)
    if result is None:
        raise InvalidState(_("Voting in this budget is not closed."))
    if result.status != ResultStatus.FAILED:
        raise InvalidState(_("The outcome is being computed or already published."))
    result.status, result.error = ResultStatus.QUEUED, None
    result.progress_done = result.progress_total = 0
    db.session.flush()
    schedule_outcome(result)
    return result


def result_of(budget: Budget) -> BudgetResult | None:
    return db.session.scalar(select(BudgetResult).where(BudgetResult.budget_id == budget.id))


@huey.task()
def compute_outcome_job(result_id: int) -> None:
    """The background job (Huey): in the consumer it builds the application; in immediate mode it
    runs in the caller's application."""
    if has_app_context():
        run_outcome(result_id)
        return
    from decidim_py.jobs import app

    with app().app_context():
        run_outcome(result_id)


class _Progress:
    """Progress written in short transactions of their own, at most every PROGRESS_INTERVAL seconds,
    so that the admin page shows it while the computation runs."""

    def __init__(self, result_id: int) -> None:
        self.result_id = result_id
        self.last = 0.0

    def __call__(self, done: int, total: int, message: str) -> None:
        now = time.monotonic()
        if now - self.last < PROGRESS_INTERVAL and done < total:
            return
        self.last = now
        with get_engine().begin() as conn:
            conn.execute(update(BudgetResult).where(BudgetResult.id == self.result_id).values(
                progress_done=done, progress_total=total, progress_message=str(message)[:200]))


def run_outcome(result_id: int) -> None:
    from budgets.outcomes import TieBreaking, compute
    from budgets.outcomes.pabulib import parse, to_election

    with session_scope():
        result = db.session.get(BudgetResult, result_id)
        if result is None or result.status not in (ResultStatus.QUEUED, ResultStatus.RUNNING):
            return
        result.status = ResultStatus.RUNNING
        budget = result.budget
        text, rule, params = result.ballots_file, budget.outcome_rule, dict(budget.outcome_params or {})
        tie = TieBreaking.from_dict(budget.tie_breaking or {})
    try:
        election = to_election(parse(text))
        outcome = compute(election, rule, params, tie, progress=_Progress(result_id))
    except Exception as exc:  # a failed computation is shown to the admins, who can run it again
        if has_app_context():
            current_app.logger.exception("budget outcome failed")
        with session_scope():
            result = db.session.get(BudgetResult, result_id)
            result.status, result.error = ResultStatus.FAILED, f"{type(exc).__name__}: {exc}"
        return
    with session_scope():
        result = db.session.get(BudgetResult, result_id)
        budget = result.budget
        publish_outcome(result, {**outcome.to_dict(), "scale": election.scale})


def publish_outcome(result: BudgetResult, outcome: dict[str, Any]) -> None:
    """Store the outcome, mark the winners, record the public decision (a system decision: the rule
    declared before voting, applied to the published file)."""
    budget = result.budget
    winners = [int(w) for w in outcome["winners"]]
    projects = {p.id: p for p in budget.projects}
    for project in projects.values():
        project.is_selected = project.id in winners
    result.outcome = outcome
    result.status = ResultStatus.DONE
    result.finished_at = utcnow()
    result.progress_done = max(result.progress_done, result.progress_total)
    db.session.flush()
    record(SystemActor(budget.organization_id), "budgets.budget.outcome", budget, component=budget.component,
           changes={"rule": outcome["rule"], "params": outcome["params"], "tie_breaking": outcome["tie_breaking"],
                    "ballots_sha256": result.ballots_sha256, "ballots": budget.ballots_count,
                    "winners": [{"project": pid, "cost": projects[pid].cost} for pid in winners],
                    "total_cost": sum(projects[pid].cost for pid in winners), "budget": budget.total_amount})


# --- receipts -----------------------------------------------------------------------------------


@dataclass
class ReceiptMatch:
    ballot_id: str
    project_ids: list[int]
    source: str


def find_receipt(result: BudgetResult, code: str) -> ReceiptMatch | None:
    """Look for a receipt's hash in the published ballots file itself (not in the database)."""
    from budgets.outcomes.pabulib import parse

    from .ballots import receipt_sha256

    wanted = receipt_sha256(code)
    for vote in parse(result.ballots_file).votes:
        if vote.get(RECEIPT_COLUMN) == wanted:
            ids = [int(x) for x in (vote.get("vote") or "").split(",") if x]
            return ReceiptMatch(ballot_id=vote["voter_id"], project_ids=ids, source=vote.get(SOURCE_COLUMN, ""))
    return None


# --- importing a Pabulib file -------------------------------------------------------------------


class ImportProblems(InvalidState):
    """Every problem of an imported file: [(line number, message)]."""

    def __init__(self, errors: list[tuple[int, str]]) -> None:
        super().__init__(_("The file has %(num)d problems; nothing was imported.", num=len(errors)))
        self.errors = errors


def _meta_line(text: str, key: str) -> int:
    for n, line in enumerate(text.splitlines(), start=1):
        if line.split(";", 1)[0].strip().lower() == key:
            return n
    return 1


def _cents(text: str) -> int | None:
    try:
        value = Decimal(str(text).strip()) * 100
    except (InvalidOperation, ValueError):
        return None
    if value != value.to_integral_value() or value <= 0:
        return None
    return int(value)


def import_ballots(actor: Any, budget: Budget, text: str) -> int:
    """Import the ballots of a Pabulib file (paper ballots, a past election) as checked-out ballots
    marked as imported. A budget without projects takes the file's projects; otherwise the file's
    project ids must be this budget's. Every bad line is reported (ImportProblems); nothing is
    written unless the whole file is good. Returns the number of ballots imported."""
    from budgets.outcomes.pabulib import PabulibError, parse

    require(actor, "budgets.budget.manage", budget)
    lock_budget(budget)  # the counters are recounted at the end: no ballot changes meanwhile
    if budget.is_closed:
        raise InvalidState(_("Voting in this budget is closed."))
    try:
        pb = parse(text)
    except PabulibError as exc:
        raise ImportProblems([(issue.line, issue_message(issue.code, issue.params)) for issue in exc.issues]) from None
    errors: list[tuple[int, str]] = []
    vote_type = (pb.meta.get("vote_type") or "approval").strip()
    if vote_type not in ("approval", "choose-1"):
        errors.append((_meta_line(text, "vote_type"),
                       str(_("Only approval ballots can be imported (this file has %(type)s).", type=vote_type))))
    existing = {project_file_id(p): p for p in budget.projects}
    costs: dict[str, int] = {}
    for pid, fields in pb.projects.items():
        line = pb.project_lines.get(pid, 0)
        cents = _cents(fields.get("cost", ""))
        if cents is None:
            errors.append((line, str(_("Project %(id)s: the cost must be a positive amount with at most two decimals.",
                                       id=pid))))
            continue
        if existing:
            if pid not in existing:
                errors.append((line, str(_("Project %(id)s is not a project of this budget.", id=pid))))
            elif existing[pid].cost != cents:
                errors.append((line, str(_("Project %(id)s costs %(file)s in the file but %(ours)s here.", id=pid,
                                           file=money(cents), ours=money(existing[pid].cost)))))
        costs[pid] = cents
    rule = BallotRule.for_budget(budget)
    ballots: list[list[str]] = []
    for vote, line in zip(pb.votes, pb.vote_lines, strict=True):
        voter = vote.get("voter_id", "")
        chosen = [x.strip() for x in (vote.get("vote") or "").split(",") if x.strip()]
        if not chosen:
            errors.append((line, str(_("Ballot %(id)s is empty.", id=voter))))
            continue
        total = sum(costs.get(pid, 0) for pid in chosen)
        if rule.counts_projects and len(chosen) > rule.maximum_projects:
            errors.append((line, str(_("Ballot %(id)s selects more than %(num)d projects.", id=voter,
                                       num=rule.maximum_projects))))
        elif not rule.counts_projects and total > budget.total_amount:
            errors.append((line, str(_("Ballot %(id)s is over the budget (%(total)s of %(budget)s).", id=voter,
                                       total=money(total), budget=money(budget.total_amount)))))
        ballots.append(chosen)
    if errors:
        raise ImportProblems(sorted(errors))
    created = 0
    if not existing:
        locale = _default_locale(budget)
        for n, (pid, fields) in enumerate(pb.projects.items()):
            project = Project(organization_id=budget.organization_id, budget_id=budget.id,
                              title={locale: fields.get("name") or pid}, description={}, cost=costs[pid], weight=n)
            db.session.add(project)
            db.session.flush()
            existing[pid] = project
            created += 1
    now = utcnow()
    rows = [{"budget_id": budget.id, "component_id": budget.component_id,
             "person_key": f"import:{secrets.token_hex(16)}", "checked_out_at": now,
             "public_id": secrets.token_hex(12), "receipt_sha256": None, "is_imported": True, "created_at": now}
            for _b in ballots]
    if rows:
        ids = list(db.session.scalars(insert(Ballot).returning(Ballot.id, sort_by_parameter_order=True), rows))
        item_rows = [{"ballot_id": bid, "project_id": existing[pid].id}
                     for bid, chosen in zip(ids, ballots, strict=True) for pid in dict.fromkeys(chosen)]
        db.session.execute(insert(BallotItem), item_rows)
        _recount(budget)
    record(actor, "budgets.ballots.import", budget, component=budget.component, changes={
        "file_sha256": sha256_text(text), "ballots": len(rows), "projects_created": created})
    return len(rows)


def _default_locale(budget: Budget) -> str:
    from decidim_py.tenancy import Organization

    org = db.session.get(Organization, budget.organization_id)
    return org.default_locale if org is not None else "en"


def _recount(budget: Budget) -> None:
    """Counters from the ballots themselves (after a bulk import)."""
    checked = select(Ballot.id).where(Ballot.budget_id == budget.id, Ballot.checked_out_at.is_not(None))
    per_project = (select(func.count()).select_from(BallotItem)
                   .where(BallotItem.project_id == Project.id, BallotItem.ballot_id.in_(checked)).scalar_subquery())
    db.session.execute(update(Project).where(Project.budget_id == budget.id).values(votes_count=per_project)
                       .execution_options(synchronize_session=False))
    db.session.execute(update(Budget).where(Budget.id == budget.id).values(
        ballots_count=select(func.count()).select_from(checked.subquery()).scalar_subquery())
        .execution_options(synchronize_session=False))
    db.session.expire(budget)
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, Project) and obj.budget_id == budget.id:
            db.session.expire(obj, ["votes_count"])


# --- exports ------------------------------------------------------------------------------------


RESULT_COLUMNS = ("budget_id", "budget", "project_id", "project", "cost", "votes", "selected", "reason")


def results_rows(component: Component) -> list[dict[str, Any]]:
    """One row per project of every budget with a published outcome."""
    from .explain import explain

    rows = []
    for budget in db.session.scalars(select(Budget).where(Budget.component_id == component.id)
                                     .order_by(Budget.weight, Budget.id)):
        result = result_of(budget)
        if result is None or result.status != ResultStatus.DONE or result.outcome is None:
            continue
        explanations = explain(budget, result.outcome)
        for project in budget.projects:
            rows.append({"budget_id": budget.id, "budget": translated(budget.title), "project_id": project.id,
                         "project": translated(project.title), "cost": money(project.cost),
                         "votes": project.votes_count, "selected": "yes" if project.is_selected else "no",
                         "reason": str(explanations.get(project.id, ""))})
    return rows


def results_document(budget: Budget, result: BudgetResult) -> dict[str, Any]:
    """The results of one budget as JSON: the outcome as computed, and the file it came from."""
    return {"budget": {"id": budget.id, "title": budget.title, "total_amount_cents": budget.total_amount},
            "ballots_sha256": result.ballots_sha256,
            "projects": [{"id": p.id, "title": p.title, "cost_cents": p.cost, "votes": p.votes_count,
                          "selected": bool(p.is_selected)} for p in budget.projects],
            "outcome": result.outcome}
