"""Public pages: budgets, a budget's projects with the person's ballot, a project, check out (the
receipt shown once), cancel, results with explanations, the published ballots file, receipt checks."""

from __future__ import annotations

import secrets
from typing import Any

from flask import Response, abort, g, render_template, request, session, url_for
from flask_babel import lazy_gettext as _
from flask_wtf import FlaskForm
from sqlalchemy import BigInteger, cast, func, select

from decidim_py.components import component_blueprint
from decidim_py.db import db
from decidim_py.locking import write_lock_up_front
from decidim_py.pagination import Page
from decidim_py.permissions import can
from decidim_py.web import actor, run_action

from . import ballots
from .closing import find_receipt, result_of
from .explain import (
    RULE_DESCRIPTIONS,
    RULE_LABELS,
    comparison_note,
    describe_params,
    describe_tie_breaking,
    explain,
    format_money,
)
from .forms import ReceiptForm
from .models import Budget, Project, ResultStatus
from .services import budget_in, project_in

bp = component_blueprint("budgets", __name__)

# Requests that check and write a ballot take SQLite's write lock before their first read.
LOCKING_ENDPOINTS = {"budgets.add", "budgets.remove", "budgets.checkout", "budgets.cancel"}
SORTS = ("random", "most_voted", "highest_cost", "lowest_cost")
RANDOM_MODULUS = 2_147_483_647  # a prime: (id × seed) mod p is a permutation of the ids
SORT_LABELS = {"random": _("Random"), "most_voted": _("Most voted"), "highest_cost": _("Highest cost"),
               "lowest_cost": _("Lowest cost")}


def _write_lock(endpoint: str | None, values: dict[str, Any] | None) -> None:
    if request.method == "POST" and endpoint in LOCKING_ENDPOINTS:
        write_lock_up_front()


bp.url_value_preprocessors.setdefault(None, []).insert(0, _write_lock)


@bp.app_template_filter("budget_money")
def _money(cents: int) -> str:
    return format_money(cents)


def _budget(budget_id: int) -> Budget:
    return budget_in(g.component, budget_id) or abort(404)


def _project(budget: Budget, project_id: int) -> Project:
    return project_in(budget, project_id) or abort(404)


def _key() -> str | None:
    user = actor()
    return ballots.person_key_for(user, g.component) if user is not None else None


def _seed() -> int:
    seed = session.get("budgets_seed")
    if not isinstance(seed, int):
        seed = secrets.randbelow(RANDOM_MODULUS - 2) + 1
        session["budgets_seed"] = seed
    return seed


def available_sorts(component: Any) -> list[str]:
    """b.3: most voted only when votes are shown; random while voting is open or votes are hidden."""
    s = component.current_settings
    return [name for name in SORTS if name != "most_voted" or s.show_votes]


def resolve_sort(component: Any, requested: str | None) -> str:
    if requested in available_sorts(component):
        return str(requested)
    s = component.current_settings
    return "most_voted" if s.show_votes and s.votes == "finished" else "random"


@bp.get("/")
def index() -> Any:
    component = g.component
    budgets = list(db.session.scalars(select(Budget).where(Budget.component_id == component.id)
                                      .order_by(Budget.weight, Budget.id)))
    user, key = actor(), _key()
    statuses = ballots.ballot_statuses(component, key) if key else {}
    verdicts = {b.id: can(user, "budgets.budget.vote", b) for b in budgets}
    counts = dict(db.session.execute(select(Project.budget_id, func.count()).where(
        Project.budget_id.in_([b.id for b in budgets] or [-1])).group_by(Project.budget_id)).all())
    return render_template("budgets/index.html", component=component, space=g.space, budgets=budgets,
                           statuses=statuses, verdicts=verdicts, counts=counts,
                           settings=component.current_settings, zones=_zone_names())


def _zone_names() -> dict[str, Any]:
    from decidim_py.i18n import translated
    from decidim_py.tenancy import current_organization

    return {slug: translated(z.get("name")) or slug for slug, z in (current_organization().zones or {}).items()}


def _page_arg() -> int:
    try:
        return max(1, int(request.args.get("page", "1")))
    except ValueError:
        return 1


def _projects_page(budget: Budget, sort: str, page: int) -> Page:
    per_page = g.component.global_settings.projects_per_page or 12
    q = select(Project).where(Project.budget_id == budget.id)
    order = {
        "most_voted": (Project.votes_count.desc(), Project.id),
        "highest_cost": (Project.cost.desc(), Project.id),
        "lowest_cost": (Project.cost, Project.id),
    }.get(sort) or ((cast(Project.id, BigInteger) * _seed()) % RANDOM_MODULUS, Project.id)  # no int4 overflow
    total = db.session.scalar(select(func.count()).select_from(Project).where(Project.budget_id == budget.id)) or 0
    items = list(db.session.scalars(q.order_by(*order).limit(per_page).offset((page - 1) * per_page)))
    return Page(items, page, per_page, total)


