"""The ballot flow: add and remove projects, check out (with a receipt), cancel.

A person's ballot changes run inside the person's lock (decidim_py.locking: the (component, person)
row of `budgets_locks`), so no ballot ever exceeds the budget or the rule and the workflow (one
budget / each budget once / the person's zone) holds under any number of concurrent requests; one
ballot per person and budget is also a unique constraint. Nothing is shared between two people's
transactions but the counters, which change with atomic `UPDATE ... SET n = n + 1` as the last
statements (the projects' rows in ascending id order, then the budget's row), so a counter row is held
only from its update to the commit. The budget's row is also taken FOR KEY SHARE, which concurrent
ballots never conflict on; closing and importing take it FOR UPDATE, so they wait for the ballots in
flight and no ballot is checked out after the ballots file was built.

Ballots are secret and checking out is a participant's private act: it is not recorded in the public
record (which never names participants); the counters it changes are aggregates. The receipt code
is shown once and only its SHA-256 is stored, next to the ballot and in the published ballots file.
"""

from __future__ import annotations

import hashlib
import secrets
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _
from sqlalchemy import delete, select, update

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


@dataclass
class StoredBallot:
    """A person's ballot as stored: its row id, whether it is checked out, (project id, cost) of its items."""

    id: int
    checked_out: bool
    items: list[tuple[int, int]] = field(default_factory=list)


def person_ballots(component_id: int, key: str) -> dict[int, StoredBallot]:
    """{budget id: ballot} of one person in a component, with the items and their costs: one statement."""
    held = _held.get()
    if held is not None and held[0] == (component_id, key):
        return held[1]
    out: dict[int, StoredBallot] = {}
    for ballot_id, budget_id, checked_out_at, project_id, cost in db.session.execute(
            select(Ballot.id, Ballot.budget_id, Ballot.checked_out_at, Project.id, Project.cost)
            .outerjoin(BallotItem, BallotItem.ballot_id == Ballot.id)
            .outerjoin(Project, Project.id == BallotItem.project_id)
            .where(Ballot.component_id == component_id, Ballot.person_key == key)
            .order_by(Ballot.id, Project.id)):
        stored = out.setdefault(budget_id, StoredBallot(ballot_id, checked_out_at is not None))
        if project_id is not None:
            stored.items.append((project_id, cost))
    return out


# The ballots `_enter` loaded under the person's lock, for the workflow rule it runs next (they cannot
# change meanwhile); set only during that permission check.
_held: ContextVar[tuple[tuple[int, str], dict[int, StoredBallot]] | None] = ContextVar("budgets_held", default=None)


def ballot_statuses(component: Component, key: str) -> dict[int, str]:
    """{budget_id: "voted" | "progress"} of one person's non-empty ballots (b.3 order statuses)."""
    out = {}
    for budget_id, stored in person_ballots(component.id, key).items():
        if stored.checked_out:
            out[budget_id] = "voted"
        elif stored.items:
            out[budget_id] = "progress"
    return out


@dataclass
class BallotView:
    """A person's ballot in one budget, with the rule's figures (what the ballot page shows)."""

    budget: Budget
    rule: BallotRule
    ballot_id: int | None
    is_checked_out: bool
    project_ids: list[int]
    total: int
    count: int

    @property
    def checkout_problem(self) -> Any:
        return self.rule.checkout_problem(self.total, self.count)

    @property
    def progress(self) -> tuple[int, int]:
        return self.rule.progress(self.total, self.count)

    @property
    def remaining(self) -> int:
        return self.budget.total_amount - self.total


def _view(budget: Budget, stored: StoredBallot | None) -> BallotView:
    items = stored.items if stored is not None else []
    return BallotView(budget=budget, rule=BallotRule.for_budget(budget), ballot_id=stored.id if stored else None,
                      is_checked_out=bool(stored and stored.checked_out), project_ids=[pid for pid, _c in items],
                      total=sum(c for _p, c in items), count=len(items))


def ballot_of(budget: Budget, key: str | None) -> BallotView:
    return _view(budget, person_ballots(budget.component_id, key).get(budget.id) if key is not None else None)


def _enter(actor: Any, budget: Budget, action: str) -> tuple[str, BallotView]:
    """Take the person's lock and the budget's row FOR KEY SHARE (re-read: closed meanwhile?), load the
    person's ballots once, then check the permission (the workflow reads those ballots, which nobody
    else can change while the lock is held). KEY SHARE never conflicts with another ballot's locks nor
    with the counters' updates; closing takes the row FOR UPDATE and waits for the ballots in flight."""
    component = budget.component
    space = component.space  # held: the permission rules and the phase settings read it several times
    key = person_key_for(actor, component)
    if key is None:
        require(actor, action, budget)  # the eligibility link says why
        raise NotAllowed(deny(_("Please verify your identity: sign in with your digital identity."), "verify"))
    lock_row(BudgetLock, component_id=budget.component_id, key=key)
    db.session.execute(select(Budget).where(Budget.id == budget.id).with_for_update(read=True, key_share=True)
                       .execution_options(populate_existing=True)).scalar_one()  # fetched: refreshes `budget`
    mine = person_ballots(component.id, key)
    token = _held.set(((component.id, key), mine))
    try:
        require(actor, action, budget)
    finally:
        _held.reset(token)
    del space  # (held until here)
    return key, _view(budget, mine.get(budget.id))


