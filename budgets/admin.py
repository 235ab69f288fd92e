"""Admin screens of a budgets component: budgets and projects, the outcome rule, projects from
accepted proposals, importing Pabulib ballots, closing voting and the outcome job's progress, exports.

Mounted at /admin/processes/<slug>/components/budgets/<component_id>.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from flask import Response, abort, flash, g, render_template, request, url_for
from flask_babel import lazy_gettext as _
from flask_wtf import FlaskForm
from sqlalchemy import select

from decidim_py.components import Component, component_admin_blueprint
from decidim_py.db import db
from decidim_py.errors import InvalidState
from decidim_py.i18n import translated
from decidim_py.permissions import require
from decidim_py.web import actor, run_action, run_form, see_other

from . import closing, services
from .forms import (
    BallotsImportForm,
    BudgetForm,
    ImportProposalsForm,
    OutcomeRuleForm,
    ProjectForm,
    from_cents,
)
from .models import Budget, Project, ResultStatus
from .services import budget_in, project_in

bp = component_admin_blueprint("budgets", __name__, "budgets.admin.access")


def _budget(budget_id: int) -> Budget:
    return budget_in(g.component, budget_id) or abort(404)


def _project(budget: Budget, project_id: int) -> Project:
    return project_in(budget, project_id) or abort(404)


def _ctx(**extra: Any) -> dict[str, Any]:
    return {"component": g.component, "space": g.space, "button_form": FlaskForm(formdata=None), **extra}


@bp.get("/")
def index() -> Any:
    budgets = list(db.session.scalars(select(Budget).where(Budget.component_id == g.component.id)
                                      .order_by(Budget.weight, Budget.id)))
    results = {b.id: closing.result_of(b) for b in budgets}
    return render_template("budgets/admin/index.html", budgets=budgets, results=results, **_ctx())


def _zone_choices(form: BudgetForm) -> None:
    from decidim_py.tenancy import current_organization

    zones = current_organization().zones or {}
    form.zone.choices = [("", str(_("No zone (the whole city)")))] + [
        (slug, translated(z.get("name")) or slug) for slug, z in zones.items()]


def _budget_form_ctx(heading: Any) -> dict[str, Any]:
    return _ctx(heading=heading, back_url=url_for(".index"), back_label=translated(g.component.name),
                required={"total_amount"}, submit=_("Save the budget"))


def _project_form_ctx(budget: Budget, heading: Any) -> dict[str, Any]:
    return _ctx(heading=heading, back_url=url_for(".budget", budget_id=budget.id),
                back_label=translated(budget.title), required={"cost"}, submit=_("Save the project"))


@bp.route("/budgets/new", methods=["GET", "POST"])
def new_budget() -> Any:
    form = BudgetForm()
    _zone_choices(form)
    return run_form(form, lambda: services.create_budget(actor(), g.component, form.to_data()),
                    success=_("Budget created. Add its projects and declare its outcome rule."),
                    redirect_to=lambda b: url_for(".budget", budget_id=b.id),
                    template="budgets/admin/form.html", **_budget_form_ctx(_("New budget")))


@bp.route("/budgets/<int:budget_id>/edit", methods=["GET", "POST"])
def edit_budget(budget_id: int) -> Any:
    budget = _budget(budget_id)
    form = BudgetForm() if request.method == "POST" else BudgetForm(formdata=None, data={
        "title": budget.title, "description": budget.description, "total_amount": from_cents(budget.total_amount),
        "zone": budget.zone or "", "weight": budget.weight})
    _zone_choices(form)
    return run_form(form, lambda: services.update_budget(actor(), budget, form.to_data()),
                    success=_("Budget saved."), redirect_to=lambda b: url_for(".budget", budget_id=b.id),
                    template="budgets/admin/form.html", **_budget_form_ctx(_("Edit the budget")))


@bp.post("/budgets/<int:budget_id>/delete")
def delete_budget(budget_id: int) -> Any:
    budget = _budget(budget_id)
    FlaskForm().validate_on_submit() or abort(400)
    return run_action(lambda: services.delete_budget(actor(), budget), success=_("Budget deleted."),
                      redirect_to=url_for(".index"))


def _proposals_components(component: Component) -> list[Component]:
    return list(db.session.scalars(select(Component).where(
        Component.space_type == component.space_type, Component.space_id == component.space_id,
        Component.manifest_name == "proposals").order_by(Component.weight, Component.id)))


def _rule_form(budget: Budget, formdata: bool) -> OutcomeRuleForm:
    from budgets.outcomes import RULES

    tie = budget.tie_breaking or {}
    order = list(tie.get("order") or []) + ["", "", ""]
    params = budget.outcome_params or {}
    form = OutcomeRuleForm() if formdata else OutcomeRuleForm(formdata=None, data={
        "rule": budget.outcome_rule, "completion": params.get("completion", "none"),
        "comparison": bool(params.get("comparison")), "min_votes": params.get("min_votes", 0),
        "min_share": str(params.get("min_share", "0")), "tie_1": order[0], "tie_2": order[1], "tie_3": order[2],
        "lot_seed": tie.get("lot_seed", "")})
    form.set_rules(RULES)
    return form


@bp.get("/budgets/<int:budget_id>")
def budget(budget_id: int) -> Any:
    item = _budget(budget_id)
    proposals_form = ImportProposalsForm(formdata=None)
    proposals_form.component.choices = [(c.id, translated(c.name)) for c in _proposals_components(g.component)]
    return render_template("budgets/admin/budget.html", budget=item, result=closing.result_of(item),
                           rule_form=_rule_form(item, False), rule_locked=services.rule_locked_reason(item),
                           proposals_form=proposals_form, import_form=BallotsImportForm(formdata=None),
                           **_ctx())


@bp.post("/budgets/<int:budget_id>/rule")
def set_rule(budget_id: int) -> Any:
    from budgets.outcomes import RULES

    item = _budget(budget_id)
    form = _rule_form(item, True)
    spec = RULES.get(form.rule.data)

    def save() -> Budget:
        if spec is None:
            raise InvalidState(_("Unknown outcome rule."))
        return services.set_outcome_rule(actor(), item, form.rule.data, form.params_for(spec), form.tie_order(),
                                         form.lot_seed.data)

    proposals_form = ImportProposalsForm(formdata=None)
    proposals_form.component.choices = [(c.id, translated(c.name)) for c in _proposals_components(g.component)]
    return run_form(form, save, success=_("Outcome rule saved."),
                    redirect_to=lambda b: url_for(".budget", budget_id=b.id), template="budgets/admin/budget.html",
                    **_ctx(budget=item, result=closing.result_of(item), rule_form=form,
                           rule_locked=services.rule_locked_reason(item), proposals_form=proposals_form,
                           import_form=BallotsImportForm(formdata=None)))


@bp.post("/budgets/<int:budget_id>/import-proposals")
def import_proposals(budget_id: int) -> Any:
    item = _budget(budget_id)
    form = ImportProposalsForm()
    form.component.choices = [(c.id, translated(c.name)) for c in _proposals_components(g.component)]
    if not form.validate_on_submit():
        abort(400)
    source = db.session.get(Component, form.component.data)
    count = services.import_projects_from_proposals(actor(), item, source)
    flash(str(_("%(num)d projects created from accepted proposals.", num=count)), "success")
    return see_other(url_for(".budget", budget_id=item.id))


@bp.route("/budgets/<int:budget_id>/import-ballots", methods=["GET", "POST"])
def import_ballots(budget_id: int) -> Any:
    item = _budget(budget_id)
    form = BallotsImportForm()
    problems: list[tuple[int, str]] = []
    if form.validate_on_submit():
        raw = form.file.data.read()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            form.form_errors.append(str(_("The file is not UTF-8 text.")))
        else:
            try:
                count = closing.import_ballots(actor(), item, text)
            except closing.ImportProblems as exc:
                form.form_errors.append(str(exc.message))
                problems = exc.errors
            else:
                flash(str(_("%(num)d ballots imported.", num=count)), "success")
                return see_other(url_for(".budget", budget_id=item.id))
    status = 422 if request.method == "POST" else 200
    return render_template("budgets/admin/import_ballots.html", budget=item, form=form, problems=problems,
                           **_ctx()), status


@bp.route("/budgets/<int:budget_id>/projects/new", methods=["GET", "POST"])
def new_project(budget_id: int) -> Any:
    item = _budget(budget_id)
    form = ProjectForm()
    _proposal_choices(form)
    return run_form(form, lambda: services.create_project(actor(), item, form.to_data()),
                    success=_("Project created."), redirect_to=lambda _p: url_for(".budget", budget_id=item.id),
                    template="budgets/admin/form.html", **_project_form_ctx(item, _("New project")))


def _proposal_choices(form: ProjectForm) -> None:
    from proposals.models import Proposal

    ids = [c.id for c in _proposals_components(g.component)]
    rows = db.session.execute(select(Proposal.id, Proposal.reference, Proposal.title).where(
        Proposal.component_id.in_(ids or [-1]), Proposal.published_at.is_not(None)).order_by(Proposal.id)).all()
    form.proposals.choices = [(pid, f"{ref or pid} · {title}") for pid, ref, title in rows]


@bp.route("/budgets/<int:budget_id>/projects/<int:project_id>/edit", methods=["GET", "POST"])
def edit_project(budget_id: int, project_id: int) -> Any:
    item = _budget(budget_id)
    project = _project(item, project_id)
    form = ProjectForm() if request.method == "POST" else ProjectForm(formdata=None, data={
        "title": project.title, "description": project.description, "cost": from_cents(project.cost),
        "address": project.address or "", "weight": project.weight, "proposals": [p.id for p in project.proposals]})
    _proposal_choices(form)
    return run_form(form, lambda: services.update_project(actor(), project, form.to_data()),
                    success=_("Project saved."), redirect_to=lambda _p: url_for(".budget", budget_id=item.id),
                    template="budgets/admin/form.html", **_project_form_ctx(item, _("Edit the project")))


@bp.post("/budgets/<int:budget_id>/projects/<int:project_id>/delete")
def delete_project(budget_id: int, project_id: int) -> Any:
    item = _budget(budget_id)
    project = _project(item, project_id)
    FlaskForm().validate_on_submit() or abort(400)
    return run_action(lambda: services.delete_project(actor(), project), success=_("Project deleted."),
                      redirect_to=url_for(".budget", budget_id=item.id))


@bp.post("/budgets/<int:budget_id>/close")
def close(budget_id: int) -> Any:
    item = _budget(budget_id)
    FlaskForm().validate_on_submit() or abort(400)
    return run_action(lambda: closing.close_voting(actor(), item),
                      success=_("Voting closed. The anonymous ballots are published; the outcome is being computed."),
                      redirect_to=url_for(".result", budget_id=item.id))


@bp.post("/budgets/<int:budget_id>/rerun")
def rerun(budget_id: int) -> Any:
    item = _budget(budget_id)
    FlaskForm().validate_on_submit() or abort(400)
    return run_action(lambda: closing.rerun_outcome(actor(), item), success=_("The outcome is being computed again."),
                      redirect_to=url_for(".result", budget_id=item.id))


@bp.get("/budgets/<int:budget_id>/result")
def result(budget_id: int) -> Any:
    """The outcome job's progress (the page refreshes itself every few seconds while it runs: no script)."""
    item = _budget(budget_id)
    res = closing.result_of(item)
    if res is None:
        abort(404)
    running = res.status in (ResultStatus.QUEUED, ResultStatus.RUNNING)
    body = render_template("budgets/admin/result.html", budget=item, result=res, running=running, **_ctx())
    return body, 200, ({"Refresh": "3"} if running else {})


