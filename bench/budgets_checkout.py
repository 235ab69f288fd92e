"""Ballot checkout throughput under concurrent voters (PostgreSQL by default).

    python bench/budgets_checkout.py [--voters 200] [--projects 12] [--per-ballot 3] [--checkout-together]
                                     [--sqlite] [--keep]

1. a throw-away database (bench/run.py's Database: a new PostgreSQL database through
   $DECIDIM_BENCH_PG_URL, default postgresql+psycopg://postgres@127.0.0.1:5432/test, dropped at the
   end; or an SQLite file with --sqlite), migrated to head;
2. one budgets component (threshold rule, 70 %), one budget, N projects, V voters;
3. V threads released together by a barrier; each voter, in its own application context and
   session, as a request would: adds `per-ballot` projects (one transaction each) and checks out
   (one transaction), through budgets.ballots (person lock, the budget's row FOR KEY SHARE, atomic
   counter updates last); with --checkout-together every voter first fills the ballot, then all
   check out at the same moment, and that phase is timed on its own (checkouts of one budget);
4. prints wall time, checkouts per second, transactions per second, latency percentiles of the
   checkout and of an add, and a consistency check (every counter recounted from the ballots; no
   ballot over the budget; one ballot per voter).

The application's pool is the production one (5 connections + 10 overflow per process), so 200
voters queue for connections as they would in one worker.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
for p in (str(BENCH), str(ROOT)):
    if p not in sys.path:
        sys.path.insert(0, p)

from run import Database  # noqa: E402


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")


def setup(app: Any, voters: int, projects: int, per_ballot: int) -> tuple[int, list[int], list[int]]:
    from budgets import services as s
    from decidim_py.accounts.system import SystemActor
    from decidim_py.components import add_component, publish_component, update_component
    from decidim_py.db import db
    from decidim_py.testing import make_organization, make_process, make_user

    with app.app_context():
        org = make_organization(host="bench.example.test")
        system = SystemActor(org.id)
        process = make_process(org, steps=1)
        component = add_component(system, process, "budgets", {"en": "Budgets"})
        update_component(system, component, step_values={process.steps[0].id: {"votes": "enabled"}})
        cost = 10_000
        total = cost * per_ballot  # every ballot spends exactly the budget: 100 % >= 70 %
        budget = s.create_budget(system, component, s.BudgetData(title={"en": "Bench"}, total_amount=total))
        ids = [s.create_project(system, budget, s.ProjectData(title={"en": f"P{n}"}, cost=cost)).id
               for n in range(projects)]
        publish_component(system, component)
        users = [make_user(org).id for _ in range(voters)]
        db.session.commit()
        return budget.id, ids, users


def race(app: Any, budget_id: int, project_ids: list[int], users: list[int], per_ballot: int,
         checkout_together: bool = False) -> dict[str, Any]:
    from budgets import ballots as b
    from budgets.models import Budget, Project
    from decidim_py.accounts.models import User
    from decidim_py.db import db

    barrier = threading.Barrier(len(users) + 1)
    together = threading.Barrier(len(users) + 1) if checkout_together else None
    lock = threading.Lock()
    adds: list[float] = []
    checkouts: list[float] = []
    failures: list[str] = []

    def step(samples: list[float], action: Any) -> bool:
        t0 = time.perf_counter()
        try:
            action()
            db.session.commit()
        except Exception as exc:  # noqa: BLE001 - reported
            db.session.rollback()
            with lock:
                failures.append(repr(exc))
            return False
        with lock:
            samples.append(time.perf_counter() - t0)
        return True

    def voter(n: int, user_id: int) -> None:
        mine = [project_ids[(n + k) % len(project_ids)] for k in range(per_ballot)]
        with app.app_context():
            user = db.session.get(User, user_id)
            db.session.commit()
            barrier.wait()
            try:
                ok = all(step(adds, lambda pid=pid: b.add_project(user, db.session.get(Project, pid))) for pid in mine)
                if together is not None:
                    together.wait()
                if ok:
                    step(checkouts, lambda: b.checkout_ballot(user, db.session.get(Budget, budget_id)))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=voter, args=(n, uid)) for n, uid in enumerate(users)]
    for t in threads:
        t.start()
    barrier.wait()
    start, cpu = time.perf_counter(), time.process_time()
    checkout_start = start
    if together is not None:
        together.wait()
        checkout_start = time.perf_counter()
    for t in threads:
        t.join()
    end = time.perf_counter()
    return {"wall": end - start, "cpu": time.process_time() - cpu, "checkout_wall": end - checkout_start,
            "adds": adds, "checkouts": checkouts, "failures": failures}


def consistency(app: Any, budget_id: int, voters: int) -> str:
    from sqlalchemy import func, select

    from budgets.models import Ballot, BallotItem, Budget, Project
    from decidim_py.db import db

    with app.app_context():
        budget = db.session.get(Budget, budget_id)
        checked = select(Ballot.id).where(Ballot.budget_id == budget_id, Ballot.checked_out_at.is_not(None))
        n = db.session.scalar(select(func.count()).select_from(checked.subquery()))
        problems = []
        if n != budget.ballots_count or n != voters:
            problems.append(f"{n} checked-out ballots, counter {budget.ballots_count}, voters {voters}")
        for project in budget.projects:
            real = db.session.scalar(select(func.count()).select_from(BallotItem).where(
                BallotItem.project_id == project.id, BallotItem.ballot_id.in_(checked)))
            if real != project.votes_count:
                problems.append(f"project {project.id}: counter {project.votes_count}, ballots {real}")
        over = db.session.scalar(select(func.count()).select_from(
            select(Ballot.id).join(BallotItem, BallotItem.ballot_id == Ballot.id)
            .join(Project, Project.id == BallotItem.project_id).where(Ballot.budget_id == budget_id)
            .group_by(Ballot.id).having(func.sum(Project.cost) > budget.total_amount).subquery()))
        if over:
            problems.append(f"{over} ballots over the budget")
        return "ok: every counter matches the ballots" if not problems else "; ".join(problems)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--voters", type=int, default=200)
    ap.add_argument("--projects", type=int, default=12)
    ap.add_argument("--per-ballot", type=int, default=3)
    ap.add_argument("--sqlite", action="store_true", help="an SQLite file instead of PostgreSQL")
    ap.add_argument("--keep", action="store_true", help="keep the database")
    ap.add_argument("--checkout-together", action="store_true",
                    help="every voter fills the ballot, then all check out at the same moment (checkouts timed apart)")
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        database = Database("sqlite" if a.sqlite else "postgresql", Path(tmp))
        try:
            from alembic import command

            from decidim_py.jobs import huey
            from decidim_py.migrate import alembic_config
            from decidim_py.testing import make_app

            huey.immediate = True
            command.upgrade(alembic_config(database.url), "head")
            app = make_app(database.url, COMPONENTS=["proposals", "budgets.component"])
            budget_id, project_ids, users = setup(app, a.voters, a.projects, a.per_ballot)
            r = race(app, budget_id, project_ids, users, a.per_ballot, a.checkout_together)
            check = consistency(app, budget_id, a.voters - len(r["failures"]))
            done = len(r["checkouts"])
            print(f"database          {database.describe()} ({database.kind})")
            print(f"voters            {a.voters} concurrent, {a.per_ballot} projects each, then checkout")
            print(f"wall time         {r['wall']:.2f} s (this process used {r['cpu']:.2f} s of CPU: "
                  f"{100 * r['cpu'] / r['wall']:.0f} % of one core; the rest is the database and waiting)")
            print(f"checkouts         {done} ({done / r['wall']:.1f} per second)")
            if a.checkout_together:
                print(f"checkout phase    {r['checkout_wall']:.2f} s: {done / r['checkout_wall']:.1f} checkouts per "
                      "second, every voter checking out at the same moment")
            print(f"transactions      {len(r['adds']) + done} ({(len(r['adds']) + done) / r['wall']:.1f} per second)")
            print(f"checkout latency  p50 {_pct(r['checkouts'], .5):.1f} ms, p95 {_pct(r['checkouts'], .95):.1f} ms, "
                  f"max {_pct(r['checkouts'], 1):.1f} ms")
            print(f"add latency       p50 {_pct(r['adds'], .5):.1f} ms, p95 {_pct(r['adds'], .95):.1f} ms, "
                  f"mean {statistics.fmean(r['adds']) * 1000 if r['adds'] else float('nan'):.1f} ms")
            print(f"failures          {len(r['failures'])}{': ' + r['failures'][0] if r['failures'] else ''}")
            print(f"consistency       {check}")
            app.extensions["decidim_db"].engine.dispose()
            return 0 if not r["failures"] and check.startswith("ok") else 1
        finally:
            if not a.keep:
                database.drop()


if __name__ == "__main__":
    raise SystemExit(main())
