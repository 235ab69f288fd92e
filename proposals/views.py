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
from decidim_py.i18n import translated
from decidim_py.permissions import can
from decidim_py.web import actor, run_action, run_form

from . import amendments, endorsements, services
from .forms import STATE_LABELS, ProposalForm
from .models import Proposal, ProposalAmendment
from .queries import ORIGINS, STATES, Filters, available_sorts, list_proposals, resolve_sort
from .similar import similar_proposals

bp = component_blueprint("proposals", __name__)

# Requests that check and write a limit take SQLite's write lock before their first read.
LOCKING_ENDPOINTS = {"proposals.support", "proposals.unsupport", "proposals.new", "proposals.withdraw",
                     "proposals.endorse", "proposals.unendorse", "proposals.amendment_publish",
                     "proposals.amendment_withdraw", "proposals.amendment_accept", "proposals.amendment_reject",
                     "proposals.amendment_promote"}


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
        sort=resolve_sort(component, filters.sort), sorts=available_sorts(component),
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
    support = can(user, "proposals.proposal.support", proposal)
    supported = False  # allowed to support: not supported yet (the rule read the person's supports)
    if user is not None and support.code == "already_supported":
        supported = True
    elif user is not None and not support:  # refused for another reason: read them here
        key = services.person_key_for(user, component)
        supported = key is not None and proposal.id in services.supports_of(component, key)
    return render_template(
        "proposals/show.html", component=component, space=g.space, proposal=proposal,
        settings=component.current_settings, supported=supported, support=support,
        unsupport=can(user, "proposals.proposal.unsupport", proposal) if supported else None,
        edit=can(user, "proposals.proposal.edit", proposal),
        withdraw=can(user, "proposals.proposal.withdraw", proposal),
        publish=can(user, "proposals.proposal.publish", proposal) if proposal.is_draft else None,
        answer_entry=_answer_entry(proposal) if proposal.is_answer_published else None,
        state_labels={str(k): v for k, v in STATE_LABELS.items()},
        threshold=component.global_settings.threshold_per_proposal or None,
        endorsements=endorsements.panel(proposal, user), amendments=amendments.panel(proposal, user),
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


# --- endorsements (endorsements.py) -------------------------------------------------------------


def _endorsements_url(proposal: Proposal) -> str:
    return url_for(".show", proposal_id=proposal.id) + "#endorsements-title"


def _endorsement(proposal_id: int, *, withdraw: bool) -> Any:
    """Endorse, or withdraw an endorsement: as oneself, or for the host the form names."""
    proposal = _proposal(proposal_id)
    _button()
    user = actor()
    host = endorsements.host_for(user, request.form.get("host_id"))
    name = translated(host.name) if host is not None else None
    if withdraw:
        success = (_("%(host)s no longer endorses this proposal.", host=name) if host is not None
                   else _("You no longer endorse this proposal."))
        call = lambda: endorsements.unendorse_proposal(user, proposal, host=host)  # noqa: E731
    else:
        success = (_("%(host)s endorses this proposal.", host=name) if host is not None
                   else _("You endorse this proposal."))
        show_name = request.form.get("show_name") == "1"
        call = lambda: endorsements.endorse_proposal(user, proposal, host=host, show_name=show_name)  # noqa: E731
    return run_action(call, success=success, redirect_to=_endorsements_url(proposal))


@bp.post("/<int:proposal_id>/endorse")
def endorse(proposal_id: int) -> Any:
    return _endorsement(proposal_id, withdraw=False)


@bp.post("/<int:proposal_id>/unendorse")
def unendorse(proposal_id: int) -> Any:
    return _endorsement(proposal_id, withdraw=True)


# --- amendments (amendments.py) -----------------------------------------------------------------


def _amendment(proposal_id: int, amendment_id: int) -> ProposalAmendment:
    proposal = _proposal(proposal_id)
    amendment = db.session.get(ProposalAmendment, amendment_id)
    if amendment is None or amendment.proposal_id != proposal.id or not amendments.visible_to(amendment, actor()):
        abort(404)
    return amendment


def _amendment_url(amendment: ProposalAmendment) -> str:
    return url_for(".amendment", proposal_id=amendment.proposal_id, amendment_id=amendment.id)


def _amend_form_page(proposal: Proposal, amendment: ProposalAmendment | None, verdict: Any,
                     save: Any, success: Any) -> Any:
    component = g.component
    form = ProposalForm(obj=amendment or proposal, body_max=component.global_settings.proposal_length)
    context = {"component": component, "space": g.space, "proposal": proposal, "amendment": amendment}
    if not verdict:
        return render_template("proposals/amend_form.html", form=form, refused=verdict,
                               **context), 403 if request.method == "POST" else 200
    return run_form(form, lambda: save(form.to_data()), success=success, redirect_to=_amendment_url,
                    template="proposals/amend_form.html", refused=None, **context)


@bp.route("/<int:proposal_id>/amend", methods=["GET", "POST"])
def amend(proposal_id: int) -> Any:
    proposal = _proposal(proposal_id)
    return _amend_form_page(proposal, None, can(actor(), amendments.AMEND, proposal),
                            lambda data: amendments.create_amendment(actor(), proposal, data),
                            _("Amendment draft saved. Check it, then publish it."))


@bp.route("/<int:proposal_id>/amendments/<int:amendment_id>/edit", methods=["GET", "POST"])
def amendment_edit(proposal_id: int, amendment_id: int) -> Any:
    amendment = _amendment(proposal_id, amendment_id)
    return _amend_form_page(amendment.proposal, amendment, can(actor(), "proposals.amendment.edit", amendment),
                            lambda data: amendments.update_amendment(actor(), amendment, data),
                            _("Amendment draft saved."))


@bp.get("/<int:proposal_id>/amendments/<int:amendment_id>")
def amendment(proposal_id: int, amendment_id: int) -> Any:
    amendment = _amendment(proposal_id, amendment_id)
    proposal, user = amendment.proposal, actor()
    verdicts = {verb: can(user, f"proposals.amendment.{verb}", amendment)
                for verb in ("edit", "publish", "withdraw", "accept", "reject", "promote")}
    return render_template(
        "proposals/amendment.html", component=g.component, space=g.space, proposal=proposal, amendment=amendment,
        title_diff=amendments.text_diff(amendment.base_title, amendment.title),
        body_diff=amendments.text_diff(amendment.base_body, amendment.body),
        outdated=(amendment.base_title, amendment.base_body) != (proposal.title, proposal.body),
        state_labels={str(k): v for k, v in amendments.STATE_LABELS.items()}, **verdicts,
    )


def _amendment_action(name: str, success: Any, redirect: Any = None) -> Any:
    """Register a POST button on an amendment that calls one service of amendments.py."""

    def view(proposal_id: int, amendment_id: int) -> Any:
        amendment = _amendment(proposal_id, amendment_id)
        _button()
        service = getattr(amendments, f"{name}_amendment")
        result: dict[str, Any] = {}
        response = run_action(lambda: result.setdefault("value", service(actor(), amendment)), success=success,
                              redirect_to=_amendment_url(amendment))
        if redirect is not None:
            response.headers["Location"] = redirect(amendment, result.get("value"))
        return response

    view.__name__ = f"amendment_{name}"
    bp.add_url_rule(f"/<int:proposal_id>/amendments/<int:amendment_id>/{name}", view_func=view, methods=["POST"])
    return view


_amendment_action("publish", _("Amendment published."))
_amendment_action("discard", _("Amendment draft discarded."),
                  lambda a, _r: url_for(".show", proposal_id=a.proposal_id))
_amendment_action("withdraw", _("Amendment withdrawn."))
_amendment_action("accept", _("Amendment accepted: the proposal now has its text."),
                  lambda a, _r: url_for(".show", proposal_id=a.proposal_id))
_amendment_action("reject", _("Amendment rejected."))
_amendment_action("promote", _("Your amendment is now a proposal."),
                  lambda _a, promoted: url_for(".show", proposal_id=promoted.id))
