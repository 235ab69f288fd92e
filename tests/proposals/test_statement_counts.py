"""SQL statements per page at scale (issue 5, benchmarks): the proposals list runs at most 10
statements, the same at page 1 and page 100 and with 2,000 or 100,000 proposals; the page of a
proposal with thousands of comments runs as many as one with a few, at any page of its comments.

The rows are written with the benchmark seeder's bulk writers (bench/proposals_seed.py: the rows
the services write, in multi-row INSERTs), so a run takes seconds, not the hour the services would."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, func, select

from bench.proposals_seed import (
    bulk_comments,
    bulk_proposals,
    bulk_supports,
    check_consistency,
    insert_people,
    plan_proposals,
)
from decidim_py.comments.models import Comment
from decidim_py.db import db, get_engine, utcnow
from decidim_py.testing import login_as
from proposals.models import Proposal
from tests.proposals.conftest import make_component, require_person

TRANSACTION = re.compile(r"\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)", re.IGNORECASE)


@contextmanager
def counting() -> Iterator[list[str]]:
    """The statements sent to the database inside the block, transaction control left out."""
    seen: list[str] = []

    def listener(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if not TRANSACTION.match(statement):
            seen.append(statement)

    engine = get_engine()
    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", listener)


def statements(client: Any, url: str, expect: str) -> list[str]:
    with counting() as seen:
        resp = client.get(url)
    assert resp.status_code == 200, url
    assert expect in resp.text, f"{expect!r} not in {url}"
    return list(seen)


def _show(seen: list[str]) -> str:
    return "\n".join(" ".join(s.split())[:160] for s in seen)


def _seed(org: Any, component: Any, people: list[tuple[int, str]], n: int, *, random_seed: int,
          supports: float = 3.0, comments: float = 0.0, hot: int = 0) -> list[int]:
    plans = plan_proposals(n, len(people), now=utcnow(), hot_comments=hot, supports_mean=supports,
                           comments_mean=comments, random_seed=random_seed)
    ids = bulk_proposals(org, component, plans, people, log=False)
    bulk_supports(component, plans, ids, people)
    bulk_comments(org, component, plans, ids, people)
    db.session.commit()
    return ids


@pytest.fixture
def scene(app: Any, org: Any) -> dict[str, Any]:
    component = make_component(org)
    require_person(component)  # supports by verified persons, as in the benchmark
    db.session.commit()
    people = insert_people(org, 500, now=utcnow())
    db.session.commit()
    return {"component": component, "people": people,
            "base": f"/processes/{component.space.slug}/proposals/{component.id}"}


def _english_speaker(people: list[tuple[int, str]]) -> Any:
    from decidim_py.accounts.models import User

    return db.session.scalar(select(User).where(User.id.in_([uid for uid, _ in people]), User.locale == "en")
                             .order_by(User.id).limit(1))


def test_list_statements_do_not_grow_with_the_page_or_the_number_of_proposals(app, org, client, scene):
    component, people, base = scene["component"], scene["people"], scene["base"]
    _seed(org, component, people, 2_000, random_seed=1)
    viewer = _english_speaker(people)
    counts: dict[tuple[int, int, bool], list[str]] = {}
    for size in (2_000, 100_000):
        if size == 100_000:  # 98,000 more, without supports (the count is what matters here)
            _seed(org, component, people, 98_000, random_seed=2, supports=0.0)
        total = db.session.scalar(select(func.count()).select_from(Proposal).where(
            Proposal.component_id == component.id))
        assert total == size
        for signed_in in (False, True):
            login_as(client, viewer if signed_in else None)
            for page in (1, 100):
                for order in ("", "recent", "most_supported") if size == 2_000 else ("", "most_supported"):
                    seen = statements(client, f"{base}/?page={page}&order={order}",
                                      f"Page {page} of {size // 20}")
                    first = counts.setdefault((size, page, signed_in), seen)
                    assert len(seen) == len(first), _show(seen)
    for signed_in in (False, True):
        reference = counts[(2_000, 1, signed_in)]
        assert len(reference) <= 10, _show(reference)
        for key, seen in counts.items():
            if key[2] == signed_in:
                assert len(seen) == len(reference), f"{key}:\n{_show(seen)}\n--- page 1 at 2,000:\n{_show(reference)}"
        if db.session.get_bind().dialect.name == "postgresql":  # the very same statements, whatever the data
            assert ({" ".join(s.split()) for s in counts[(100_000, 100, signed_in)]}
                    == {" ".join(s.split()) for s in reference})


def test_proposal_page_statements_do_not_grow_with_its_comments(app, org, client, scene):
    component, people, base = scene["component"], scene["people"], scene["base"]
    busy = _seed(org, component, people, 1, random_seed=3, hot=3_000)[0]
    quiet = _seed(org, component, people, 1, random_seed=4, hot=25)[0]
    assert check_consistency(component.id, log=False)["comments"] == 3_025
    top = db.session.scalar(select(func.count()).select_from(Comment).where(
        Comment.resource_type == "Proposal", Comment.resource_id == busy, Comment.parent_id.is_(None)))
    last = -(-top // 20)
    assert last >= 50  # a deep page: the thread has more than 1,000 top-level comments
    for viewer in (None, _english_speaker(people)):
        login_as(client, viewer)
        first = statements(client, f"{base}/{busy}", "comments")
        deep = statements(client, f"{base}/{busy}?comments_page={last}", f"Page {last} of {last}")
        few = statements(client, f"{base}/{quiet}", "comments")
        assert len(first) == len(deep) == len(few), f"{_show(first)}\n---\n{_show(deep)}\n---\n{_show(few)}"
        # today: 10 anonymous; 25 signed in, where the person's verification is read three times and
        # their supports twice (person_key_for, then the support and unsupport permission checks)
        assert len(first) <= (12 if viewer is None else 26), _show(first)

