"""Admin screens of a proposals component: list with filters, answers, hiding, evaluators and
private notes, new official proposals, import (CSV, JSON) and export (CSV, JSON).

Mounted at /admin/processes/<slug>/components/proposals/<component_id>.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from flask import Response, abort, flash, g, render_template, request, url_for
from flask_babel import lazy_gettext as _
from flask_wtf import FlaskForm
from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload

from decidim_py.accounts.models import User
from decidim_py.components import Component, component_admin_blueprint
from decidim_py.db import db
from decidim_py.errors import InvalidState
from decidim_py.forms import choices
from decidim_py.permissions import can, require
from decidim_py.web import actor, form_page, run_action, run_form, see_other

from . import evaluation, importing, services
from .forms import STATE_LABELS, AnswerForm, EvaluatorForm, HideForm, ImportForm, NoteForm, OfficialProposalForm
from .models import Proposal, ProposalEvaluatorAssignment, ProposalState
from .permissions import is_manager

bp = component_admin_blueprint("proposals", __name__, "proposals.admin.access")


def _proposal(proposal_id: int) -> Proposal:
    proposal = db.session.get(Proposal, proposal_id)
    if proposal is None or proposal.component_id != g.component.id or proposal.is_draft:
        abort(404)
    require(actor(), "proposals.proposal.review", proposal)  # an evaluator: assigned ones only
    return proposal


FILTER_ARGS = ("q", "state", "unpublished", "evaluator", "answered", "hidden")


def _admin_query() -> Any:
    q = (select(Proposal).where(Proposal.component_id == g.component.id, Proposal.published_at.is_not(None))
         .options(joinedload(Proposal.author)).order_by(Proposal.id.desc()))
    state = request.args.get("state", "")
    if state in {s.value for s in ProposalState}:
        q = q.where(Proposal.internal_state == ProposalState(state))
    if request.args.get("unpublished") == "1":
        q = q.where(Proposal.answered_at.is_not(None), Proposal.state_published_at.is_(None))
    text = request.args.get("q", "").strip()
    if text:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        q = q.where(or_(Proposal.title.ilike(pattern, escape="\\"), Proposal.reference.ilike(pattern, escape="\\")))
    answered = request.args.get("answered", "")
    if answered == "yes":
        q = q.where(Proposal.answered_at.is_not(None))
    elif answered == "no":
        q = q.where(Proposal.answered_at.is_(None))
    hidden = request.args.get("hidden", "")
    if hidden == "only":
        q = q.where(Proposal.hidden_at.is_not(None))
    elif hidden == "exclude":
        q = q.where(Proposal.hidden_at.is_(None))
    assigned = select(ProposalEvaluatorAssignment.proposal_id).where(
        ProposalEvaluatorAssignment.component_id == g.component.id)
    evaluator = request.args.get("evaluator", "")
    if evaluator == "none":
        q = q.where(Proposal.id.not_in(assigned))
    elif evaluator.isdigit():
        q = q.where(Proposal.id.in_(assigned.where(ProposalEvaluatorAssignment.user_id == int(evaluator))))
    if not is_manager(actor(), g.component):  # an evaluator sees the proposals assigned to them only
        q = q.where(Proposal.id.in_(evaluation.assigned_ids(actor(), g.component)))
    return q


@bp.get("/")
def index() -> Any:
    try:
        page = max(1, int(request.args.get("page", "1")))
    except ValueError:
        page = 1
    per_page = 50
    rows = list(db.session.scalars(_admin_query().limit(per_page + 1).offset((page - 1) * per_page)).unique())
    manager = is_manager(actor(), g.component)
    return render_template(
        "proposals/admin/index.html", component=g.component, space=g.space, rows=rows[:per_page],
        page=page, has_next=len(rows) > per_page, state_labels={str(k): v for k, v in STATE_LABELS.items()},
        button_form=FlaskForm(formdata=None),
        can_hide=bool(can(actor(), "proposals.proposal.hide", g.component)), manager=manager,
        evaluators=evaluation.space_evaluators(g.component) if manager else [],
        assigned=evaluation.evaluators_of(p.id for p in rows[:per_page]),
        args={k: request.args[k] for k in FILTER_ARGS if request.args.get(k)},
    )


def _answer_form(proposal: Proposal, formdata: Any) -> AnswerForm:
    if formdata is not None:
        return AnswerForm()
    return AnswerForm(formdata=None, data={"state": str(proposal.internal_state), "answer": proposal.answer or "",
                                           "cost": proposal.cost})


def _evaluator_form(formdata: Any = None) -> EvaluatorForm:
    form = EvaluatorForm() if formdata is not None else EvaluatorForm(formdata=None)
    form.evaluator_id.choices = choices((u.id, u.name) for u in evaluation.space_evaluators(g.component))
    return form


def _page(proposal: Proposal, **forms: Any) -> dict[str, Any]:
    """The admin page of a proposal: answer, hide, evaluators, private notes (the submitted form
    given in `forms` keeps its data and errors)."""
    manager = is_manager(actor(), g.component)
    context: dict[str, Any] = {
        "template": "proposals/admin/answer.html", "component": g.component, "space": g.space,
        "proposal": proposal, "manager": manager,
        "can_edit": bool(can(actor(), "proposals.proposal.edit_official", proposal)),
        "can_hide": bool(can(actor(), "proposals.proposal.hide", proposal)),
        "notes": evaluation.notes_of(proposal), "evaluators": evaluation.evaluators_of([proposal.id])[proposal.id],
        "answer_form": _answer_form(proposal, None), "hide_form": HideForm(formdata=None),
        "note_form": NoteForm(formdata=None), "evaluator_form": _evaluator_form() if manager else None,
    }
    context.update(forms)
    return context


@bp.route("/<int:proposal_id>/answer", methods=["GET", "POST"])
def answer(proposal_id: int) -> Any:
    proposal = _proposal(proposal_id)
    form = _answer_form(proposal, request.form if request.method == "POST" else None)
    return run_form(
        form, lambda: services.answer_proposal(actor(), proposal, form.state.data, form.answer.data,
                                               form.cost.data),
        success=_("Answer saved."), redirect_to=lambda _p: url_for(".index"), **_page(proposal, answer_form=form),
    )


@bp.post("/<int:proposal_id>/notes")
def add_note(proposal_id: int) -> Any:
    proposal = _proposal(proposal_id)
    form = NoteForm()
    return run_form(
        form, lambda: evaluation.add_note(actor(), proposal, form.body.data),
        success=_("Note saved."), redirect_to=lambda _n: url_for(".answer", proposal_id=proposal.id) + "#notes",
        **_page(proposal, note_form=form),
    )


@bp.post("/<int:proposal_id>/evaluators")
def assign(proposal_id: int) -> Any:
    proposal = _proposal(proposal_id)
    form = _evaluator_form(request.form)
    return run_form(
        form, lambda: evaluation.assign_evaluator(actor(), [proposal], db.session.get(User, form.evaluator_id.data)),
        success=_("Evaluator assigned."), redirect_to=lambda _n: url_for(".answer", proposal_id=proposal.id),
        **_page(proposal, evaluator_form=form),
    )


@bp.post("/<int:proposal_id>/evaluators/<int:user_id>/remove")
def unassign(proposal_id: int, user_id: int) -> Any:
    proposal = _proposal(proposal_id)
    FlaskForm().validate_on_submit() or abort(400)
    evaluator = db.session.get(User, user_id) or abort(404)
    return run_action(lambda: evaluation.unassign_evaluator(actor(), [proposal], evaluator),
                      success=_("Evaluator removed."), redirect_to=url_for(".answer", proposal_id=proposal.id))


@bp.post("/bulk-evaluators")
def bulk_evaluators() -> Any:
    """Assign or remove an evaluator for the proposals checked in the list."""
    FlaskForm().validate_on_submit() or abort(400)
    ids = [int(i) for i in request.form.getlist("ids") if i.isdigit()]
    proposals = list(db.session.scalars(select(Proposal).where(
        Proposal.component_id == g.component.id, Proposal.id.in_(ids), Proposal.published_at.is_not(None))))
    raw = request.form.get("evaluator_id", "")
    evaluator = db.session.get(User, int(raw)) if raw.isdigit() else None
    if evaluator is None:
        raise InvalidState(_("Choose an evaluator."))
    if request.form.get("operation") == "unassign":
        return run_action(lambda: evaluation.unassign_evaluator(actor(), proposals, evaluator),
                          success=_("Evaluator removed from the chosen proposals."), redirect_to=url_for(".index"))
    return run_action(lambda: evaluation.assign_evaluator(actor(), proposals, evaluator),
                      success=_("Evaluator assigned to the chosen proposals."), redirect_to=url_for(".index"))


@bp.route("/new", methods=["GET", "POST"])
def new_official() -> Any:
    require(actor(), "proposals.proposal.create_official", g.component)
    form = OfficialProposalForm(body_max=g.component.global_settings.proposal_length)
    return run_form(
        form, lambda: services.create_official_proposal(actor(), g.component, form.to_data()),
        success=_("Official proposal published."), redirect_to=lambda p: url_for(".answer", proposal_id=p.id),
        template="proposals/admin/new.html", component=g.component, space=g.space, proposal=None,
    )


@bp.route("/<int:proposal_id>/edit", methods=["GET", "POST"])
def edit_official(proposal_id: int) -> Any:
    proposal = _proposal(proposal_id)
    require(actor(), "proposals.proposal.edit_official", proposal)
    form = OfficialProposalForm(obj=proposal, body_max=g.component.global_settings.proposal_length)
    return run_form(
        form, lambda: services.update_official_proposal(actor(), proposal, form.to_data()),
        success=_("Official proposal saved."), redirect_to=lambda p: url_for(".answer", proposal_id=p.id),
        template="proposals/admin/new.html", component=g.component, space=g.space, proposal=proposal,
    )


@bp.route("/import", methods=["GET", "POST"])
def import_file() -> Any:
    require(actor(), "proposals.proposal.import", g.component)
    form = ImportForm()
    context = {"component": g.component, "space": g.space}
    if not form.validate_on_submit():
        return form_page("proposals/admin/import.html", form, **context)
    try:
        result = importing.import_proposals(actor(), g.component, form.file.data.read(), form.format.data)
    except importing.ImportInvalid as exc:
        form.form_errors.extend([str(exc.message), *(str(e) for e in exc.errors)])
        return render_template("proposals/admin/import.html", form=form, **context), 422
    except InvalidState as exc:
        form.form_errors.append(str(exc.message))
        return render_template("proposals/admin/import.html", form=form, **context), 409
    flash(str(_("%(imported)d proposals imported, %(skipped)d skipped (withdrawn or hidden).",
                imported=result.imported, skipped=result.skipped)), "success")
    return see_other(url_for(".index"))


@bp.post("/publish-answers")
def publish_answers() -> Any:
    FlaskForm().validate_on_submit() or abort(400)
    return run_action(lambda: services.publish_answers(actor(), g.component), success=_("Answers published."),
                      redirect_to=url_for(".index"))


@bp.post("/<int:proposal_id>/hide")
def hide(proposal_id: int) -> Any:
    proposal = _proposal(proposal_id)
    form = HideForm()
    return run_form(
        form, lambda: services.hide_proposal(actor(), proposal, form.reason.data),
        success=_("Proposal hidden."), redirect_to=lambda _p: url_for(".index"), **_page(proposal, hide_form=form),
    )


EXPORT_COLUMNS = ("id", "reference", "title", "body", "state", "answer", "cost", "supports",
                  "published_at", "withdrawn_at", "hidden_at", "state_published_at", "official", "comments")


def export_rows(component: Component, *, include_unpublished_answers: bool = True) -> list[dict[str, Any]]:
    hidden = component.current_settings.votes_hidden
    rows = []
    for p in db.session.scalars(select(Proposal).where(
            Proposal.component_id == component.id, Proposal.published_at.is_not(None)).order_by(Proposal.id)):
        answered = include_unpublished_answers or p.is_answer_published
        rows.append({
            "id": p.id, "reference": p.reference, "title": p.title, "body": p.body,
            "state": str(p.internal_state) if answered else "", "answer": (p.answer or "") if answered else "",
            "cost": p.cost if answered and p.cost is not None else "",
            "supports": "" if hidden else p.supports_count,  # the export omits supports when hidden (b.1)
            "published_at": p.published_at.isoformat() if p.published_at else "",
            "withdrawn_at": p.withdrawn_at.isoformat() if p.withdrawn_at else "",
            "hidden_at": p.hidden_at.isoformat() if p.hidden_at else "",
            "state_published_at": p.state_published_at.isoformat() if p.state_published_at else "",
            "official": p.is_official, "comments": p.comments_count,
        })
    return rows


def _cell(value: Any) -> Any:
    """Neutralise spreadsheet formulas in exported text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


@bp.get("/export.csv")
def export() -> Any:
    require(actor(), "proposals.proposal.export", g.component)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS, delimiter=";")
    writer.writeheader()
    for row in export_rows(g.component):
        writer.writerow({k: _cell(v) for k, v in row.items()})
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename=proposals-{g.component.id}.csv"})


@bp.get("/export.json")
def export_json() -> Any:
    """The same rows as the CSV export (never the private notes), one proposal per line."""
    require(actor(), "proposals.proposal.export", g.component)
    return Response(importing.export_json(export_rows(g.component)), mimetype="application/json",
                    headers={"Content-Disposition": f"attachment; filename=proposals-{g.component.id}.json"})
