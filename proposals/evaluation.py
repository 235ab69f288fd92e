"""Evaluators assigned per proposal and private admin notes (issue 5, part 4).

Decidim's valuation rule: a user with the evaluator role in the space sees in the admin, and may
answer, only the proposals assigned to them; the space's admins assign and unassign them. Private
notes are read and written by the space's admins and the proposal's assigned evaluators only; they
never reach a public page nor an export.

Assignments and notes are recorded in the decision record with `admin` visibility: kept for
accountability and shown in the admin log, while the public entry carries no content (no evaluator,
no note text) — see decidim_py/transparency/entries.py.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from flask_babel import lazy_gettext as _
from sqlalchemy import delete, select
from sqlalchemy.orm import joinedload

from decidim_py.accounts.models import SpaceRole, SpaceRoleName, User
from decidim_py.components import Component
from decidim_py.db import db, utcnow
from decidim_py.errors import InvalidState
from decidim_py.locking import dialect_insert
from decidim_py.permissions import require
from decidim_py.spaces import space_type_of
from decidim_py.transparency import Visibility, record

from .models import Proposal, ProposalEvaluatorAssignment, ProposalNote

NOTE_MAX = 2000


def is_assigned(user: Any, proposal: Proposal) -> bool:
    """Whether `user` is assigned to evaluate `proposal` (cached on the user for the request)."""
    if user is None or getattr(user, "id", None) is None or proposal.id is None:
        return False
    cache = user.__dict__.setdefault("_proposals_assigned", {})
    if proposal.id not in cache:
        cache[proposal.id] = db.session.scalar(select(ProposalEvaluatorAssignment.id).where(
            ProposalEvaluatorAssignment.proposal_id == proposal.id,
            ProposalEvaluatorAssignment.user_id == user.id)) is not None
    return bool(cache[proposal.id])


def _forget(user: Any) -> None:
    user.__dict__.pop("_proposals_assigned", None)


def assigned_ids(user: Any, component: Component) -> Any:
    """The ids of the component's proposals assigned to `user` (a subquery)."""
    return select(ProposalEvaluatorAssignment.proposal_id).where(
        ProposalEvaluatorAssignment.component_id == component.id, ProposalEvaluatorAssignment.user_id == user.id)


def space_evaluators(component: Component) -> list[User]:
    """The users holding the evaluator role in the component's space, by name."""
    space = component.space
    return list(db.session.scalars(
        select(User).join(SpaceRole, SpaceRole.user_id == User.id)
        .where(SpaceRole.space_type == space_type_of(space).name, SpaceRole.space_id == space.id,
               SpaceRole.role == SpaceRoleName.EVALUATOR)
        .order_by(User.name, User.id)))


def evaluators_of(proposal_ids: Iterable[int]) -> dict[int, list[User]]:
    """{proposal_id: its assigned evaluators} in one statement."""
    ids = sorted(set(proposal_ids))
    found: dict[int, list[User]] = {i: [] for i in ids}
    if not ids:
        return found
    rows = db.session.execute(
        select(ProposalEvaluatorAssignment.proposal_id, User)
        .join(User, User.id == ProposalEvaluatorAssignment.user_id)
        .where(ProposalEvaluatorAssignment.proposal_id.in_(ids)).order_by(User.name, User.id))
    for proposal_id, user in rows:
        found[proposal_id].append(user)
    return found


def _check_evaluator(component: Component, evaluator: User) -> None:
    if evaluator.organization_id != component.organization_id or evaluator.id not in {
            u.id for u in space_evaluators(component)}:
        raise InvalidState(_("This person is not an evaluator of this space."))


def _changes(proposal: Proposal, evaluator: User) -> dict[str, Any]:
    return {"reference": proposal.reference, "evaluator_id": evaluator.id}


def assign_evaluator(actor: Any, proposals: list[Proposal], evaluator: User) -> int:
    """Assign `evaluator` to each of `proposals` (one component's); returns how many assignments are
    new (an existing one is left as it is, also when a concurrent request made it)."""
    if not proposals:
        raise InvalidState(_("Choose at least one proposal."))
    component = proposals[0].component
    for proposal in proposals:
        if proposal.component_id != component.id:
            raise InvalidState(_("These proposals belong to different components."))
        require(actor, "proposals.evaluator.assign", proposal)
    _check_evaluator(component, evaluator)
    added = 0
    for proposal in sorted(proposals, key=lambda p: p.id):
        inserted = db.session.execute(dialect_insert(ProposalEvaluatorAssignment).values(
            proposal_id=proposal.id, component_id=component.id, user_id=evaluator.id,
            created_at=utcnow()).on_conflict_do_nothing().returning(ProposalEvaluatorAssignment.id)).first()
        if inserted is not None:
            added += 1
            record(actor, "proposals.evaluator.assign", proposal, component=component,
                   changes=_changes(proposal, evaluator), visibility=Visibility.ADMIN)
    _forget(evaluator)
    return added


def unassign_evaluator(actor: Any, proposals: list[Proposal], evaluator: User) -> int:
    """Remove `evaluator` from each of `proposals`; returns how many assignments were removed."""
    if not proposals:
        raise InvalidState(_("Choose at least one proposal."))
    removed = 0
    for proposal in sorted(proposals, key=lambda p: p.id):
        require(actor, "proposals.evaluator.assign", proposal)
    for proposal in sorted(proposals, key=lambda p: p.id):
        result = db.session.execute(delete(ProposalEvaluatorAssignment).where(
            ProposalEvaluatorAssignment.proposal_id == proposal.id,
            ProposalEvaluatorAssignment.user_id == evaluator.id).execution_options(synchronize_session=False))
        if result.rowcount:
            removed += 1
            record(actor, "proposals.evaluator.unassign", proposal, component=proposal.component,
                   changes=_changes(proposal, evaluator), visibility=Visibility.ADMIN)
    _forget(evaluator)
    return removed


def add_note(actor: Any, proposal: Proposal, body: str) -> ProposalNote:
    """A private note on a proposal, by an admin of the space or an evaluator assigned to it."""
    require(actor, "proposals.note.create", proposal)
    text = (body or "").strip()
    if not text:
        raise InvalidState(_("Write the note before saving it."))
    if len(text) > NOTE_MAX:
        raise InvalidState(_("A note can have at most %(max)d characters.", max=NOTE_MAX))
    note = ProposalNote(proposal_id=proposal.id, author_id=actor.id, body=text)
    db.session.add(note)
    db.session.flush()
    record(actor, "proposals.note.create", proposal, component=proposal.component, visibility=Visibility.ADMIN,
           changes={"reference": proposal.reference, "note_id": note.id,
                    "note_sha256": hashlib.sha256(text.encode()).hexdigest()})
    return note


def notes_of(proposal: Proposal) -> list[ProposalNote]:
    """A proposal's notes, oldest first, with their authors (one statement)."""
    return list(db.session.scalars(select(ProposalNote).where(ProposalNote.proposal_id == proposal.id)
                                   .options(joinedload(ProposalNote.author)).order_by(ProposalNote.id)))
