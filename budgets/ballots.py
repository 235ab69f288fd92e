"""The ballot flow: add and remove projects, check out (with a receipt), cancel.

A person's ballot changes run inside one lock (decidim_py.locking): the (component, person) row of
`budgets_locks`, then (checking out, cancelling) the budget's row, then the counted projects' rows in
ascending id order, so no ballot ever exceeds the budget or the rule and the workflow (one budget /
each budget once / the person's zone) holds under any number of concurrent requests. One ballot per
person and budget is also a unique constraint.

Ballots are secret and checking out is a participant's private act: it is not recorded in the public
record (which never names participants); the counters it changes are aggregates. The receipt code
is shown once and only its SHA-256 is stored, next to the ballot and in the published ballots file.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _
from sqlalchemy import delete, func, select, update

from decidim_py.components import Component
from decidim_py.db import db, utcnow
from decidim_py.errors import InvalidState
from decidim_py.locking import lock_row
from decidim_py.permissions import NotAllowed, deny, require

from .models import Ballot, BallotItem, Budget, BudgetLock, Project
from .rules import BallotRule

RECEIPT_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base 32: no I, L, O, U
RECEIPT_BITS = 160


# --- receipts -----------------------------------------------------------------------------------


def new_receipt() -> str:
    """A random receipt code (160 bits), in groups of four characters: 'K7QM-...-3XZA'."""
    n = secrets.randbits(RECEIPT_BITS)
    chars = []
    for _i in range(RECEIPT_BITS // 5):
        chars.append(RECEIPT_ALPHABET[n & 31])
        n >>= 5
    code = "".join(chars)
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def normalise_receipt(text: str) -> str:
    cleaned = "".join(ch for ch in (text or "").upper() if ch.isalnum())
    return cleaned.translate(str.maketrans({"I": "1", "L": "1", "O": "0"}))


def receipt_sha256(code: str) -> str:
    """The hash stored next to the ballot and published in the ballots file (hex SHA-256 of the code
    without separators, upper case)."""
    return hashlib.sha256(normalise_receipt(code).encode()).hexdigest()


# --- ballots ------------------------------------------------------------------------------------


def person_key_for(user: Any, component: Component) -> str | None:
    """The key "one ballot per person and budget" is unique on: the verified person when the component
    requires one for `vote`, the account otherwise."""
    from decidim_py.identity.eligibility import person_key_for as key_for

    return key_for(user, component, "vote")


def ballot_statuses(component: Component, key: str) -> dict[int, str]:
    """{budget_id: "voted" | "progress"} of one person's non-empty ballots (b.3 order statuses)."""
    rows = db.session.execute(
        select(Ballot.budget_id, Ballot.checked_out_at, func.count(BallotItem.project_id))
        .outerjoin(BallotItem, BallotItem.ballot_id == Ballot.id)
        .where(Ballot.component_id == component.id, Ballot.person_key == key)
        .group_by(Ballot.id, Ballot.budget_id, Ballot.checked_out_at))
    out = {}
    for budget_id, checked_out_at, items in rows:
        if checked_out_at is not None:
            out[budget_id] = "voted"
        elif items:
            out[budget_id] = "progress"
    return out


@dataclass
class BallotView:
    """A person's ballot in one budget, with the rule's figures (what the ballot page shows)."""

    budget: Budget
    rule: BallotRule
    ballot: Ballot | None
    project_ids: list[int]
    total: int
    count: int

    @property
    def is_checked_out(self) -> bool:
        return self.ballot is not None and self.ballot.is_checked_out

    @property
    def checkout_problem(self) -> Any:
        return self.rule.checkout_problem(self.total, self.count)

    @property
    def progress(self) -> tuple[int, int]:
        return self.rule.progress(self.total, self.count)

    @property
    def remaining(self) -> int:
        return self.budget.total_amount - self.total


def ballot_of(budget: Budget, key: str | None, *, for_update: bool = False) -> BallotView:
    ballot = None
    if key is not None:
        q = select(Ballot).where(Ballot.budget_id == budget.id, Ballot.person_key == key)
        if for_update:
            q = q.execution_options(populate_existing=True)
        ballot = db.session.scalar(q)
    rows = db.session.execute(select(Project.id, Project.cost).join(BallotItem, BallotItem.project_id == Project.id)
                              .where(BallotItem.ballot_id == ballot.id).order_by(Project.id)).all() if ballot else []
    return BallotView(budget=budget, rule=BallotRule.for_budget(budget), ballot=ballot,
                      project_ids=[pid for pid, _c in rows], total=sum(c for _p, c in rows), count=len(rows))