def _rule_context(budget: Budget) -> dict[str, Any]:
    return {"rule_label": RULE_LABELS.get(budget.outcome_rule, budget.outcome_rule),
            "rule_description": RULE_DESCRIPTIONS.get(budget.outcome_rule, ""),
            "rule_params": describe_params(budget.outcome_params or {}),
            "tie_steps": describe_tie_breaking(budget.tie_breaking or {}),
            "lot_seed": (budget.tie_breaking or {}).get("lot_seed", "")}


@bp.get("/<int:budget_id>")
def show(budget_id: int) -> Any:
    budget = _budget(budget_id)
    component = g.component
    sort = resolve_sort(component, request.args.get("order"))
    page = _projects_page(budget, sort, _page_arg())
    view = ballots.ballot_of(budget, _key())
    user = actor()
    in_ballot = {p.id: p for p in budget.projects if p.id in view.project_ids}
    return render_template(
        "budgets/show.html", component=component, space=g.space, budget=budget, page=page, sort=sort,
        sorts=available_sorts(component), sort_labels=SORT_LABELS, view=view, in_ballot=in_ballot,
        vote=can(user, "budgets.budget.vote", budget), cancel=can(user, "budgets.ballot.cancel", budget),
        settings=component.current_settings, result=result_of(budget), **_rule_context(budget),
    )


@bp.get("/<int:budget_id>/projects/<int:project_id>")
def project(budget_id: int, project_id: int) -> Any:
    budget = _budget(budget_id)
    item = _project(budget, project_id)
    view = ballots.ballot_of(budget, _key())
    return render_template("budgets/project.html", component=g.component, space=g.space, budget=budget,
                           project=item, view=view, vote=can(actor(), "budgets.budget.vote", budget),
                           settings=g.component.current_settings)


def _button() -> None:
    """A POST button: only the CSRF token is checked."""
    if not FlaskForm().validate_on_submit():
        abort(400)


def _back(budget: Budget) -> str:
    from decidim_py.web import safe_next

    return safe_next(request.form.get("next"), url_for(".show", budget_id=budget.id))


@bp.post("/<int:budget_id>/projects/<int:project_id>/add")
def add(budget_id: int, project_id: int) -> Any:
    budget = _budget(budget_id)
    item = _project(budget, project_id)
    _button()
    return run_action(lambda: ballots.add_project(actor(), item), success=_("Project added to your ballot."),
                      redirect_to=_back(budget))


@bp.post("/<int:budget_id>/projects/<int:project_id>/remove")
def remove(budget_id: int, project_id: int) -> Any:
    budget = _budget(budget_id)
    item = _project(budget, project_id)
    _button()
    return run_action(lambda: ballots.remove_project(actor(), item), success=_("Project removed from your ballot."),
                      redirect_to=_back(budget))


@bp.post("/<int:budget_id>/checkout")
def checkout(budget_id: int) -> Any:
    """The receipt is shown in this response only (never stored, never in a cookie): reloading the
    page does not show it again."""
    budget = _budget(budget_id)
    _button()
    code = ballots.checkout_ballot(actor(), budget)
    return render_template("budgets/voted.html", component=g.component, space=g.space, budget=budget,
                           receipt=code)


@bp.post("/<int:budget_id>/cancel")
def cancel(budget_id: int) -> Any:
    budget = _budget(budget_id)
    _button()
    return run_action(lambda: ballots.cancel_ballot(actor(), budget),
                      success=_("Your vote was cancelled. You can vote again while voting is open."),
                      redirect_to=url_for(".show", budget_id=budget.id))


def _published(budget: Budget) -> Any:
    result = result_of(budget)
    if result is None:
        abort(404)
    return result


@bp.get("/<int:budget_id>/results")
def results(budget_id: int) -> Any:
    budget = _budget(budget_id)
    result = _published(budget)
    done = result.status == ResultStatus.DONE and result.outcome is not None
    outcome = result.outcome if done else {}
    projects = sorted(budget.projects, key=lambda p: (not p.is_selected, -p.votes_count, p.id))
    return render_template(
        "budgets/results.html", component=g.component, space=g.space, budget=budget, result=result, done=done,
        outcome=outcome, projects=projects, explanations=explain(budget, outcome) if done else {},
        comparison=comparison_note(outcome) if done else None,
        winners_total=sum(p.cost for p in budget.projects if p.is_selected), **_rule_context(budget),
    )


@bp.get("/<int:budget_id>/ballots.pb")
def ballots_file(budget_id: int) -> Any:
    budget = _budget(budget_id)
    result = _published(budget)
    return Response(result.ballots_file, mimetype="text/plain", headers={
        "Content-Disposition": f"attachment; filename=budget-{g.component.id}-{budget.id}.pb",
        "X-Content-SHA256": result.ballots_sha256})


@bp.route("/<int:budget_id>/receipt", methods=["GET", "POST"])
def receipt(budget_id: int) -> Any:
    budget = _budget(budget_id)
    result = _published(budget)
    form = ReceiptForm()
    match, checked, status = None, False, 200
    if request.method == "POST":
        if form.validate_on_submit():
            checked = True
            match = find_receipt(result, form.code.data)
        else:
            status = 422
    names = {p.id: p for p in budget.projects}
    return render_template("budgets/receipt.html", component=g.component, space=g.space, budget=budget,
                           result=result, form=form, match=match, checked=checked, projects=names), status
