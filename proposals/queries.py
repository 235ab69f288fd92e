"""The public list of proposals: filters, sorts and pagination, all in SQL (a fixed number of
queries whatever the page)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, Select, and_, cast, exists, func, literal, or_, select
from sqlalchemy.orm import joinedload

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


def list_proposals(component: Component, filters: Filters, *, user: Any = None, page: int = 1,
                   per_page: int = 20) -> Page:
    """One statement: the page's proposals with their authors, the total (a window count) and
    whether the user supports each one. A page past the end costs one more to return the last."""
    supported: Any = literal(False)
    if user is not None:
        supported = exists().where(ProposalSupport.proposal_id == Proposal.id,
                                   ProposalSupport.user_id == user.id)
    base = _ordered(proposals_query(component, filters, user), component, filters)

    def page_rows(number: int) -> list[Any]:
        # The page's ids and the total from narrow rows (cheap to sort and count at 100,000), then
        # the full rows of those ids only, with their authors: still one statement.
        ids = (base.with_only_columns(Proposal.id, func.count().over().label("total"))
               .limit(per_page).offset((number - 1) * per_page).subquery())
        q = _ordered(select(Proposal, ids.c.total, supported.label("supported"))
                     .join(ids, ids.c.id == Proposal.id), component, filters)
        return list(db.session.execute(q.options(joinedload(Proposal.author),
                                                 joinedload(Proposal.author_host))).all())

    page = max(1, page)
    rows = page_rows(page)
    if not rows and page > 1:
        total = db.session.scalar(select(func.count()).select_from(base.order_by(None).subquery())) or 0
        page = max(1, -(-total // per_page))
        rows = page_rows(page)
    total = rows[0].total if rows else 0
    return Page([r[0] for r in rows], page, per_page, total, {r[0].id for r in rows if r.supported})
