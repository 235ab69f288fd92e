"""The public list of proposals: filters, sorts and pagination, all in SQL (a fixed number of
queries whatever the page)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, Select, and_, cast, exists, func, literal, or_, select
from sqlalchemy.orm import aliased

from decidim_py.accounts.models import Host, User
from decidim_py.components import Component
from decidim_py.db import db
from decidim_py.pagination import Page

from .models import Proposal, ProposalState, ProposalSupport

STATES = ("accepted", "evaluating", "not_answered", "rejected")
DEFAULT_STATES = ("accepted", "evaluating", "not_answered")  # rejected hidden by default
SORTS = ("random", "recent", "most_supported", "most_endorsed", "most_commented")
ORIGINS = ("official", "participants", "host")  # an admin's / a participant's own / on behalf of a host
RANDOM_MODULUS = 2_147_483_647  # a prime: (id × seed) mod p is a permutation of the ids


@dataclass
class Filters:
    text: str = ""
    states: tuple[str, ...] = DEFAULT_STATES
    mine: bool = False
    withdrawn: bool = False
    origins: tuple[str, ...] = ()  # empty: every origin
    supported: bool = False  # only the ones the signed-in user supports
    sort: str = "automatic"
    seed: int = 1


def available_sorts(component: Component) -> list[str]:
    """Most supported is hidden with the support counts; most endorsed without endorsements."""
    s, gs = component.current_settings, component.global_settings
    return [x for x in SORTS if not (x == "most_supported" and s.votes_hidden)
            and not (x == "most_endorsed" and not gs.endorsements_enabled)]


def resolve_sort(component: Component, requested: str | None) -> str:
    """The sort shown: the requested one if available, else the component's default ("automatic":
    most supported once supports are closed and visible, random otherwise — b.1)."""
    s = component.current_settings
    available = available_sorts(component)
    if requested in available:
        return requested
    default = component.global_settings.default_sort
    if default in available:
        return default
    if s.votes_enabled and not s.votes_hidden and s.votes_blocked:
        return "most_supported"
    return "random"


def _state_condition(state: str) -> Any:
    if state == "not_answered":
        return or_(Proposal.state_published_at.is_(None), Proposal.internal_state == ProposalState.NOT_ANSWERED)
    return and_(Proposal.state_published_at.is_not(None), Proposal.internal_state == ProposalState(state))


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def proposals_query(component: Component, filters: Filters, user: Any = None) -> Select[tuple[Proposal]]:
    q = select(Proposal).where(Proposal.component_id == component.id, Proposal.published_at.is_not(None),
                               Proposal.hidden_at.is_(None))
    if filters.withdrawn:
        q = q.where(Proposal.withdrawn_at.is_not(None))
    else:
        q = q.where(Proposal.withdrawn_at.is_(None))
        states = [s for s in filters.states if s in STATES]
        if states and set(states) != set(STATES):
            q = q.where(or_(*[_state_condition(s) for s in states]))
    if filters.text.strip():
        pattern = _like(filters.text.strip())
        q = q.where(or_(Proposal.title.ilike(pattern, escape="\\"), Proposal.body.ilike(pattern, escape="\\"),
                        Proposal.reference.ilike(pattern, escape="\\")))
    if filters.mine and user is not None:
        q = q.where(Proposal.author_id == user.id)
    if filters.supported and user is not None:
        q = q.where(exists().where(ProposalSupport.proposal_id == Proposal.id, ProposalSupport.user_id == user.id))
    origins = [o for o in filters.origins if o in ORIGINS]
    if origins and set(origins) != set(ORIGINS):
        q = q.where(or_(*[_origin_condition(o) for o in origins]))
    return q


def _origin_condition(origin: str) -> Any:
    if origin == "official":
        return Proposal.is_official.is_(True)
    if origin == "host":
        return and_(Proposal.is_official.is_(False), Proposal.author_host_id.is_not(None))
    return and_(Proposal.is_official.is_(False), Proposal.author_host_id.is_(None))


def _ordered(q: Select[Any], component: Component, filters: Filters) -> Select[Any]:
    sort = resolve_sort(component, filters.sort)
    if sort == "recent":
        return q.order_by(Proposal.published_at.desc(), Proposal.id.desc())
    if sort == "most_supported":
        return q.order_by(Proposal.supports_count.desc(), Proposal.id.desc())
    if sort == "most_endorsed":
        return q.order_by(Proposal.endorsements_count.desc(), Proposal.id.desc())
    if sort == "most_commented":
        return q.order_by(Proposal.comments_count.desc(), Proposal.id.desc())
    seed = filters.seed % RANDOM_MODULUS or 1
    return q.order_by((cast(Proposal.id, BigInteger) * seed) % RANDOM_MODULUS, Proposal.id)


@dataclass(frozen=True, slots=True)
class ProposalCard:
    """What a card of the list shows: read as plain columns (no ORM objects for a list row)."""

    id: int
    title: str
    reference: str | None
    is_official: bool
    state: str | None  # as Proposal.state: None unless answered and published, or "withdrawn"
    supports_count: int
    comments_count: int
    endorsements_count: int
    author_name: str | None
    host_name: dict[str, Any] | None  # translated


_AUTHOR, _HOST = aliased(User), aliased(Host)  # made once: an alias's columns are memoised on it


def _card(row: Any) -> ProposalCard:
    # the row has the columns Proposal.state reads: the model's rule, not a copy of it
    state = Proposal.state.fget(row)  # type: ignore[attr-defined]
    return ProposalCard(row.id, row.title, row.reference, row.is_official, state, row.supports_count,
                        row.comments_count, row.endorsements_count, row.author_name, row.host_name)


def list_proposals(component: Component, filters: Filters, *, user: Any = None, page: int = 1,
                   per_page: int = 20) -> Page:
    """One statement: the page's proposals with their authors' names, the total (a window count) and
    whether the user supports each one. A page past the end costs one more to return the last."""
    supported: Any = literal(False)
    if user is not None:
        supported = exists().where(ProposalSupport.proposal_id == Proposal.id,
                                   ProposalSupport.user_id == user.id)
    base = _ordered(proposals_query(component, filters, user), component, filters)
    author, host = _AUTHOR, _HOST

    def page_rows(number: int) -> list[Any]:
        # The page's ids and the total from narrow rows (cheap to sort and count at 100,000), then
        # the columns of those ids' cards only, with their authors' names: still one statement.
        ids = (base.with_only_columns(Proposal.id, func.count().over().label("total"))
               .limit(per_page).offset((number - 1) * per_page).subquery())
        q = (select(Proposal.id, Proposal.title, Proposal.reference, Proposal.is_official, Proposal.withdrawn_at,
                    Proposal.state_published_at, Proposal.internal_state, Proposal.supports_count,
                    Proposal.comments_count, Proposal.endorsements_count, author.name.label("author_name"),
                    host.name.label("host_name"), ids.c.total, supported.label("supported"))
             .join(ids, ids.c.id == Proposal.id)
             .outerjoin(author, author.id == Proposal.author_id)
             .outerjoin(host, host.id == Proposal.author_host_id))
        return list(db.session.execute(_ordered(q, component, filters)).all())

    page = max(1, page)
    rows = page_rows(page)
    if not rows and page > 1:
        total = db.session.scalar(select(func.count()).select_from(base.order_by(None).subquery())) or 0
        page = max(1, -(-total // per_page))
        rows = page_rows(page)
    total = rows[0].total if rows else 0
    return Page([_card(r) for r in rows], page, per_page, total, {r.id for r in rows if r.supported})
