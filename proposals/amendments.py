"""Amendments of proposals (Decidim's amendments, as issue 5 asks): a participant who is not the
author drafts an emendation (a new title and body) of a published proposal and publishes it; the
proposal's author accepts it (the proposal takes its text, the earlier text is kept as a version,
the emendation's author is credited) or rejects it; the author of a rejected emendation may turn it
into a proposal of their own (within `proposal_limit`); an emendation is withdrawn before it is
answered.

Emendations are their own model (`ProposalAmendment`), not proposals: proposal rows feed the lists,
the proposal limit, supports, answers, exports and similarity search, and none of them should ever
see an emendation; a promoted emendation becomes a real proposal.

Settings: the global `amendments_enabled`, and per phase `amendment_creation_enabled`,
`amendment_reaction_enabled`, `amendment_promotion_enabled` and `amendments_visibility` ("all":
everyone sees published emendations; "participants": only their author, the amended proposal's
author and the space's administrators do).

Publish, withdraw, accept, reject and promote change public content: each is recorded in the public
record with the content's SHA-256, in the same transaction.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from decidim_py.db import db, utcnow
from decidim_py.errors import InvalidState
from decidim_py.notifications import ensure_following, notify_followers_of, notify_user
from decidim_py.permissions import Verdict, allow, can, deny, require
from decidim_py.transparency import record

from .models import AmendmentState, Proposal, ProposalAmendment, ProposalVersion
from .services import (
    ProposalData,
    _lock_person,
    _lock_proposals,
    active_proposal_count,
    record_publication,
    reference_for,
    sha256,
    validate,
)

AMEND = "proposals.proposal.amend"
ACTIONS = frozenset({AMEND} | {f"proposals.amendment.{verb}" for verb in (
    "edit", "publish", "withdraw", "accept", "reject", "promote")})
STATE_LABELS = {
    AmendmentState.DRAFT: _("Draft"),
    AmendmentState.EVALUATING: _("Waiting for the author's answer"),
    AmendmentState.ACCEPTED: _("Accepted"),
    AmendmentState.REJECTED: _("Rejected"),
    AmendmentState.WITHDRAWN: _("Withdrawn"),
}


# --- rules --------------------------------------------------------------------------------------


def amendable_problem(proposal: Proposal) -> Any:
    """Amendments change a proposal's text: only while its author could still edit it (b.2)."""
    if proposal.is_draft or proposal.is_withdrawn or proposal.hidden_at is not None:
        return _("This proposal cannot be amended.")
    if proposal.is_answer_published:
        return _("A proposal cannot be amended once it has been answered.")
    return None


def permission(actor: Any, action: str, subject: Any) -> Verdict:
    """The component link for amendments (the caller checked reading and signing in)."""
    if isinstance(subject, Proposal):
        proposal, amendment = subject, None
    else:
        proposal, amendment = subject.proposal, subject
    component = proposal.component
    settings = component.current_settings
    if not component.global_settings.amendments_enabled:
        return deny(_("Amendments are not enabled here."), "disabled")
    if action == AMEND:
        if not settings.amendment_creation_enabled:
            return deny(_("Amendments are not open in this phase."), "phase_closed")
        if proposal.author_id == actor.id:
            return deny(_("You cannot amend your own proposal: edit it instead."), "author")
        problem = amendable_problem(proposal)
        return deny(problem, "invalid_state") if problem is not None else allow()
    assert amendment is not None
    verb = action.rsplit(".", 1)[-1]
    if verb in ("edit", "publish", "withdraw", "promote") and amendment.author_id != actor.id:
        return deny(_("Only the author of the amendment can do this."), "not_author")
    if verb == "edit":
        return allow() if amendment.is_draft else deny(_("Only drafts can be edited."), "invalid_state")
    if verb == "publish":
        return can(actor, AMEND, proposal) if amendment.is_draft else deny(
            _("This amendment is already published."), "invalid_state")
    if verb == "withdraw":
        if amendment.state != AmendmentState.EVALUATING:
            return deny(_("Only an amendment waiting for an answer can be withdrawn."), "invalid_state")
        return allow()
    if verb == "promote":
        if not settings.amendment_promotion_enabled:
            return deny(_("Turning rejected amendments into proposals is not open in this phase."), "phase_closed")
        if amendment.state != AmendmentState.REJECTED or amendment.promoted_to_id is not None:
            return deny(_("Only a rejected amendment can become a proposal, once."), "invalid_state")
        # a new proposal: the eligibility of creating one (not creation_enabled: promotion has its flag)
        from decidim_py.identity.eligibility import refusal

        refused = refusal(actor, component, "create")  # a Verdict that is falsy: no `or allow()`
        return refused if refused is not None else allow()
    # accept / reject: the amended proposal's author
    if proposal.author_id != actor.id:
        return deny(_("Only the author of the proposal can answer its amendments."), "not_author")
    if not settings.amendment_reaction_enabled:
        return deny(_("Answering amendments is not open in this phase."), "phase_closed")
    if amendment.state != AmendmentState.EVALUATING:
        return deny(_("This amendment has already been answered or withdrawn."), "invalid_state")
    problem = amendable_problem(proposal)
    return deny(problem, "invalid_state") if problem is not None else allow()


