"""Component rules of proposals (the "component" link): phase settings, authorship, limits.

The eligibility link runs after this one for "proposals.proposal.create|support|endorse|comment"
(the manifest's actions); unsupporting needs the same eligibility as supporting (b.1, rule 2).
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _

from decidim_py.accounts.models import SpaceRoleName
from decidim_py.accounts.roles import space_roles_of
from decidim_py.db import utcnow
from decidim_py.permissions import Verdict, allow, can, deny, signed_in

from . import amendments, endorsements
from .models import Proposal, ProposalAmendment

PUBLIC_ACTIONS = {"proposals.proposal.create", "proposals.proposal.publish", "proposals.proposal.edit",
                  "proposals.proposal.withdraw", "proposals.proposal.support", "proposals.proposal.unsupport"}
ENGAGEMENT_ACTIONS = endorsements.ACTIONS | amendments.ACTIONS  # endorsements.py, amendments.py
ADMIN_ACTIONS = {"proposals.proposal.answer", "proposals.proposal.hide", "proposals.admin.access",
                 "proposals.proposal.export", "proposals.proposal.create_official", "proposals.proposal.import",
                 "proposals.evaluator.assign", "proposals.proposal.review", "proposals.note.create",
                 "proposals.proposal.edit_official"}
# what an evaluator may do on a proposal assigned to them (Decidim's valuators); on the component:
# enter the admin (their proposals only) and publish their proposals' answers
EVALUATOR_ACTIONS = {"proposals.proposal.answer", "proposals.proposal.review", "proposals.note.create"}


def _component_of(subject: Any) -> Any:
    if isinstance(subject, Proposal | ProposalAmendment):
        return subject.component
    if type(subject).__name__ == "Component" and subject.manifest_name == "proposals":
        return subject
    return None


def is_manager(actor: Any, component: Any) -> bool:
    return signed_in(actor) and bool(can(actor, "components.component.manage", component))


def is_evaluator(actor: Any, component: Any) -> bool:
    return signed_in(actor) and SpaceRoleName.EVALUATOR in space_roles_of(actor, component.space)


def permissions(actor: Any, action: str, subject: Any) -> Verdict | None:
    if not action.startswith("proposals."):
        return None
    component = _component_of(subject)
    if component is None:
        return None
    if action in ADMIN_ACTIONS:
        if is_manager(actor, component):
            if action == "proposals.proposal.edit_official":
                return _edit_official(subject)
            return allow()
        if is_evaluator(actor, component):
            if isinstance(subject, Proposal) and action in EVALUATOR_ACTIONS:
                from .evaluation import is_assigned

                if is_assigned(actor, subject):
                    return allow()
                return deny(_("Only the evaluators assigned to this proposal can do this."), "not_assigned")
            if not isinstance(subject, Proposal) and action in {"proposals.proposal.answer",
                                                                  "proposals.admin.access"}:
                return allow()
        return deny(_("Only the administrators and evaluators of this space can do this."), "not_admin")
    if action not in PUBLIC_ACTIONS and action not in ENGAGEMENT_ACTIONS:
        return None
    readable = can(actor, "components.component.read", component)
    if not readable:
        return readable
    if not signed_in(actor):
        return deny(_("Please sign in to do this."), "sign_in")
    if action in endorsements.ACTIONS and isinstance(subject, Proposal):
        return endorsements.permission(actor, action, subject)
    if action in amendments.ACTIONS and isinstance(subject, Proposal | ProposalAmendment):
        return amendments.permission(actor, action, subject)
    if action in ENGAGEMENT_ACTIONS:
        return None  # not about a proposal or an amendment
    settings = component.current_settings
    proposal = subject if isinstance(subject, Proposal) else None
    if action == "proposals.proposal.create":
        if not settings.creation_enabled:
            return deny(_("Creating proposals is not open in this phase."), "phase_closed")
        return allow()
    assert proposal is not None
    if action == "proposals.proposal.publish":
        if proposal.author_id != actor.id:
            return deny(_("Only the author can publish this proposal."), "not_author")
        if not settings.creation_enabled:
            return deny(_("Creating proposals is not open in this phase."), "phase_closed")
        return allow()
    if action == "proposals.proposal.edit":
        return _edit(actor, proposal)
    if action == "proposals.proposal.withdraw":
        if proposal.author_id != actor.id:
            return deny(_("Only the author can withdraw this proposal."), "not_author")
        if proposal.is_draft or proposal.is_withdrawn:
            return deny(_("This proposal cannot be withdrawn."), "invalid_state")
        if proposal.supports_count > 0:
            return deny(_("A proposal that has supports cannot be withdrawn."), "has_supports")
        return allow()
    # support / unsupport
    if not settings.votes_enabled:
        return deny(_("Supports are not open in this phase."), "phase_closed")
    if settings.votes_blocked:
        return deny(_("Supports are closed in this phase."), "votes_blocked")
    if action == "proposals.proposal.unsupport":
        refused = _support_eligibility(actor, component)  # a refusal is a falsy Verdict: no `or` here
        return refused if refused is not None else allow()
    return _support(actor, proposal)


def _edit_official(proposal: Any) -> Verdict:
    """Admins edit official proposals only while nobody supports them (Decidim's rule)."""
    if not isinstance(proposal, Proposal) or not proposal.is_official:
        return deny(_("Only official proposals can be edited here."), "not_official")
    if proposal.is_withdrawn:
        return deny(_("A withdrawn proposal cannot be edited."), "withdrawn")
    if proposal.supports_count > 0:
        return deny(_("An official proposal cannot be edited once it has supports."), "has_supports")
    return allow()


def _edit(actor: Any, proposal: Proposal) -> Verdict:
    from .services import edit_deadline

    if proposal.author_id != actor.id:
        return deny(_("Only the author can edit this proposal."), "not_author")
    if proposal.is_draft:
        return allow()
    if proposal.is_withdrawn:
        return deny(_("A withdrawn proposal cannot be edited."), "withdrawn")
    if proposal.is_answer_published:
        return deny(_("A proposal cannot be edited once it has been answered."), "answered")
    deadline = edit_deadline(proposal)
    if deadline is not None and utcnow() >= deadline:
        return deny(_("The time to edit this proposal has passed."), "edit_time")
    return allow()


def _support_eligibility(actor: Any, component: Any) -> Verdict | None:
    from decidim_py.identity.eligibility import refusal

    return refusal(actor, component, "support")


def _support(actor: Any, proposal: Proposal) -> Verdict:
    from .services import person_key_for, supportable_problem, supports_of, threshold_reached

    problem = supportable_problem(proposal)
    if problem is not None:
        return deny(problem, "invalid_state")
    component = proposal.component
    key = person_key_for(actor, component)
    if key is None:
        return allow()  # no verified person yet: the eligibility link gives the reason
    mine = supports_of(component, key)
    if proposal.id in mine:
        return deny(_("You already support this proposal."), "already_supported")
    limit = component.global_settings.vote_limit
    if limit > 0 and len(mine) >= limit:
        return deny(_("You used all your supports."), "no_supports_left")
    if threshold_reached(proposal):
        return deny(_("This proposal has reached its supports threshold."), "threshold")
    return allow()
