"""Proposal services: lifecycle (draft → preview → publish, edit, withdraw), supports, answers.

Every service takes an explicit actor, calls `require()`, validates, writes, flushes and records
its decision; none commits. Limits (vote_limit, threshold_per_proposal, proposal_limit) are
checked and written inside one lock, so they hold under any number of concurrent requests:

- PostgreSQL: `SELECT ... FOR UPDATE` on the (component, person) row of `proposals_locks`, then on
  every proposal whose final-support count may change, in ascending id order (one statement), so
  two transactions never wait on each other in a cycle.
- SQLite: the whole database has one writer. The support views begin their transaction with
  `BEGIN IMMEDIATE` (see `write_lock_up_front`); elsewhere the first statement of the critical
  section is a write (the lock-row upsert), which takes the write lock before anything is read.

Supports are participants' acts, not officials' decisions: they are not recorded one by one (the
public record never names participants); the counters they produce are aggregates.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask_babel import lazy_gettext as _
from sqlalchemy import delete, func, select, update

from decidim_py.components import Component
from decidim_py.db import db, utcnow
from decidim_py.errors import InvalidState
from decidim_py.locking import lock_row, write_lock_up_front  # noqa: F401  (views call services.write_lock_up_front)
from decidim_py.notifications import ensure_following, notify_followers_of
from decidim_py.permissions import NotAllowed, deny, require
from decidim_py.transparency import Visibility, record

from .models import Proposal, ProposalLock, ProposalState, ProposalSupport

TITLE_MIN, TITLE_MAX, BODY_MIN = 15, 150, 15
EDIT_UNITS = {"minutes": 60, "hours": 3600, "days": 86400}


def sha256(text: str | None) -> str:
    return hashlib.sha256((text or "").encode()).hexdigest()


# --- locking ------------------------------------------------------------------------------------


def _lock_person(component_id: int, key: str) -> None:
    lock_row(ProposalLock, component_id=component_id, key=key)


def _lock_proposals(ids: set[int]) -> list[Proposal]:
    return list(db.session.scalars(
        select(Proposal).where(Proposal.id.in_(sorted(ids))).order_by(Proposal.id)
        .with_for_update().execution_options(populate_existing=True)))


def _recount(ids: set[int]) -> None:
    """Counters = final supports only, recomputed while the proposals' rows are locked."""
    final = (select(func.count()).select_from(ProposalSupport)
             .where(ProposalSupport.proposal_id == Proposal.id, ProposalSupport.is_temporary.is_(False))
             .scalar_subquery())
    db.session.execute(update(Proposal).where(Proposal.id.in_(sorted(ids))).values(supports_count=final)
                       .execution_options(synchronize_session=False))
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, Proposal) and obj.id in ids:
            db.session.expire(obj, ["supports_count"])


# --- validation ---------------------------------------------------------------------------------


@dataclass
class ProposalData:
    title: str
    body: str
    host_id: int | None = None  # on behalf of a host the author is a member of (creation only)


def validate(component: Component, data: ProposalData) -> ProposalData:
    title, body = (data.title or "").strip(), (data.body or "").strip()
    length = component.global_settings.proposal_length or 500
    if len(title) < TITLE_MIN:
        raise InvalidState(_("The title must have at least %(min)d characters.", min=TITLE_MIN))
    if len(title) > TITLE_MAX:
        raise InvalidState(_("The title must have at most %(max)d characters.", max=TITLE_MAX))
    if len(body) < BODY_MIN:
        raise InvalidState(_("The description must have at least %(min)d characters.", min=BODY_MIN))
    if len(body) > length:
        raise InvalidState(_("The description must have at most %(max)d characters.", max=length))
    return ProposalData(title, body)


def edit_deadline(proposal: Proposal) -> Any:
    """When the author's edit window closes (None: no limit)."""
    gs = proposal.component.global_settings
    if gs.proposal_edit_time == "infinite":
        return None
    seconds = max(0, gs.edit_time_value or 0) * EDIT_UNITS.get(gs.edit_time_unit, 60)
    return proposal.edited_at + timedelta(seconds=seconds)


def reference_for(proposal: Proposal) -> str:
    from decidim_py.tenancy import Organization

    org = db.session.get(Organization, proposal.organization_id)
    prefix = (org.host.split(".")[0] if org else str(proposal.organization_id)).upper()
    at = proposal.created_at
    return f"{prefix}-PROP-{at.year:04d}-{at.month:02d}-{proposal.id}"


