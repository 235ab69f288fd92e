"""Limits under concurrent requests (PostgreSQL): each thread has its own application context and
database session and calls the service, committing like a request does."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import func, select

from decidim_py.db import db
from decidim_py.errors import InvalidState
from decidim_py.permissions import NotAllowed
from decidim_py.testing import backend, make_user
from proposals import services as s
from proposals.models import Proposal, ProposalSupport
from tests.proposals.conftest import make_component

pytestmark = pytest.mark.skipif(
    backend() != "postgresql",
    reason="row locks under real parallel transactions: run with DECIDIM_TEST_DB=postgresql")

BODY = "Shade in summer and a nicer walk for everyone."


def _race(app: Any, jobs: list[tuple[int, int]]) -> dict[str, int]:
    """Run support_proposal(user_id, proposal_id) for every job at once; count the outcomes."""
    from decidim_py.accounts.models import User

    barrier = threading.Barrier(len(jobs))
    outcomes: dict[str, int] = {"ok": 0, "refused": 0, "error": 0}
    lock = threading.Lock()

    def run(user_id: int, proposal_id: int) -> None:
        with app.app_context():
            try:
                user = db.session.get(User, user_id)
                proposal = db.session.get(Proposal, proposal_id)
                db.session.commit()  # start from a fresh transaction, as a request does
                barrier.wait()
                s.support_proposal(user, proposal)
                db.session.commit()
                result = "ok"
            except (NotAllowed, InvalidState):
                db.session.rollback()
                result = "refused"
            except Exception:  # noqa: BLE001 - counted and asserted to be zero
                db.session.rollback()
                result = "error"
            finally:
                db.session.remove()
        with lock:
            outcomes[result] += 1

    threads = [threading.Thread(target=run, args=job) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return outcomes


def _proposals(org: Any, c: Any, n: int) -> list[int]:
    author = make_user(org)
    ids = []
    for i in range(n):
        p = s.create_proposal(author, c, s.ProposalData(f"Plant more trees, number {i}", BODY))
        ids.append(s.publish_proposal(author, p).id)
    return ids


def _final_counts_match(component_id: int) -> None:
    rows = db.session.execute(select(Proposal.id, Proposal.supports_count).where(
        Proposal.component_id == component_id)).all()
    for pid, count in rows:
        real = db.session.scalar(select(func.count()).select_from(ProposalSupport).where(
            ProposalSupport.proposal_id == pid, ProposalSupport.is_temporary.is_(False)))
        assert count == real


def test_one_person_50_attempts_across_10_proposals_vote_limit_3(app, org):
    c = make_component(org, settings={"vote_limit": 3})
    ids = _proposals(org, c, 10)
    user = make_user(org)
    db.session.commit()
    jobs = [(user.id, ids[i % 10]) for i in range(50)]
    outcomes = _race(app, jobs)
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(ProposalSupport)) == 3
    assert outcomes == {"ok": 3, "refused": 47, "error": 0}
    _final_counts_match(c.id)


def test_200_people_race_for_the_last_slots_threshold_20(app, org):
    c = make_component(org, settings={"threshold_per_proposal": 20})
    (pid,) = _proposals(org, c, 1)
    users = [make_user(org) for _ in range(200)]
    db.session.commit()
    outcomes = _race(app, [(u.id, pid) for u in users])
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(ProposalSupport)) == 20
    assert db.session.get(Proposal, pid).supports_count == 20
    assert outcomes == {"ok": 20, "refused": 180, "error": 0}


def test_temporary_supports_race_keeps_exact_counters(app, org):
    c = make_component(org, settings={"minimum_votes_per_user": 2, "vote_limit": 4})
    ids = _proposals(org, c, 4)
    users = [make_user(org) for _ in range(10)]
    db.session.commit()
    outcomes = _race(app, [(u.id, pid) for u in users for pid in ids])
    assert outcomes["error"] == 0 and outcomes["ok"] == 40
    db.session.expire_all()
    assert [db.session.get(Proposal, pid).supports_count for pid in ids] == [10, 10, 10, 10]
    _final_counts_match(c.id)


def test_completing_minimums_race_for_a_threshold_never_one_too_many(app, org):
    """minimum 2, threshold 8: 30 people hold a temporary support of p and complete their minimum
    elsewhere at the same moment as 10 people (minimum already met) support p directly: p ends at
    exactly 8 final supports; the refused completions wrote nothing."""
    threshold = 8
    c = make_component(org, settings={"minimum_votes_per_user": 2, "threshold_per_proposal": threshold})
    pid, *others = _proposals(org, c, 1 + 30 + 20)
    completers, direct = [make_user(org) for _ in range(30)], [make_user(org) for _ in range(10)]
    for user in completers:
        s.support_proposal(user, db.session.get(Proposal, pid))  # temporary
    pairs = others[30:]
    for n, user in enumerate(direct):  # two final supports each, on proposals of their own
        for other in pairs[2 * n:2 * n + 2]:
            s.support_proposal(user, db.session.get(Proposal, other))
    db.session.commit()
    assert db.session.get(Proposal, pid).supports_count == 0
    jobs = [(u.id, others[n]) for n, u in enumerate(completers)] + [(u.id, pid) for u in direct]
    outcomes = _race(app, jobs)
    db.session.expire_all()
    assert outcomes == {"ok": threshold, "refused": 40 - threshold, "error": 0}
    assert db.session.get(Proposal, pid).supports_count == threshold
    assert db.session.scalar(select(func.count()).select_from(ProposalSupport).where(
        ProposalSupport.proposal_id == pid, ProposalSupport.is_temporary.is_(False))) == threshold
    refused = [u.id for n, u in enumerate(completers)
               if db.session.get(Proposal, others[n]).supports_count == 0]
    for user_id in refused:  # nothing written: still one temporary support, of p
        rows = db.session.execute(select(ProposalSupport.proposal_id, ProposalSupport.is_temporary).where(
            ProposalSupport.user_id == user_id)).all()
        assert [tuple(row) for row in rows] == [(pid, True)]
    _final_counts_match(c.id)
