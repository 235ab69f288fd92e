"""Admin screens of a proposals component: list with filters, answers, hiding, CSV export.

Mounted at /admin/processes/<slug>/components/proposals/<component_id>.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from flask import Response, abort, g, render_template, request, url_for
from flask_babel import lazy_gettext as _
from flask_wtf import FlaskForm
from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload

from decidim_py.components import Component, component_admin_blueprint
from decidim_py.db import db
from decidim_py.permissions import can, require
from decidim_py.web import actor, run_action, run_form

from . import services
from .forms import STATE_LABELS, AnswerForm, HideForm
from .models import Proposal, ProposalState

bp = component_admin_blueprint("proposals", __name__, "proposals.admin.access")


def _proposal(proposal_id: int) -> Proposal:
    proposal = db.session.get(Proposal, proposal_id)
    if proposal is None or proposal.component_id != g.component.id or proposal.is_draft:
        abort(404)
    return proposal


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
    return q


@bp.get("/")
def index() -> Any:
    try:
        page = max(1, int(request.args.get("page", "1")))
    except ValueError:
        page = 1
    per_page = 50
    rows = list(db.session.scalars(_admin_query().limit(per_page + 1).offset((page - 1) * per_page)).unique())
    return render_template(
        "proposals/admin/index.html", component=g.component, space=g.space, rows=rows[:per_page],
        page=page, has_next=len(rows) > per_page, state_labels={str(k): v for k, v in STATE_LABELS.items()},
        button_form=FlaskForm(formdata=None),
        can_hide=bool(can(actor(), "proposals.proposal.hide", g.component)),
    )


def _answer_form(proposal: Proposal, formdata: Any) -> AnswerForm:
    if formdata is not None:
        return AnswerForm()
    return AnswerForm(formdata=None, data={"state": str(proposal.internal_state), "answer": proposal.answer or "",
                                           "cost": proposal.cost})


@bp.route("/<int:proposal_id>/answer", methods=["GET", "POST"])
def answer(proposal_id: int) -> Any:
    proposal = _proposal(proposal_id)
    form = _answer_form(proposal, request.form if request.method == "POST" else None)
    return run_form(
        form, lambda: services.answer_proposal(actor(), proposal, form.state.data, form.answer.data,
                                               form.cost.data),
        success=_("Answer saved."), redirect_to=lambda _p: url_for(".index"),
        template="proposals/admin/answer.html", component=g.component, space=g.space, proposal=proposal,
        answer_form=form, hide_form=HideForm(formdata=None),
    )


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
        success=_("Proposal hidden."), redirect_to=lambda _p: url_for(".index"),
        template="proposals/admin/answer.html", component=g.component, space=g.space, proposal=proposal,
        answer_form=_answer_form(proposal, None), hide_form=form,
    )


EXPORT_COLUMNS = ("id", "reference", "title", "body", "state", "answer", "cost", "supports",
                  "published_at", "withdrawn_at", "hidden_at")


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