# --- lifecycle ----------------------------------------------------------------------------------


def active_proposal_count(component: Component, author_id: int) -> int:
    """Proposal limit count: not withdrawn, drafts included (b.2)."""
    return db.session.scalar(select(func.count()).select_from(Proposal).where(
        Proposal.component_id == component.id, Proposal.author_id == author_id,
        Proposal.withdrawn_at.is_(None))) or 0


def create_proposal(actor: Any, component: Component, data: ProposalData) -> Proposal:
    """A draft, visible to its author only, to preview and then publish."""
    require(actor, "proposals.proposal.create", component)
    clean = validate(component, data)
    host_id = _host_of(actor, data.host_id)
    _lock_person(component.id, f"author:{actor.id}")
    if host_id is not None:
        _lock_person(component.id, f"host:{host_id}")  # always after the author's: no wait cycle
    limit = component.global_settings.proposal_limit
    if limit > 0 and active_proposal_count(component, actor.id) >= limit:
        raise InvalidState(_("You have reached the limit of %(limit)d proposals in this space.", limit=limit))
    if limit > 0 and host_id is not None and active_host_proposal_count(component, host_id) >= limit:
        raise InvalidState(_("This organisation has reached the limit of %(limit)d proposals in this space.",
                             limit=limit))
    now = utcnow()
    proposal = Proposal(organization_id=component.organization_id, component_id=component.id,
                        author_id=actor.id, title=clean.title, body=clean.body, created_at=now,
                        edited_at=now, author_host_id=host_id)
    db.session.add(proposal)
    db.session.flush()
    proposal.reference = reference_for(proposal)
    db.session.flush()
    return proposal


def _host_of(actor: Any, host_id: int | None) -> int | None:
    """The host a participant proposes on behalf of: one they are a member (or admin) of."""
    from decidim_py.accounts.roles import host_roles_of

    if not host_id:
        return None
    if host_id not in host_roles_of(actor):
        raise InvalidState(_("You can only propose on behalf of an organisation you are a member of."))
    return host_id


def active_host_proposal_count(component: Component, host_id: int) -> int:
    """Proposal limit count of a host (b.2: "or from the chosen user group")."""
    return db.session.scalar(select(func.count()).select_from(Proposal).where(
        Proposal.component_id == component.id, Proposal.author_host_id == host_id,
        Proposal.withdrawn_at.is_(None))) or 0


def create_official_proposal(actor: Any, component: Component, data: ProposalData) -> Proposal:
    """An official proposal (the admin's "new official proposal" screen): no author, no limit
    (b.2: admin paths skip it), published at once; the decision names the admin's role."""
    require(actor, "proposals.proposal.create_official", component)
    clean = validate(component, data)
    proposal = new_official(component, clean)
    record(actor, "proposals.proposal.publish", proposal, component=component,
           changes={"reference": proposal.reference, "official": True, "title_sha256": sha256(proposal.title),
                    "body_sha256": sha256(proposal.body)})
    return proposal


def update_official_proposal(actor: Any, proposal: Proposal, data: ProposalData) -> Proposal:
    """An admin edits an official proposal while nobody supports it (checked under the proposal's
    row lock, so a support in flight either waits or is seen)."""
    require(actor, "proposals.proposal.edit_official", proposal)
    _lock_proposals({proposal.id})
    if final_supports(proposal) > 0:
        raise InvalidState(_("An official proposal cannot be edited once it has supports."))
    clean = validate(proposal.component, data)
    if (clean.title, clean.body) == (proposal.title, proposal.body):
        return proposal
    proposal.title, proposal.body, proposal.edited_at = clean.title, clean.body, utcnow()
    db.session.flush()
    record(actor, "proposals.proposal.update", proposal, component=proposal.component,
           changes={"reference": proposal.reference, "official": True, "title_sha256": sha256(proposal.title),
                    "body_sha256": sha256(proposal.body)})
    return proposal


def new_official(component: Component, clean: ProposalData) -> Proposal:
    """Write a published official proposal (the callers check, validate and record)."""
    now = utcnow()
    proposal = Proposal(organization_id=component.organization_id, component_id=component.id, author_id=None,
                        is_official=True, title=clean.title, body=clean.body, created_at=now, edited_at=now,
                        published_at=now)
    db.session.add(proposal)
    db.session.flush()
    proposal.reference = reference_for(proposal)
    db.session.flush()
    return proposal