def lock_budget(budget: Budget) -> None:
    """Take the budget's row FOR UPDATE and re-read it (closing, importing, the admin's changes that
    depend on whether anyone voted): this waits for the ballot changes in flight (they hold the row
    FOR KEY SHARE) and holds new ones until the transaction ends."""
    db.session.execute(select(Budget).where(Budget.id == budget.id).with_for_update()
                       .execution_options(populate_existing=True)).scalar_one()  # fetched: refreshes `budget`


def add_project(actor: Any, project: Project) -> int:
    """Add a project to the person's ballot (created on the first add). Returns the ballot's id."""
    budget = project.budget
    key, view = _enter(actor, budget, "budgets.budget.vote")
    if view.is_checked_out:
        raise InvalidState(_("Your ballot is checked out. Cancel it to change it."))
    if project.id in view.project_ids:
        raise InvalidState(_("This project is already in your ballot."))
    problem = view.rule.add_problem(view.total, view.count, project.cost)
    if problem is not None:
        raise InvalidState(problem)
    ballot_id = view.ballot_id
    if ballot_id is None:
        ballot = Ballot(budget_id=budget.id, component_id=budget.component_id, person_key=key)
        db.session.add(ballot)
        db.session.flush()
        ballot_id = ballot.id
    db.session.add(BallotItem(ballot_id=ballot_id, project_id=project.id))
    db.session.flush()
    _expire(Ballot, [ballot_id], ["items"])
    return ballot_id


def remove_project(actor: Any, project: Project) -> None:
    budget = project.budget
    _key, view = _enter(actor, budget, "budgets.budget.vote")
    if view.ballot_id is None or project.id not in view.project_ids:
        raise InvalidState(_("This project is not in your ballot."))
    if view.is_checked_out:
        raise InvalidState(_("Your ballot is checked out. Cancel it to change it."))
    db.session.execute(delete(BallotItem).where(BallotItem.ballot_id == view.ballot_id,
                                                BallotItem.project_id == project.id)
                       .execution_options(synchronize_session=False))
    _expire(Ballot, [view.ballot_id], ["items"])


def _expire(model: Any, ids: list[int], attributes: list[str]) -> None:
    """Expire what a Core statement changed in the objects of this session that hold those rows."""
    wanted = set(ids)
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, model) and obj.id in wanted:
            db.session.expire(obj, attributes)


def _count(budget: Budget, project_ids: list[int], delta: int) -> None:
    """The counters of checked-out ballots, as the last statements of the transaction: the projects'
    rows locked in ascending id order (so two ballots never wait on each other in a cycle; SQLite has
    one writer), then the budget's row; each `n = n + delta` is atomic (no read-modify-write)."""
    if len(project_ids) > 1 and db.session.get_bind().dialect.name == "postgresql":
        # its own statement: an UPDATE locking rows in a CTE would meet, under its older snapshot, the
        # versions it has just locked, and wait on their previous ones (a deadlock with a third ballot)
        db.session.execute(select(Project.id).where(Project.id.in_(project_ids)).order_by(Project.id)
                           .with_for_update(key_share=True))
    if project_ids:
        db.session.execute(update(Project).where(Project.id.in_(project_ids))
                           .values(votes_count=Project.votes_count + delta)
                           .execution_options(synchronize_session=False))
    db.session.execute(update(Budget).where(Budget.id == budget.id)
                       .values(ballots_count=Budget.ballots_count + delta).execution_options(synchronize_session=False))
    _expire(Project, project_ids, ["votes_count"])
    db.session.expire(budget, ["ballots_count"])


def checkout_ballot(actor: Any, budget: Budget) -> str | None:
    """Check out the person's ballot when it meets the rule. Returns the receipt code (shown once;
    only its SHA-256 is stored) when the component gives receipts, None otherwise."""
    _key, view = _enter(actor, budget, "budgets.budget.vote")
    if view.ballot_id is None or view.count == 0:
        raise InvalidState(_("Your ballot is empty."))
    if view.is_checked_out:
        raise InvalidState(_("Your ballot is already checked out."))
    problem = view.checkout_problem
    if problem is not None:
        raise InvalidState(problem)
    code = new_receipt() if budget.component.global_settings.receipts_enabled else None
    db.session.execute(update(Ballot).where(Ballot.id == view.ballot_id).values(
        checked_out_at=utcnow(), public_id=secrets.token_hex(12), receipt_sha256=receipt_sha256(code) if code else None)
        .execution_options(synchronize_session=False))
    _expire(Ballot, [view.ballot_id], ["checked_out_at", "public_id", "receipt_sha256"])
    _count(budget, view.project_ids, +1)
    return code


def cancel_ballot(actor: Any, budget: Budget) -> None:
    """Withdraw a checked-out ballot while voting is open (b.3: the order and its items are deleted)."""
    _key, view = _enter(actor, budget, "budgets.ballot.cancel")
    if not view.is_checked_out or view.ballot_id is None:
        raise InvalidState(_("You have no checked-out ballot in this budget."))
    db.session.execute(delete(BallotItem).where(BallotItem.ballot_id == view.ballot_id)
                       .execution_options(synchronize_session=False))
    db.session.execute(delete(Ballot).where(Ballot.id == view.ballot_id).execution_options(synchronize_session=False))
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, Ballot) and obj.id == view.ballot_id:
            db.session.expunge(obj)
    _count(budget, view.project_ids, -1)
