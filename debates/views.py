"""Public pages: list (open / closed / all), debate page with comments, new / edit, close."""

from __future__ import annotations

from typing import Any

from flask import abort, g, render_template, request, url_for
from flask_babel import lazy_gettext as _
from sqlalchemy import select

from decidim_py.components import component_blueprint
from decidim_py.db import db
from decidim_py.moderation import is_hidden
from decidim_py.permissions import can
from decidim_py.web import actor, run_form

from . import services
from .forms import CloseForm, DebateForm
from .models import Debate
from .queries import DEFAULT_STATE, STATES, list_debates

bp = component_blueprint("debates", __name__)

STATE_LABELS = {"open": _("Open"), "closed": _("Closed"), "all": _("All")}


def load_debate(debate_id: int) -> Debate:
    debate = db.session.get(Debate, debate_id)
    if debate is None or debate.component_id != g.component.id:
        abort(404)
    if is_hidden(debate) and not can(actor(), "moderation.item.manage", g.space):
        abort(404)  # hidden by moderation: only its moderators see it
    return debate


def close_entry(debate: Debate) -> int | None:
    """The public record entry of the debate's closing."""
    from decidim_py.transparency.models import DecisionRecord, LogEntry, Visibility

    return db.session.scalar(
        select(LogEntry.index).join(DecisionRecord, LogEntry.record_id == DecisionRecord.id)
        .where(DecisionRecord.resource_type == "Debate", DecisionRecord.resource_id == debate.id,
               DecisionRecord.action == "debates.debate.close", DecisionRecord.visibility == Visibility.PUBLIC)
        .order_by(LogEntry.index.desc()).limit(1))


def _page_arg() -> int:
    try:
        return max(1, int(request.args.get("page", "1")))
    except ValueError:
        return 1


@bp.get("/")
def index() -> Any:
    component = g.component
    state = request.args.get("state", DEFAULT_STATE)
    state = state if state in STATES else DEFAULT_STATE
    page = list_debates(component, state, page=_page_arg())
    return render_template(
        "debates/index.html", component=component, space=g.space, page=page, state=state, states=STATES,
        state_labels=STATE_LABELS, args={"state": state}, create=can(actor(), "debates.debate.create", component),
        instructions=component.global_settings.instructions,
    )


@bp.get("/<int:debate_id>")
def show(debate_id: int) -> Any:
    debate = load_debate(debate_id)
    user = actor()
    return render_template(
        "debates/show.html", component=g.component, space=g.space, debate=debate, hidden=is_hidden(debate),
        edit=can(user, "debates.debate.edit", debate), close=can(user, "debates.debate.close", debate),
        entry=close_entry(debate) if debate.is_closed else None,
        instructions=g.component.global_settings.instructions,
    )


def _refused(template: str, verdict: Any, **context: Any) -> Any:
    return render_template(template, refused=verdict, **context), 403 if request.method == "POST" else 200


@bp.route("/new", methods=["GET", "POST"])
def new() -> Any:
    component = g.component
    form = DebateForm()
    context = {"component": component, "space": g.space, "debate": None, "form": form}
    verdict = can(actor(), "debates.debate.create", component)
    if not verdict:
        return _refused("debates/form.html", verdict, **context)
    context.pop("form")
    return run_form(
        form, lambda: services.create_debate(actor(), component, form.to_data()), success=_("Debate created."),
        redirect_to=lambda d: url_for(".show", debate_id=d.id), template="debates/form.html", refused=None,
        **context,
    )


@bp.route("/<int:debate_id>/edit", methods=["GET", "POST"])
def edit(debate_id: int) -> Any:
    debate = load_debate(debate_id)
    form = DebateForm(debate=debate) if request.method == "GET" else DebateForm()
    context = {"component": g.component, "space": g.space, "debate": debate}
    verdict = can(actor(), "debates.debate.edit", debate)
    if not verdict:
        return _refused("debates/form.html", verdict, form=form, **context)
    return run_form(
        form, lambda: services.update_debate(actor(), debate, form.to_data()), success=_("Debate saved."),
        redirect_to=lambda d: url_for(".show", debate_id=d.id), template="debates/form.html", refused=None,
        **context,
    )


@bp.route("/<int:debate_id>/close", methods=["GET", "POST"])
def close(debate_id: int) -> Any:
    debate = load_debate(debate_id)
    form = CloseForm()
    context = {"component": g.component, "space": g.space, "debate": debate}
    verdict = can(actor(), "debates.debate.close", debate)
    if not verdict:
        return _refused("debates/close.html", verdict, form=form, **context)
    return run_form(
        form, lambda: services.close_debate(actor(), debate, form.conclusions.data), success=_("Debate closed."),
        redirect_to=lambda d: url_for(".show", debate_id=d.id), template="debates/close.html", refused=None,
        **context,
    )
