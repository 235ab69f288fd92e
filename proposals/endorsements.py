"""Endorsements of proposals: a participant backs a proposal publicly, as themselves or on behalf of
a host (a department or community organisation) they belong to.

- One endorsement per person key and proposal (the verified person when the component requires
  one for `endorse`, the account otherwise) and one per host and proposal: unique constraints.
- Open when the component's global `endorsements_enabled` and the phase's `endorsements_enabled`
  are on and the phase's `endorsements_blocked` is off (Decidim's switches); never on drafts,
  withdrawn, hidden or rejected proposals.
- `endorsements_count` is recomputed while the proposal's row is locked (`SELECT ... FOR UPDATE`
  on PostgreSQL; on SQLite the request begins with BEGIN IMMEDIATE), so it is exact under any
  number of concurrent requests.

Endorsing is a participant's act, not a decision: nothing goes to the public record. The endorsers
list names the hosts, and the people who chose to be named; the others are only counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _
from sqlalchemy import delete, func, or_, select, update

from decidim_py.accounts.models import Host, User
from decidim_py.components import Component
from decidim_py.db import db
from decidim_py.errors import InvalidState
from decidim_py.i18n import translated
from decidim_py.identity.eligibility import person_key_for, refusal
from decidim_py.permissions import NotAllowed, Verdict, allow, can, deny, require

from .models import Proposal, ProposalEndorsement, ProposalState
from .services import _lock_proposals

ENDORSE, UNENDORSE = "proposals.proposal.endorse", "proposals.proposal.unendorse"
ACTIONS = frozenset({ENDORSE, UNENDORSE})
ENDORSERS_SHOWN = 100


# --- rules --------------------------------------------------------------------------------------


def endorsable_problem(proposal: Proposal) -> Any:
    if proposal.is_draft or proposal.is_withdrawn or proposal.hidden_at is not None:
        return _("This proposal cannot be endorsed.")
    if proposal.state == ProposalState.REJECTED:
        return _("Rejected proposals cannot be endorsed.")
    return None


def endorsements_shown(component: Component) -> bool:
    """Whether the phase shows endorsements at all (counter, list, buttons)."""
    return bool(component.global_settings.endorsements_enabled and component.current_settings.endorsements_enabled)


def permission(actor: Any, action: str, proposal: Proposal) -> Verdict:
    """The component link for endorse / unendorse (the caller checked reading and signing in)."""
    component = proposal.component
    if not endorsements_shown(component):
        return deny(_("Endorsements are not open in this phase."), "phase_closed")
    if component.current_settings.endorsements_blocked:
        return deny(_("Endorsements are closed in this phase."), "blocked")
    if action == UNENDORSE:
        if proposal.is_draft or proposal.hidden_at is not None:
            return deny(_("This proposal cannot be endorsed."), "invalid_state")
        refused = refusal(actor, component, "endorse")  # the eligibility of endorsing (a falsy Verdict)
        return refused if refused is not None else allow()
    problem = endorsable_problem(proposal)
    if problem is not None:
        return deny(problem, "invalid_state")
    return allow()


def endorsement_key(user: Any, component: Component) -> str | None:
    """The key "one person, one endorsement" is unique on (None: a verified person is needed)."""
    return person_key_for(user, component, "endorse")


def member_hosts(user: Any, organization_id: int) -> list[Host]:
    """The hosts a user may endorse for (member or admin), by name."""
    from decidim_py.accounts.roles import host_roles_of

    ids = list(host_roles_of(user))
    if not ids:
        return []
    hosts = db.session.scalars(select(Host).where(Host.id.in_(ids), Host.organization_id == organization_id))
    return sorted(hosts, key=lambda h: translated(h.name).casefold())


def _check_member(actor: Any, proposal: Proposal, host: Host) -> None:
    from decidim_py.accounts.roles import host_roles_of

    if host.organization_id != proposal.organization_id or host.id not in host_roles_of(actor):
        raise NotAllowed(deny(_("Only the members of %(host)s can endorse on its behalf.",
                                host=translated(host.name)), "not_member"))


def _identity(actor: Any, proposal: Proposal, host: Host | None) -> Any:
    """The WHERE condition of the endorsing identity: the host, or the person."""
    if host is not None:
        _check_member(actor, proposal, host)
        return ProposalEndorsement.host_id == host.id
    key = endorsement_key(actor, proposal.component)
    if key is None:
        raise NotAllowed(deny(_("Please verify your identity: sign in with your digital identity."), "verify"))
    return ProposalEndorsement.person_key == key


def _recount(proposal: Proposal) -> None:
    count = (select(func.count()).select_from(ProposalEndorsement)
             .where(ProposalEndorsement.proposal_id == Proposal.id).scalar_subquery())
    db.session.execute(update(Proposal).where(Proposal.id == proposal.id).values(endorsements_count=count)
                       .execution_options(synchronize_session=False))
    db.session.expire(proposal, ["endorsements_count"])


# --- services -----------------------------------------------------------------------------------


def endorse_proposal(actor: Any, proposal: Proposal, *, host: Host | None = None,
                     show_name: bool = False) -> ProposalEndorsement:
    """Endorse as oneself (named in the list only if `show_name`) or on behalf of `host`."""
    require(actor, ENDORSE, proposal)
    identity = _identity(actor, proposal, host)
    _lock_proposals({proposal.id})  # concurrent endorsements of this proposal wait here
    problem = endorsable_problem(proposal)
    if problem is not None:
        raise InvalidState(problem)
    exists = db.session.scalar(select(ProposalEndorsement.id).where(
        ProposalEndorsement.proposal_id == proposal.id, identity))
    if exists is not None:
        if host is not None:
            raise InvalidState(_("%(host)s already endorses this proposal.", host=translated(host.name)))
        raise InvalidState(_("You already endorse this proposal."))
    key = None if host is not None else endorsement_key(actor, proposal.component)
    endorsement = ProposalEndorsement(proposal_id=proposal.id, component_id=proposal.component_id,
                                      user_id=actor.id, person_key=key,
                                      host_id=host.id if host is not None else None,
                                      show_name=True if host is not None else bool(show_name))
    db.session.add(endorsement)
    db.session.flush()
    _recount(proposal)
    return endorsement


def unendorse_proposal(actor: Any, proposal: Proposal, *, host: Host | None = None) -> None:
    """Withdraw one's endorsement, or the host's (any member of the host may)."""
    require(actor, UNENDORSE, proposal)
    identity = _identity(actor, proposal, host)
    _lock_proposals({proposal.id})
    deleted = db.session.execute(delete(ProposalEndorsement).where(
        ProposalEndorsement.proposal_id == proposal.id, identity).execution_options(synchronize_session=False))
    if not deleted.rowcount:
        if host is not None:
            raise InvalidState(_("%(host)s does not endorse this proposal.", host=translated(host.name)))
        raise InvalidState(_("You do not endorse this proposal."))
    _recount(proposal)


# --- the proposal page --------------------------------------------------------------------------


@dataclass
class HostChoice:
    host: Host
    endorsed: bool


@dataclass
class EndorsementPanel:
    """What the proposal page shows about endorsements."""

    shown: bool
    count: int = 0
    endorse: Verdict = field(default_factory=allow)
    unendorse: Verdict = field(default_factory=allow)
    endorsed: bool = False  # the viewer endorses it as themselves
    show_name: bool = False
    hosts: list[HostChoice] = field(default_factory=list)
    names: list[str] = field(default_factory=list)  # hosts, then the people who chose to be named
    others: int = 0  # endorsements not listed by name


def endorsers(proposal: Proposal, limit: int = ENDORSERS_SHOWN) -> tuple[list[str], int]:
    """The names to list (hosts first, then people, oldest first) and how many are listed in all."""
    rows = db.session.execute(
        select(ProposalEndorsement.host_id, Host.name, User.name, func.count().over().label("total"))
        .outerjoin(Host, Host.id == ProposalEndorsement.host_id)
        .outerjoin(User, User.id == ProposalEndorsement.user_id)
        .where(ProposalEndorsement.proposal_id == proposal.id,
               or_(ProposalEndorsement.host_id.is_not(None),
                   ProposalEndorsement.show_name.is_(True) & User.id.is_not(None) & User.deleted_at.is_(None)))
        .order_by(ProposalEndorsement.host_id.is_(None), ProposalEndorsement.created_at, ProposalEndorsement.id)
        .limit(limit)).all()
    names = [translated(host_name) if host_id is not None else user_name for host_id, host_name, user_name, _t in rows]
    return names, rows[0].total if rows else 0


def panel(proposal: Proposal, user: Any) -> EndorsementPanel:
    component = proposal.component
    if proposal.is_draft or not endorsements_shown(component):
        return EndorsementPanel(shown=False)
    names, listed = endorsers(proposal)
    result = EndorsementPanel(shown=True, count=proposal.endorsements_count, names=names,
                              others=max(0, proposal.endorsements_count - listed),
                              endorse=can(user, ENDORSE, proposal), unendorse=can(user, UNENDORSE, proposal))
    if user is None:
        return result
    key = endorsement_key(user, component)
    hosts = member_hosts(user, proposal.organization_id)
    identities = [ProposalEndorsement.host_id.in_([h.id for h in hosts])]
    if key is not None:  # None: not verified yet, so no endorsement as a person
        identities.append(ProposalEndorsement.person_key == key)
    rows = db.session.execute(select(ProposalEndorsement.host_id, ProposalEndorsement.show_name).where(
        ProposalEndorsement.proposal_id == proposal.id, or_(*identities))).all()
    endorsed_hosts = {host_id for host_id, _show in rows if host_id is not None}
    mine = [show for host_id, show in rows if host_id is None]
    result.endorsed, result.show_name = bool(mine), bool(mine and mine[0])
    result.hosts = [HostChoice(h, h.id in endorsed_hosts) for h in hosts]
    return result


def host_for(actor: Any, host_id: str | None) -> Host | None:
    """The host a form names (None: as oneself); an unknown id is refused, not ignored."""
    if not host_id:
        return None
    try:
        host = db.session.get(Host, int(host_id))
    except ValueError:
        host = None
    if host is None:
        raise InvalidState(_("Unknown organisation."))
    return host
