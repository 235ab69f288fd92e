"""Public pages: list, proposal page (supports), new / edit / preview / publish, withdraw."""

from __future__ import annotations

import secrets
from typing import Any

from flask import abort, g, render_template, request, session, url_for
from flask_babel import lazy_gettext as _
from flask_wtf import FlaskForm
from sqlalchemy import select

from decidim_py.components import component_blueprint
from decidim_py.db import db
from decidim_py.forms import choices
from decidim_py.permissions import can
from decidim_py.web import actor, run_action, run_form

from . import services
from .forms import STATE_LABELS, ProposalForm
from .models import Proposal
from .queries import ORIGINS, SORTS, STATES, Filters, list_proposals, resolve_sort
from .similar import similar_proposals

bp = component_blueprint("proposals", __name__)

# Requests that check and write a limit take SQLite's write lock before their first read.
LOCKING_ENDPOINTS = {"proposals.support", "proposals.unsupport", "proposals.new", "proposals.withdraw"}


def _write_lock(endpoint: str | None, values: dict[str, Any] | None) -> None:
    if request.method == "POST" and endpoint in LOCKING_ENDPOINTS:
        services.write_lock_up_front()


bp.url_value_preprocessors.setdefault(None, []).insert(0, _write_lock)


def _proposal(proposal_id: int) -> Proposal:
    proposal = db.session.get(Proposal, proposal_id)
    if proposal is None or proposal.component_id != g.component.id:
        abort(404)
    user = actor()
    if proposal.is_draft and (user is None or proposal.author_id != user.id):
        abort(404)
    if proposal.hidden_at is not None and not (can(user, "proposals.proposal.hide", proposal)
                                               or can(user, "moderation.item.manage", g.space)):
        abort(404)  # hidden by moderation: only its moderators and the component's admins see it
    return proposal


def _seed() -> int:
    seed = session.get("proposals_seed")
    if not isinstance(seed, int):
        seed = secrets.randbelow(2_147_483_000) + 1
        session["proposals_seed"] = seed
    return seed


def _page_arg() -> int:
    try:
        return max(1, int(request.args.get("page", "1")))
    except ValueError:
        return 1


@bp.get("/")
def index() -> Any:
    component, user = g.component, actor()
    states = tuple(s for s in request.args.getlist("state") if s in STATES)
    filters = Filters(
        text=request.args.get("q", "")[:200], states=states or Filters.states,
        mine=bool(user) and request.args.get("mine") == "1", withdrawn=request.args.get("withdrawn") == "1",
        origins=tuple(o for o in request.args.getlist("origin") if o in ORIGINS),
        supported=bool(user) and request.args.get("supported") == "1",
        sort=request.args.get("order", ""), seed=_seed(),
    )
    page = list_proposals(component, filters, user=user, page=_page_arg())
    settings = component.current_settings
    args = {"q": filters.text, "state": list(filters.states), "order": request.args.get("order", ""),
            "mine": "1" if filters.mine else "", "withdrawn": "1" if filters.withdrawn else "",
            "origin": list(filters.origins), "supported": "1" if filters.supported else ""}
    return render_template(
        "proposals/index.html", component=component, space=g.space, page=page, filters=filters,
        sort=resolve_sort(component, filters.sort), sorts=[s for s in SORTS if not (
            s == "most_supported" and settings.votes_hidden)],
        states=STATES, state_labels={str(k): v for k, v in STATE_LABELS.items()}, settings=settings,
        args=args, origins=ORIGINS,
    )


def _answer_entry(proposal: Proposal) -> int | None:
    """The public record entry of the proposal's published answer (latest)."""
    from decidim_py.transparency.models import DecisionRecord, LogEntry, Visibility

    return db.session.scalar(
        select(LogEntry.index).join(DecisionRecord, LogEntry.record_id == DecisionRecord.id)
        .where(DecisionRecord.resource_type == "Proposal", DecisionRecord.resource_id == proposal.id,
               DecisionRecord.action == "proposals.proposal.answer",
               DecisionRecord.visibility == Visibility.PUBLIC)
        .order_by(LogEntry.index.desc()).limit(1))