def update_proposal(actor: Any, proposal: Proposal, data: ProposalData) -> Proposal:
    require(actor, "proposals.proposal.edit", proposal)
    clean = validate(proposal.component, data)
    changed = (clean.title, clean.body) != (proposal.title, proposal.body)
    proposal.title, proposal.body = clean.title, clean.body
    if not proposal.is_draft:
        proposal.edited_at = utcnow()
    db.session.flush()
    if changed and not proposal.is_draft:
        record(actor, "proposals.proposal.update", proposal, component=proposal.component,
               changes={"reference": proposal.reference, "title_sha256": sha256(proposal.title),
                        "body_sha256": sha256(proposal.body)})
    return proposal


def publish_proposal(actor: Any, proposal: Proposal) -> Proposal:
    require(actor, "proposals.proposal.publish", proposal)
    if not proposal.is_draft:
        raise InvalidState(_("This proposal is already published."))
    proposal.published_at = proposal.edited_at = utcnow()
    db.session.flush()
    record_publication(actor, proposal)
    return proposal


def record_publication(actor: Any, proposal: Proposal) -> None:
    """A proposal was published (by its author, or by promoting a rejected amendment): the decision
    in the public record with its content's hashes; its author follows it."""
    record(actor, "proposals.proposal.publish", proposal, component=proposal.component,
           changes={"reference": proposal.reference, "title_sha256": sha256(proposal.title),
                    "body_sha256": sha256(proposal.body)})
    ensure_following(actor, proposal)  # authors follow their proposals


def discard_draft(actor: Any, proposal: Proposal) -> None:
    """Delete a draft (never published, so never a decision)."""
    require(actor, "proposals.proposal.edit", proposal)
    if not proposal.is_draft:
        raise InvalidState(_("Only drafts can be discarded."))
    db.session.delete(proposal)
    db.session.flush()


def withdraw_proposal(actor: Any, proposal: Proposal) -> Proposal:
    require(actor, "proposals.proposal.withdraw", proposal)
    _lock_proposals({proposal.id})  # a support in flight waits, or is seen
    if proposal.is_draft or proposal.is_withdrawn:
        raise InvalidState(_("This proposal cannot be withdrawn."))
    if final_supports(proposal) > 0:
        raise InvalidState(_("A proposal that has supports cannot be withdrawn."))
    proposal.withdrawn_at = utcnow()
    db.session.flush()
    record(actor, "proposals.proposal.withdraw", proposal, component=proposal.component,
           changes={"reference": proposal.reference})
    notify_followers_of(proposal, "proposals.withdrawn", exclude_user_id=actor.id)
    return proposal


# --- supports -----------------------------------------------------------------------------------


def person_key_for(user: Any, component: Component) -> str | None:
    """The key "one person, one support" is unique on: the verified person when the component
    requires one for `support`, the account otherwise."""
    from decidim_py.identity.eligibility import person_key_for as key_for

    return key_for(user, component, "support")


def supports_of(component: Component, key: str) -> dict[int, bool]:
    """{proposal_id: is_temporary} of one person's supports in a component."""
    rows = db.session.execute(select(ProposalSupport.proposal_id, ProposalSupport.is_temporary).where(
        ProposalSupport.component_id == component.id, ProposalSupport.person_key == key))
    return {pid: temp for pid, temp in rows}


def supportable_problem(proposal: Proposal) -> Any:
    if proposal.is_draft or proposal.is_withdrawn or proposal.hidden_at is not None:
        return _("This proposal cannot be supported.")
    if proposal.state == ProposalState.REJECTED:
        return _("Rejected proposals cannot be supported.")
    return None


def threshold_reached(proposal: Proposal, final_count: int | None = None) -> bool:
    gs = proposal.component.global_settings
    if gs.threshold_per_proposal <= 0 or gs.can_accumulate_votes_beyond_threshold:
        return False
    count = proposal.supports_count if final_count is None else final_count
    return count >= gs.threshold_per_proposal


def final_supports(proposal: Proposal) -> int:
    return db.session.scalar(select(func.count()).select_from(ProposalSupport).where(
        ProposalSupport.proposal_id == proposal.id, ProposalSupport.is_temporary.is_(False))) or 0