@bp.get("/budgets/<int:budget_id>/export.pb")
def export_pb(budget_id: int) -> Any:
    """Projects and the anonymous ballots so far (the published file once voting is closed)."""
    item = _budget(budget_id)
    require(actor(), "budgets.budget.manage", item)
    res = closing.result_of(item)
    text = res.ballots_file if res is not None else closing.ballots_file(item)
    return Response(text, mimetype="text/plain",
                    headers={"Content-Disposition": f"attachment; filename=budget-{g.component.id}-{item.id}.pb"})


def _cell(value: Any) -> Any:
    """Neutralise spreadsheet formulas in exported text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


@bp.get("/results.csv")
def export_csv() -> Any:
    require(actor(), "budgets.budget.manage", g.component)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=closing.RESULT_COLUMNS, delimiter=";")
    writer.writeheader()
    for row in closing.results_rows(g.component):
        writer.writerow({k: _cell(v) for k, v in row.items()})
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename=budgets-{g.component.id}-results.csv"})


@bp.get("/budgets/<int:budget_id>/results.json")
def export_json(budget_id: int) -> Any:
    item = _budget(budget_id)
    require(actor(), "budgets.budget.manage", item)
    res = closing.result_of(item)
    if res is None or res.status != ResultStatus.DONE:
        abort(404)
    body = json.dumps(closing.results_document(item, res), ensure_ascii=False, indent=1, sort_keys=True)
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": f"attachment; filename=budget-{g.component.id}-{item.id}-results.json"})