def visible_to(amendment: ProposalAmendment, user: Any) -> bool:
    """Drafts: their author only. Published ones: everyone, or with visibility "participants" their
    author, the amended proposal's author and the space's administrators."""
    mine = user is not None and amendment.author_id == user.id
    if amendment.is_draft:
        return mine
    if amendment.component.current_settings.amendments_visibility != "participants" or mine:
        return True
    from .permissions import is_manager

    return user is not None and (amendment.proposal.author_id == user.id or is_manager(user, amendment.component))


# --- services -----------------------------------------------------------------------------------


def _validated(proposal: Proposal, data: ProposalData) -> ProposalData:
    clean = validate(proposal.component, data)
    if (clean.title, clean.body) == (proposal.title, proposal.body):
        raise InvalidState(_("The amendment must change the title or the description."))
    return clean


def _changes(amendment: ProposalAmendment, **extra: Any) -> dict[str, Any]:
    return {"proposal": amendment.proposal.reference, "amendment": amendment.id,
            "title_sha256": sha256(amendment.title), "body_sha256": sha256(amendment.body), **extra}


def _decided(actor: Any, amendment: ProposalAmendment, state: AmendmentState, verb: str,
             changes: dict[str, Any] | None = None) -> ProposalAmendment:
    """Move the amendment to `state` and record the decision "proposals.amendment.<verb>"."""
    amendment.state = state
    db.session.flush()
    record(actor, f"proposals.amendment.{verb}", amendment, component=amendment.component,
           changes=changes if changes is not None else _changes(amendment))
    return amendment


def _lock(amendment: ProposalAmendment) -> None:
    """Lock the amended proposal, then the amendment (always in this order), and re-read both."""
    _lock_proposals({amendment.proposal_id})
    db.session.execute(select(ProposalAmendment).where(ProposalAmendment.id == amendment.id)
                       .with_for_update().execution_options(populate_existing=True))


def create_amendment(actor: Any, proposal: Proposal, data: ProposalData) -> ProposalAmendment:
    """A draft emendation, visible to its author only, to check and then publish."""
    require(actor, AMEND, proposal)
    clean = _validated(proposal, data)
    amendment = ProposalAmendment(organization_id=proposal.organization_id, component_id=proposal.component_id,
                                  proposal_id=proposal.id, author_id=actor.id, title=clean.title,
                                  body=clean.body, base_title=proposal.title, base_body=proposal.body)
    db.session.add(amendment)
    db.session.flush()
    return amendment


def update_amendment(actor: Any, amendment: ProposalAmendment, data: ProposalData) -> ProposalAmendment:
    require(actor, "proposals.amendment.edit", amendment)
    clean = _validated(amendment.proposal, data)
    amendment.title, amendment.body = clean.title, clean.body
    amendment.base_title, amendment.base_body = amendment.proposal.title, amendment.proposal.body
    db.session.flush()
    return amendment