def support_proposal(actor: Any, proposal: Proposal) -> ProposalSupport:
    require(actor, "proposals.proposal.support", proposal)
    component = proposal.component
    gs = component.global_settings
    key = person_key_for(actor, component)
    if key is None:
        raise NotAllowed(deny(_("Please verify your identity: sign in with your digital identity."), "verify"))
    _lock_person(component.id, key)
    mine = supports_of(component, key)
    if proposal.id in mine:
        raise InvalidState(_("You already support this proposal."))
    if gs.vote_limit > 0 and len(mine) >= gs.vote_limit:
        raise NotAllowed(deny(_("You used all your supports."), "no_supports_left"))
    minimum = gs.minimum_votes_per_user
    affected = {proposal.id} | (set(mine) if minimum > 0 else set())
    locked = _lock_proposals(affected)
    problem = supportable_problem(proposal)
    if problem is not None:
        raise InvalidState(problem)
    if threshold_reached(proposal, final_supports(proposal)):
        raise InvalidState(_("This proposal has reached its supports threshold."))
    completes_minimum = minimum > 0 and len(mine) + 1 >= minimum
    if completes_minimum:
        _refuse_if_finalising_overflows(component, [p for p in locked if mine.get(p.id)])
    support = ProposalSupport(proposal_id=proposal.id, component_id=component.id, user_id=actor.id,
                              person_key=key, is_temporary=minimum > 0)
    db.session.add(support)
    db.session.flush()
    if completes_minimum:
        db.session.execute(update(ProposalSupport).where(
            ProposalSupport.component_id == component.id, ProposalSupport.person_key == key)
            .values(is_temporary=False).execution_options(synchronize_session=False))
        db.session.expire(support, ["is_temporary"])
    _recount(affected)
    ensure_following(actor, proposal)  # supporters follow what they support
    return support


def _refuse_if_finalising_overflows(component: Component, temporary: list[Proposal]) -> None:
    """Completing the minimum turns the person's temporary supports final: refused when one of those
    proposals reached its threshold meanwhile (one more final support would exceed it). Called with
    the proposals' rows locked, so their final counts cannot change before the supports turn final."""
    gs = component.global_settings
    if not temporary or gs.threshold_per_proposal <= 0 or gs.can_accumulate_votes_beyond_threshold:
        return
    finals: dict[int, int] = {pid: n for pid, n in db.session.execute(
        select(ProposalSupport.proposal_id, func.count()).where(
            ProposalSupport.proposal_id.in_([p.id for p in temporary]), ProposalSupport.is_temporary.is_(False))
        .group_by(ProposalSupport.proposal_id))}
    full = [p for p in temporary if threshold_reached(p, finals.get(p.id, 0))]
    if not full:
        return
    titles = ", ".join(f"\u201c{p.title}\u201d" for p in full)
    if len(full) == 1:
        raise InvalidState(_("The proposal %(titles)s, which you support, has reached its supports threshold "
                             "meanwhile: withdraw that support and choose another proposal.", titles=titles))
    raise InvalidState(_("The proposals %(titles)s, which you support, have reached their supports threshold "
                         "meanwhile: withdraw those supports and choose other proposals.", titles=titles))


def unsupport_proposal(actor: Any, proposal: Proposal) -> None:
    require(actor, "proposals.proposal.unsupport", proposal)
    component = proposal.component
    key = person_key_for(actor, component)
    if key is None:
        raise InvalidState(_("You do not support this proposal."))
    _lock_person(component.id, key)
    mine = supports_of(component, key)
    if proposal.id not in mine:
        raise InvalidState(_("You do not support this proposal."))
    minimum = component.global_settings.minimum_votes_per_user
    affected = {proposal.id} | (set(mine) if minimum > 0 else set())
    _lock_proposals(affected)
    db.session.execute(delete(ProposalSupport).where(
        ProposalSupport.proposal_id == proposal.id, ProposalSupport.person_key == key)
        .execution_options(synchronize_session=False))
    if minimum > 0 and len(mine) - 1 < minimum:
        db.session.execute(update(ProposalSupport).where(
            ProposalSupport.component_id == component.id, ProposalSupport.person_key == key)
            .values(is_temporary=True).execution_options(synchronize_session=False))
    _recount(affected)


# --- answers ------------------------------------------------------------------------------------


