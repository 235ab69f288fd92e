"""Proposals benchmark: time of the list page query (page 1 and a deep page) and of supports,
on a temporary SQLite database (or DECIDIM_TEST_DB=postgresql), printed as figures.

    .venv/bin/python bench/proposals.py [--proposals 10000] [--supports 200]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--proposals", type=int, default=10000)
    parser.add_argument("--supports", type=int, default=200)
    args = parser.parse_args()

    from decidim_py.db import db, utcnow
    from decidim_py.testing import TemplateDatabase, make_app, make_organization, make_user
    from proposals import services as s
    from proposals.models import Proposal
    from proposals.queries import Filters, list_proposals
    from tests.proposals.conftest import make_component

    tpl = TemplateDatabase(Path(tempfile.mkdtemp()))
    url = tpl.copy()
    app = make_app(url, COMPONENTS=["proposals"])
    with app.app_context():
        org = make_organization()
        component = make_component(org)
        author = make_user(org)
        now = utcnow()
        db.session.add_all(Proposal(organization_id=org.id, component_id=component.id, author_id=author.id,
                                    title=f"Proposal number {i} for the city", body="A body long enough.",
                                    reference=f"B-{i}", published_at=now) for i in range(args.proposals))
        db.session.commit()
        viewer = make_user(org)
        for label, page in (("list page 1", 1), ("list deep page", max(1, args.proposals // 20 - 1))):
            times = []
            for sort in ("random", "recent", "most_supported"):
                for _ in range(5):
                    start = time.perf_counter()
                    list_proposals(component, Filters(sort=sort, seed=12345), user=viewer, page=page)
                    times.append((time.perf_counter() - start) * 1000)
            print(f"{label:>16}: p50 {statistics.median(times):7.2f} ms  max {max(times):7.2f} ms "
                  f"({args.proposals} proposals)")
        target = db.session.get(Proposal, 1)
        users = [make_user(org) for _ in range(args.supports)]
        db.session.commit()
        times = []
        for user in users:
            start = time.perf_counter()
            s.support_proposal(user, target)
            db.session.commit()
            times.append((time.perf_counter() - start) * 1000)
        print(f"{'support+commit':>16}: p50 {statistics.median(times):7.2f} ms  max {max(times):7.2f} ms "
              f"({args.supports} supports, {db.session.get(Proposal, 1).supports_count} counted)")
        db.session.remove()
    app.extensions["decidim_db"].engine.dispose()
    tpl.drop_copy(url)
    tpl.drop()


if __name__ == "__main__":
    main()