def _enter(actor: Any, budget: Budget, action: str, *, lock_budget: bool = False) -> str:
    """Take the person's lock, then check the permission (the workflow reads the person's ballots,
    which nobody else can change while the lock is held). Checking out and cancelling also lock the
    budget's row, which closing locks too: no ballot is checked out after the ballots file was built.
    Rows are locked FOR NO KEY UPDATE (key_share): inserting ballots and items that reference them
    takes FOR KEY SHARE, which must not conflict, or two voters would deadlock."""
    key = person_key_for(actor, budget.component)
    if key is None:
        require(actor, action, budget)  # the eligibility link says why
        raise NotAllowed(deny(_("Please verify your identity: sign in with your digital identity."), "verify"))
    lock_row(BudgetLock, component_id=budget.component_id, key=key)
    q = select(Budget).where(Budget.id == budget.id).execution_options(populate_existing=True)
    db.session.execute(q.with_for_update(key_share=True) if lock_budget else q)  # closed meanwhile?
    require(actor, action, budget)
    return key


def add_project(actor: Any, project: Project) -> Ballot:
    budget = project.budget
    key = _enter(actor, budget, "budgets.budget.vote")
    view = ballot_of(budget, key, for_update=True)
    if view.is_checked_out:
        raise InvalidState(_("Your ballot is checked out. Cancel it to change it."))
    if project.id in view.project_ids:
        raise InvalidState(_("This project is already in your ballot."))
    problem = view.rule.add_problem(view.total, view.count, project.cost)
    if problem is not None:
        raise InvalidState(problem)
    ballot = view.ballot
    if ballot is None:
        ballot = Ballot(budget_id=budget.id, component_id=budget.component_id, person_key=key)
        db.session.add(ballot)
        db.session.flush()
    db.session.add(BallotItem(ballot_id=ballot.id, project_id=project.id))
    db.session.flush()
    return ballot


def remove_project(actor: Any, project: Project) -> None:
    budget = project.budget
    key = _enter(actor, budget, "budgets.budget.vote")
    view = ballot_of(budget, key, for_update=True)
    if view.ballot is None or project.id not in view.project_ids:
        raise InvalidState(_("This project is not in your ballot."))
    if view.is_checked_out:
        raise InvalidState(_("Your ballot is checked out. Cancel it to change it."))
    db.session.execute(delete(BallotItem).where(BallotItem.ballot_id == view.ballot.id,
                                                BallotItem.project_id == project.id)
                       .execution_options(synchronize_session=False))
    db.session.expire(view.ballot, ["items"])


def _count(budget: Budget, project_ids: list[int], delta: int) -> None:
    """Counters of checked-out ballots: the budget's row, then its projects' rows in id order."""
    db.session.execute(update(Budget).where(Budget.id == budget.id)
                       .values(ballots_count=Budget.ballots_count + delta).execution_options(synchronize_session=False))
    if project_ids:
        db.session.execute(select(Project.id).where(Project.id.in_(sorted(project_ids))).order_by(Project.id)
                           .with_for_update(key_share=True))
        db.session.execute(update(Project).where(Project.id.in_(sorted(project_ids)))
                           .values(votes_count=Project.votes_count + delta)
                           .execution_options(synchronize_session=False))
    db.session.expire(budget, ["ballots_count"])
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, Project) and obj.id in project_ids:
            db.session.expire(obj, ["votes_count"])


def checkout_ballot(actor: Any, budget: Budget) -> str | None:
    """Check out the person's ballot when it meets the rule. Returns the receipt code (shown once;
    only its SHA-256 is stored) when the component gives receipts, None otherwise."""
    key = _enter(actor, budget, "budgets.budget.vote", lock_budget=True)
    view = ballot_of(budget, key, for_update=True)
    if view.ballot is None or view.count == 0:
        raise InvalidState(_("Your ballot is empty."))
    if view.is_checked_out:
        raise InvalidState(_("Your ballot is already checked out."))
    problem = view.checkout_problem
    if problem is not None:
        raise InvalidState(problem)
    code = new_receipt() if budget.component.global_settings.receipts_enabled else None
    ballot = view.ballot
    ballot.checked_out_at = utcnow()
    ballot.public_id = secrets.token_hex(12)
    ballot.receipt_sha256 = receipt_sha256(code) if code else None
    db.session.flush()
    _count(budget, view.project_ids, +1)
    return code


def cancel_ballot(actor: Any, budget: Budget) -> None:
    """Withdraw a checked-out ballot while voting is open (b.3: the order and its items are deleted)."""
    key = _enter(actor, budget, "budgets.ballot.cancel", lock_budget=True)
    view = ballot_of(budget, key, for_update=True)
    if not view.is_checked_out or view.ballot is None:
        raise InvalidState(_("You have no checked-out ballot in this budget."))
    _count(budget, view.project_ids, -1)
    db.session.execute(delete(BallotItem).where(BallotItem.ballot_id == view.ballot.id)
                       .execution_options(synchronize_session=False))
    db.session.delete(view.ballot)
    db.session.flush()