def discard_amendment(actor: Any, amendment: ProposalAmendment) -> None:
    """Delete a draft (never published, so never a decision)."""
    require(actor, "proposals.amendment.edit", amendment)
    db.session.delete(amendment)
    db.session.flush()


def publish_amendment(actor: Any, amendment: ProposalAmendment) -> ProposalAmendment:
    require(actor, "proposals.amendment.publish", amendment)
    _lock(amendment)
    if not amendment.is_draft:
        raise InvalidState(_("This amendment is already published."))
    proposal = amendment.proposal
    problem = amendable_problem(proposal)
    if problem is not None:
        raise InvalidState(problem)
    _validated(proposal, ProposalData(amendment.title, amendment.body))
    amendment.base_title, amendment.base_body = proposal.title, proposal.body  # what it changes, as published
    amendment.published_at = utcnow()
    _decided(actor, amendment, AmendmentState.EVALUATING, "publish")
    ensure_following(actor, proposal)  # the emendation's author hears of the answer
    if amendment.component.current_settings.amendments_visibility != "participants":
        notify_followers_of(proposal, "proposals.amendment_published", exclude_user_id=actor.id)
    elif proposal.author is not None and proposal.author_id != actor.id:
        # seen by participants only: the proposal's author, who must answer it, is still told
        notify_user(proposal.author, proposal, "proposals.amendment_published")
    return amendment


def withdraw_amendment(actor: Any, amendment: ProposalAmendment) -> ProposalAmendment:
    require(actor, "proposals.amendment.withdraw", amendment)
    _lock(amendment)
    if amendment.state != AmendmentState.EVALUATING:
        raise InvalidState(_("Only an amendment waiting for an answer can be withdrawn."))
    amendment.withdrawn_at = utcnow()
    return _decided(actor, amendment, AmendmentState.WITHDRAWN, "withdraw",
                    {"proposal": amendment.proposal.reference, "amendment": amendment.id})


def _answerable(amendment: ProposalAmendment) -> None:
    if amendment.state != AmendmentState.EVALUATING:
        raise InvalidState(_("This amendment has already been answered or withdrawn."))
    problem = amendable_problem(amendment.proposal)
    if problem is not None:
        raise InvalidState(problem)


def accept_amendment(actor: Any, amendment: ProposalAmendment) -> Proposal:
    """The proposal takes the emendation's text; its earlier text is kept as a version."""
    require(actor, "proposals.amendment.accept", amendment)
    _lock(amendment)
    _answerable(amendment)
    proposal = amendment.proposal
    previous = ProposalVersion(proposal_id=proposal.id, title=proposal.title, body=proposal.body,
                               amendment_id=amendment.id)
    db.session.add(previous)
    proposal.title, proposal.body = amendment.title, amendment.body
    amendment.answered_at = previous.replaced_at = utcnow()
    _decided(actor, amendment, AmendmentState.ACCEPTED, "accept", _changes(
        amendment, previous_title_sha256=sha256(previous.title), previous_body_sha256=sha256(previous.body)))
    notify_followers_of(proposal, "proposals.amendment_accepted", exclude_user_id=actor.id)
    return proposal


def reject_amendment(actor: Any, amendment: ProposalAmendment) -> ProposalAmendment:
    require(actor, "proposals.amendment.reject", amendment)
    _lock(amendment)
    _answerable(amendment)
    amendment.answered_at = utcnow()
    _decided(actor, amendment, AmendmentState.REJECTED, "reject")
    notify_followers_of(amendment.proposal, "proposals.amendment_rejected", exclude_user_id=actor.id)
    return amendment


