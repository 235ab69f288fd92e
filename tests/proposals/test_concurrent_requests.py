"""Concurrent write requests over HTTP (both databases; on SQLite the case that matters: a request
that read before writing used to fail at once with "database is locked" when another writer had
committed meanwhile). Every request must succeed and the counters stay exact."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from decidim_py.db import db
from decidim_py.testing import login_as, make_user
from proposals import services as s
from proposals.models import Proposal, ProposalSupport
from tests.proposals.conftest import make_component

BODY = "Shade in summer and a nicer walk for everyone."


def test_parallel_support_requests_all_succeed_and_count_exactly(app, org, commit):
    c = make_component(org, step={"votes_enabled": True})
    author = make_user(org)
    proposals = [s.publish_proposal(author, s.create_proposal(author, c, s.ProposalData(f"Trees in park {i}", BODY)))
                 for i in range(3)]
    voters = [make_user(org) for _ in range(12)]
    commit()
    clients = []
    for voter in voters:
        client = app.test_client()
        client.host = org.host
        login_as(client, voter)
        clients.append(client)
    base = f"/processes/{c.space.slug}/proposals/{c.id}"
    ids = [p.id for p in proposals]
    barrier = threading.Barrier(len(clients))
    statuses: list[int] = []
    lock = threading.Lock()

    def run(client) -> None:  # type: ignore[no-untyped-def]
        barrier.wait()
        for pid in ids:
            status = client.post(f"{base}/{pid}/support", base_url=f"http://{org.host}").status_code
            with lock:
                statuses.append(status)

    threads = [threading.Thread(target=run, args=(cl,)) for cl in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(set(statuses)) == [303], statuses
    db.session.rollback()
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(ProposalSupport)) == 36
    assert [db.session.get(Proposal, pid).supports_count for pid in ids] == [12, 12, 12]