def _answer_changes(proposal: Proposal) -> dict[str, Any]:
    return {"reference": proposal.reference, "state": str(proposal.internal_state),
            "answer_sha256": sha256(proposal.answer), "cost": proposal.cost,
            "published": proposal.state_published_at is not None}


def validate_answer(component: Component, state: ProposalState | str, answer: str | None,
                    cost: int | None) -> tuple[ProposalState, str | None, int | None]:
    """The answer rules of b.2 (also for imported answers): a known state, a text when rejecting,
    a cost of at least 0, required for accepted proposals when answers give a cost."""
    try:
        state = ProposalState(state)
    except ValueError:
        raise InvalidState(_("Unknown answer state.")) from None
    answer = (answer or "").strip() or None
    if state == ProposalState.REJECTED and not answer:
        raise InvalidState(_("Please explain why the proposal is rejected."))
    if cost is not None and cost < 0:
        raise InvalidState(_("The cost cannot be negative."))
    if state == ProposalState.ACCEPTED and component.global_settings.answers_with_costs and cost is None:
        raise InvalidState(_("Please give the cost of an accepted proposal."))
    return state, answer, cost


def answer_proposal(actor: Any, proposal: Proposal, state: ProposalState | str, answer: str | None,
                    cost: int | None = None) -> Proposal:
    """Evaluate, accept, reject or un-answer. Published at once when the phase says so
    (publish_answers_immediately), otherwise later with `publish_answers`."""
    require(actor, "proposals.proposal.answer", proposal)
    if proposal.is_draft or proposal.is_withdrawn:
        raise InvalidState(_("Only published proposals can be answered."))
    component = proposal.component
    state, answer, cost = validate_answer(component, state, answer, cost)
    was_published = proposal.state_published_at is not None
    public_state_before = proposal.state
    proposal.internal_state = state
    proposal.answer = answer
    proposal.cost = cost if state == ProposalState.ACCEPTED else None
    if state == ProposalState.NOT_ANSWERED:
        proposal.answered_at = None
        proposal.state_published_at = None
    else:
        proposal.answered_at = utcnow()
        if not was_published and component.current_settings.publish_answers_immediately:
            proposal.state_published_at = utcnow()
    db.session.flush()
    public = was_published or proposal.state_published_at is not None
    record(actor, "proposals.proposal.answer", proposal, component=component,
           changes=_answer_changes(proposal), visibility=Visibility.PUBLIC if public else Visibility.ADMIN)
    if proposal.state is not None and proposal.state != public_state_before:
        _notify_answer(actor, proposal)
    return proposal


def _notify_answer(actor: Any, proposal: Proposal) -> None:
    """Followers hear of an answer once it is public (b.2: only when the state is published)."""
    notify_followers_of(proposal, "proposals.answer_published", {"state": str(proposal.internal_state)},
                        exclude_user_id=getattr(actor, "id", None))


def publish_answers(actor: Any, component: Component, ids: list[int] | None = None) -> int:
    """Publish the answers given but not yet published (all of the component's, or some)."""
    from .evaluation import assigned_ids
    from .permissions import is_manager

    require(actor, "proposals.proposal.answer", component)
    q = select(Proposal).where(Proposal.component_id == component.id, Proposal.answered_at.is_not(None),
                               Proposal.state_published_at.is_(None)).order_by(Proposal.id)
    if ids is not None:
        q = q.where(Proposal.id.in_(ids))
    if not is_manager(actor, component):  # an evaluator: the answers of the proposals assigned to them
        q = q.where(Proposal.id.in_(assigned_ids(actor, component)))
    n = 0
    for proposal in db.session.scalars(q).all():
        proposal.state_published_at = utcnow()
        db.session.flush()
        record(actor, "proposals.proposal.answer", proposal, component=component,
               changes=_answer_changes(proposal))
        if proposal.state is not None:
            _notify_answer(actor, proposal)
        n += 1
    return n


def hide_proposal(actor: Any, proposal: Proposal, reason: str) -> Proposal:
    """Hide a proposal from the admin screens: the same moderation decision as the moderators'
    (`moderation.hide`), so there is one notion of hidden, shown again from the moderation screen.
    Moderation keeps `proposal.hidden_at`, which the lists filter on."""
    from decidim_py.moderation.services import hide_resource

    require(actor, "proposals.proposal.hide", proposal)
    if proposal.hidden_at is not None:
        raise InvalidState(_("This proposal is already hidden."))
    hide_resource(actor, proposal, reason)
    return proposal