@bp.get("/<int:proposal_id>")
def show(proposal_id: int) -> Any:
    proposal = _proposal(proposal_id)
    user = actor()
    component = g.component
    supported = False
    if user is not None:
        key = services.person_key_for(user, component)
        supported = key is not None and proposal.id in services.supports_of(component, key)
    return render_template(
        "proposals/show.html", component=component, space=g.space, proposal=proposal,
        settings=component.current_settings, supported=supported,
        support=can(user, "proposals.proposal.support", proposal),
        unsupport=can(user, "proposals.proposal.unsupport", proposal),
        edit=can(user, "proposals.proposal.edit", proposal),
        withdraw=can(user, "proposals.proposal.withdraw", proposal),
        publish=can(user, "proposals.proposal.publish", proposal) if proposal.is_draft else None,
        answer_entry=_answer_entry(proposal) if proposal.is_answer_published else None,
        state_labels={str(k): v for k, v in STATE_LABELS.items()},
        threshold=component.global_settings.threshold_per_proposal or None,
        similar=similar_proposals(component, proposal.title, proposal.body, exclude_id=proposal.id)
        if proposal.is_draft else [],
    )


def _host_choices(user: Any) -> list[tuple[int, str]]:
    """The hosts a participant may propose on behalf of: those they are a member or admin of."""
    from decidim_py.accounts.models import Host, HostMembership
    from decidim_py.i18n import translated

    if user is None:
        return []
    hosts = db.session.scalars(select(Host).join(HostMembership, HostMembership.host_id == Host.id)
                               .where(HostMembership.user_id == user.id).order_by(Host.slug))
    return [(h.id, _("On behalf of %(host)s", host=translated(h.name))) for h in hosts]


@bp.route("/new", methods=["GET", "POST"])
def new() -> Any:
    component = g.component
    verdict = can(actor(), "proposals.proposal.create", component)
    form = ProposalForm(body_max=component.global_settings.proposal_length)
    form.author_host_id.choices = choices([(0, _("Myself")), *_host_choices(actor())])
    if not verdict:
        return render_template("proposals/form.html", form=form, component=component, space=g.space,
                               proposal=None, refused=verdict), 403 if request.method == "POST" else 200
    return run_form(
        form, lambda: services.create_proposal(actor(), component, form.to_data()),
        success=_("Draft saved. Check it, then publish it."),
        redirect_to=lambda p: url_for(".show", proposal_id=p.id),
        template="proposals/form.html", component=component, space=g.space, proposal=None, refused=None,
    )


@bp.route("/<int:proposal_id>/edit", methods=["GET", "POST"])
def edit(proposal_id: int) -> Any:
    proposal = _proposal(proposal_id)
    component = g.component
    verdict = can(actor(), "proposals.proposal.edit", proposal)
    form = ProposalForm(obj=proposal, body_max=component.global_settings.proposal_length)
    if not verdict:
        return render_template("proposals/form.html", form=form, component=component, space=g.space,
                               proposal=proposal, refused=verdict), 403 if request.method == "POST" else 200
    return run_form(
        form, lambda: services.update_proposal(actor(), proposal, form.to_data()),
        success=_("Proposal saved."), redirect_to=lambda p: url_for(".show", proposal_id=p.id),
        template="proposals/form.html", component=component, space=g.space, proposal=proposal, refused=None,
    )


def _button() -> None:
    """A POST button: only the CSRF token is checked."""
    if not FlaskForm().validate_on_submit():
        abort(400)


@bp.post("/<int:proposal_id>/publish")
def publish(proposal_id: int) -> Any:
    proposal = _proposal(proposal_id)
    _button()
    return run_action(lambda: services.publish_proposal(actor(), proposal), success=_("Proposal published."),
                      redirect_to=url_for(".show", proposal_id=proposal.id))


@bp.post("/<int:proposal_id>/discard")
def discard(proposal_id: int) -> Any:
    proposal = _proposal(proposal_id)
    _button()
    return run_action(lambda: services.discard_draft(actor(), proposal), success=_("Draft discarded."),
                      redirect_to=url_for(".index"))


@bp.post("/<int:proposal_id>/withdraw")
def withdraw(proposal_id: int) -> Any:
    proposal = _proposal(proposal_id)
    _button()
    return run_action(lambda: services.withdraw_proposal(actor(), proposal), success=_("Proposal withdrawn."),
                      redirect_to=url_for(".show", proposal_id=proposal.id))


@bp.post("/<int:proposal_id>/support")
def support(proposal_id: int) -> Any:
    proposal = _proposal(proposal_id)
    _button()
    return run_action(lambda: services.support_proposal(actor(), proposal), success=_("You support this proposal."),
                      redirect_to=url_for(".show", proposal_id=proposal.id))


@bp.post("/<int:proposal_id>/unsupport")
def unsupport(proposal_id: int) -> Any:
    proposal = _proposal(proposal_id)
    _button()
    return run_action(lambda: services.unsupport_proposal(actor(), proposal),
                      success=_("You no longer support this proposal."),
                      redirect_to=url_for(".show", proposal_id=proposal.id))