def promote_amendment(actor: Any, amendment: ProposalAmendment) -> Proposal:
    """A rejected emendation becomes its author's own published proposal (within proposal_limit, with
    the eligibility of creating a proposal), recorded as published too; its author follows it."""
    require(actor, "proposals.amendment.promote", amendment)
    component = amendment.component
    clean = validate(component, ProposalData(amendment.title, amendment.body))
    _lock_person(component.id, f"author:{actor.id}")  # the same lock as creating a proposal
    _lock(amendment)
    if amendment.state != AmendmentState.REJECTED or amendment.promoted_to_id is not None:
        raise InvalidState(_("Only a rejected amendment can become a proposal, once."))
    limit = component.global_settings.proposal_limit
    if limit > 0 and active_proposal_count(component, actor.id) >= limit:
        raise InvalidState(_("You have reached the limit of %(limit)d proposals in this space.", limit=limit))
    now = utcnow()
    proposal = Proposal(organization_id=component.organization_id, component_id=component.id, author_id=actor.id,
                        title=clean.title, body=clean.body, created_at=now, edited_at=now, published_at=now)
    db.session.add(proposal)
    db.session.flush()
    proposal.reference = reference_for(proposal)
    amendment.promoted_to_id = proposal.id
    db.session.flush()
    record(actor, "proposals.amendment.promote", amendment, component=component,
           changes=_changes(amendment, promoted_to=proposal.reference, promoted_to_id=proposal.id))
    record_publication(actor, proposal)
    return proposal


# --- reading: the diff, the proposal page ---------------------------------------------------------

_TOKENS = re.compile(r"\n|\S+[^\S\n]*|[^\S\n]+")  # words with their trailing spaces, line breaks


@dataclass
class Segment:
    kind: str  # "same" | "removed" | "added"
    text: str


def text_diff(old: str, new: str) -> list[list[Segment]]:
    """A word-level diff of two plain texts, as paragraphs (lines) of segments."""
    a, b = _TOKENS.findall(old or ""), _TOKENS.findall(new or "")
    paragraphs: list[list[Segment]] = [[]]

    def add(kind: str, tokens: list[str]) -> None:
        for token in tokens:
            if token == "\n":
                paragraphs.append([])
                continue
            line = paragraphs[-1]
            if line and line[-1].kind == kind:
                line[-1].text += token
            else:
                line.append(Segment(kind, token))

    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            add("same", a[i1:i2])
        else:
            add("removed", a[i1:i2])
            add("added", b[j1:j2])
    return [line for line in paragraphs if any(seg.text.strip() for seg in line)]


def amendments_of(proposal: Proposal, user: Any) -> list[ProposalAmendment]:
    """The emendations of a proposal the user may see (drafts: only their own), newest first;
    withdrawn ones are left out."""
    rows = db.session.scalars(select(ProposalAmendment).where(
        ProposalAmendment.proposal_id == proposal.id, ProposalAmendment.state != AmendmentState.WITHDRAWN)
        .options(joinedload(ProposalAmendment.author)).order_by(ProposalAmendment.id.desc()))
    return [a for a in rows if visible_to(a, user)]


def versions_of(proposal: Proposal) -> list[ProposalVersion]:
    return list(db.session.scalars(select(ProposalVersion).where(ProposalVersion.proposal_id == proposal.id)
                                   .options(joinedload(ProposalVersion.amendment).joinedload(ProposalAmendment.author))
                                   .order_by(ProposalVersion.id)))


@dataclass
class AmendmentPanel:
    shown: bool
    amend: Verdict = field(default_factory=allow)
    amendments: list[ProposalAmendment] = field(default_factory=list)
    versions: list[ProposalVersion] = field(default_factory=list)
    state_labels: dict[str, Any] = field(default_factory=lambda: {str(k): v for k, v in STATE_LABELS.items()})

    @property
    def credited(self) -> list[str]:
        """The authors of the accepted amendments, once each, in order."""
        names = [v.amendment.author.name for v in self.versions if v.amendment.author is not None]
        return list(dict.fromkeys(names))


def panel(proposal: Proposal, user: Any) -> AmendmentPanel:
    if proposal.is_draft:
        return AmendmentPanel(shown=False)
    versions = versions_of(proposal)
    if not proposal.component.global_settings.amendments_enabled:
        return AmendmentPanel(shown=bool(versions), amend=deny(_("Amendments are not enabled here."), "disabled"),
                              versions=versions)
    return AmendmentPanel(shown=True, amend=can(user, AMEND, proposal), amendments=amendments_of(proposal, user),
                          versions=versions)
