"""Component rules of budgets (the "component" link): phase setting `votes`, closed budgets, the
workflows (one / all / zone) and the ballot's state.

The eligibility link runs after this one for "budgets.budget.vote" (the manifest's `vote` action);
cancelling a checked-out ballot needs the same eligibility as voting.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _

from decidim_py.permissions import (
    Verdict,
    allow,
    deny,
    manager_verdict,
    participant_refusal,
)

from .models import Ballot, Budget, Project

PUBLIC_ACTIONS = {"budgets.budget.vote", "budgets.ballot.cancel"}
ADMIN_ACTIONS = {"budgets.admin.access", "budgets.budget.manage"}


def _component_of(subject: Any) -> Any:
    if isinstance(subject, Budget | Project | Ballot):
        return subject.budget.component if isinstance(subject, Project | Ballot) else subject.component
    if type(subject).__name__ == "Component" and subject.manifest_name == "budgets":
        return subject
    return None


def voting_state(component: Any) -> Verdict:
    """Is voting open in the active phase (`votes` = enabled)?"""
    votes = component.current_settings.votes
    if votes == "finished":
        return deny(_("Voting has finished."), "votes_finished")
    if votes != "enabled":
        return deny(_("Voting is not open in this phase."), "phase_closed")
    return allow()


def permissions(actor: Any, action: str, subject: Any) -> Verdict | None:
    if not action.startswith("budgets."):
        return None
    component = _component_of(subject)
    if component is None:
        return None
    if action in ADMIN_ACTIONS:
        return manager_verdict(actor, component)
    if action not in PUBLIC_ACTIONS:
        return None
    refused = participant_refusal(actor, component)
    if refused is not None:
        return refused
    budget = subject if isinstance(subject, Budget) else None
    if budget is None:
        return None
    open_ = voting_state(component)
    if not open_:
        return open_
    if budget.is_closed:
        return deny(_("Voting in this budget is closed."), "budget_closed")
    if action == "budgets.ballot.cancel":
        return _vote_eligibility(actor, component) or allow()
    return _workflow(actor, budget)


def _vote_eligibility(actor: Any, component: Any) -> Verdict | None:
    from decidim_py.identity.eligibility import refusal

    return refusal(actor, component, "vote")


def _workflow(actor: Any, budget: Budget) -> Verdict:
    """The workflow's word on voting in `budget` (b.3 Workflows::Base), for this person."""
    from .ballots import ballot_statuses, person_key_for

    component = budget.component
    workflow = component.global_settings.workflow
    if workflow == "zone" and budget.zone:
        from decidim_py.identity.eligibility import grant_of

        grant = grant_of(actor)
        if grant is None or grant.zone is None:
            return deny(_("This budget is for the residents of one zone, and your identity provider did not "
                          "say where you live. Please verify your identity."), "verify")
        if grant.zone != budget.zone:
            return deny(_("This budget is for the residents of another zone."), "other_zone")
    key = person_key_for(actor, component)
    if key is None:
        return allow()  # no verified person yet: the eligibility link gives the reason
    statuses = ballot_statuses(component, key)
    if statuses.get(budget.id) == "voted":
        return deny(_("You have already voted in this budget."), "voted")
    if workflow == "one":
        others = {bid: st for bid, st in statuses.items() if bid != budget.id}
        if "voted" in others.values():
            return deny(_("You have already voted in another budget: you can vote in one budget only."),
                        "voted_elsewhere")
        if "progress" in others.values():
            return deny(_("You have started a ballot in another budget: you can vote in one budget only. "
                          "Empty that ballot first."), "progress_elsewhere")
    return allow()
