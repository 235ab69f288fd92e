"""Proposals under load: fresh database, N proposals, gunicorn with 2 workers, wrk, voters racing.

    python bench/proposals_load.py [--postgresql] [--proposals 2000] [--mode auto|services|bulk]
                                   [--duration 15] [--connections 10] [--threads 2] [--workers 2]
                                   [--voters 200] [--supports-per-voter 5] [--cpu-requests 200]
                                   [--cprofile] [--no-page-limit] [--engine auto|wrk|python] [--keep]
                                   [--database-url URL] [--json]

1. a throw-away database (an SQLite file, or with --postgresql a new PostgreSQL database, dropped at
   the end: bench/run.py's Database), seeded by bench/proposals_seed.py; or --database-url of one
   seeded before (kept);
2. in process (Flask test client, anonymous visitor, Host 127.0.0.1), for the list (page 1 and its
   last page) and the page of the proposal with the most comments: the SQL statements of one
   request and the median wall time (bench/queries.py), and the CPU time per request of the process
   (time.process_time over --cpu-requests requests; with --cprofile the 25 costliest functions);
3. gunicorn with --workers 2 on that database (bench/run.py's Server), a warm-up, then
   `wrk -t2 -c10 -d15s --latency` on each page (bench/load.py), and /work/shared/tools/page-limit;
4. --voters distinct verified people (each with a signed session cookie and its CSRF token, made in
   process with the server's secret key) send real HTTP POSTs to .../support at the same time,
   --supports-per-voter each on proposals they do not support yet: supports per second, latency and
   refusals, then the seed's consistency check (every counter recounted from the rows);
5. a table; exit status 1 when a page did not answer 200, any request failed, or a counter is wrong.
"""

from __future__ import annotations

import argparse
import cProfile
import http.client
import io
import json
import os
import pstats
import random
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
for _p in (str(BENCH), str(ROOT)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from load import measure  # noqa: E402
from run import PAGE_LIMIT, CpuMeter, Database, Server, fetch, run_page_limit  # noqa: E402

HOST = "127.0.0.1"


def _app(database_url: str, secret_key: str) -> Any:
    from decidim_py import create_app
    from decidim_py.testing import IsolatedClient

    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": secret_key})
    app.test_client_class = IsolatedClient  # each request in a fresh app context (`g`), as in production
    return app


def locate(app: Any) -> dict[str, Any]:
    """The benchmark component's pages: the list, its last page and the most commented proposal."""
    from proposals_seed import PROCESS_SLUG, find_component
    from sqlalchemy import func, select

    from decidim_py.comments.models import Comment
    from decidim_py.db import db
    from decidim_py.tenancy import find_organization
    from proposals.models import Proposal

    with app.app_context():
        org = find_organization(HOST)
        component = find_component(org.id) if org is not None else None
        if component is None:
            raise SystemExit(f"no {PROCESS_SLUG} proposals component in this database: seed it first")
        total = db.session.scalar(select(func.count()).select_from(Proposal).where(
            Proposal.component_id == component.id, Proposal.published_at.is_not(None))) or 0
        hot, comments = db.session.execute(
            select(Comment.resource_id, func.count()).where(Comment.component_id == component.id,
                                                            Comment.resource_type == "Proposal")
            .group_by(Comment.resource_id).order_by(func.count().desc()).limit(1)).one()
        base = f"/processes/{PROCESS_SLUG}/proposals/{component.id}"
        last = max(1, -(-total // 20))
        return {"component_id": component.id, "proposals": total, "hot": hot, "hot_comments": comments,
                "pages": {"list p1": f"{base}/", f"list p{last}": f"{base}/?page={last}",
                          f"proposal ({comments} comments)": f"{base}/{hot}"}}


def cpu_per_request(app: Any, pages: dict[str, str], requests: int, use_cprofile: bool) -> dict[str, Any]:
    """CPU ms of this process per anonymous request (time.process_time), after a warm-up."""
    client = app.test_client()
    out: dict[str, Any] = {}
    for label, page in pages.items():
        for _ in range(5):
            assert client.get(page, base_url=f"http://{HOST}").status_code == 200, page
        profiler = cProfile.Profile() if use_cprofile else None
        t0 = time.process_time()
        if profiler is not None:
            profiler.enable()
        for _ in range(requests):
            client.get(page, base_url=f"http://{HOST}")
        if profiler is not None:
            profiler.disable()
        out[label] = (time.process_time() - t0) * 1e3 / requests
        if profiler is not None:
            buf = io.StringIO()
            pstats.Stats(profiler, stream=buf).sort_stats("tottime").print_stats(25)
            print(f"--- cProfile {label} ({page}), {requests} requests, by own time ---")
            print("\n".join(buf.getvalue().splitlines()[:45]))
    return out


# --- voters ---------------------------------------------------------------------------------------


def prepare_voters(app: Any, component_id: int, count: int, per_voter: int, seed: int = 7) -> list[dict[str, Any]]:
    """`count` distinct verified people, each signed in (a session cookie signed with the server's
    key, an account session row) with the CSRF token of its session, and `per_voter` proposals it
    does not support yet."""
    from proposals_seed import NICK_PREFIX, PROCESS_SLUG
    from sqlalchemy import select

    from decidim_py.accounts.models import User
    from decidim_py.db import db
    from decidim_py.identity.models import PersonVerification
    from decidim_py.testing import login_as
    from proposals.models import Proposal, ProposalSupport

    rng = random.Random(seed)
    with app.app_context():
        users = list(db.session.scalars(
            select(User).join(PersonVerification, PersonVerification.user_id == User.id)
            .where(User.nickname.startswith(NICK_PREFIX), PersonVerification.revoked_at.is_(None))
            .order_by(User.id).limit(count)))
        if len(users) < count:
            raise SystemExit(f"only {len(users)} verified people seeded, {count} voters asked")
        ids = list(db.session.scalars(select(Proposal.id).where(
            Proposal.component_id == component_id, Proposal.published_at.is_not(None),
            Proposal.withdrawn_at.is_(None))))
        supported: dict[int, set[int]] = {}
        for uid, pid in db.session.execute(select(ProposalSupport.user_id, ProposalSupport.proposal_id).where(
                ProposalSupport.component_id == component_id, ProposalSupport.user_id.in_([u.id for u in users]))):
            supported.setdefault(uid, set()).add(pid)
        voters = []
        for user in users:
            client = app.test_client()
            client.host = HOST
            login_as(client, user)
            targets: list[int] = []
            while len(targets) < per_voter:
                pid = rng.choice(ids)
                if pid not in targets and pid not in supported.get(user.id, set()):
                    targets.append(pid)
            base = f"/processes/{PROCESS_SLUG}/proposals/{component_id}"
            page = client.get(f"{base}/{targets[0]}", base_url=f"http://{HOST}")
            token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text)
            cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"], domain=HOST)
            form = f'action="{base}/{targets[0]}/support"'
            if page.status_code != 200 or token is None or cookie is None or form not in page.text:
                raise SystemExit(f"voter {user.nickname} cannot support on {base}/{targets[0]} "
                                 f"(HTTP {page.status_code})")
            voters.append({"user_id": user.id, "cookie": f"{cookie.key}={cookie.value}", "csrf": token.group(1),
                           "user_agent": client.environ_base.get("HTTP_USER_AGENT", ""),
                           "paths": [f"{base}/{pid}/support" for pid in targets]})
        db.session.remove()
    return voters


def race(base_url: str, voters: list[dict[str, Any]], timeout: float = 60) -> dict[str, Any]:
    """Every voter in its own thread, all released at once, each POSTing its supports one after the
    other over its own connection; returns statuses, latencies and the wall time."""
    parts = urllib.parse.urlsplit(base_url)
    barrier = threading.Barrier(len(voters) + 1)
    lock = threading.Lock()
    statuses: dict[str, int] = {}
    latencies: list[float] = []

    def vote(voter: dict[str, Any]) -> None:
        body = urllib.parse.urlencode({"csrf_token": voter["csrf"]})
        headers = {"Cookie": voter["cookie"], "User-Agent": voter["user_agent"],
                   "Content-Type": "application/x-www-form-urlencoded", "Host": HOST}
        mine: list[tuple[str, float]] = []
        barrier.wait()
        for path in voter["paths"]:
            t0 = time.perf_counter()
            try:
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
                conn.request("POST", path, body=body, headers=headers)
                resp = conn.getresponse()
                resp.read()
                conn.close()
                outcome = str(resp.status)
            except OSError as exc:
                outcome = type(exc).__name__
            mine.append((outcome, (time.perf_counter() - t0) * 1e3))
        with lock:
            for outcome, ms in mine:
                statuses[outcome] = statuses.get(outcome, 0) + 1
                latencies.append(ms)

    threads = [threading.Thread(target=vote, args=(v,)) for v in voters]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    latencies.sort()
    return {"wall_s": wall, "statuses": statuses, "p50_ms": statistics.median(latencies),
            "p99_ms": latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]}


def count_supports(app: Any, component_id: int) -> int:
    from sqlalchemy import func, select

    from decidim_py.db import db
    from proposals.models import ProposalSupport

    with app.app_context():
        n = db.session.scalar(select(func.count()).select_from(ProposalSupport).where(
            ProposalSupport.component_id == component_id)) or 0
        db.session.remove()
        return n


def consistency(app: Any, component_id: int) -> str:
    from proposals_seed import check_consistency

    from decidim_py.db import db

    with app.app_context():
        try:
            totals = check_consistency(component_id)
            return f"consistent: {totals['supports']} supports, every counter equal to its rows"
        except AssertionError as exc:
            return f"INCONSISTENT: {exc}"
        finally:
            db.session.remove()


# --- main -----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--postgresql", action="store_true", help="a fresh PostgreSQL database (dropped after)")
    ap.add_argument("--database-url", help="an already seeded database (kept; no seeding)")
    ap.add_argument("--proposals", type=int, default=2000)
    ap.add_argument("--mode", choices=["auto", "services", "bulk"], default="auto", help="seeding mode")
    ap.add_argument("-d", "--duration", type=float, default=15, help="seconds per wrk run (default 15)")
    ap.add_argument("-c", "--connections", type=int, default=10)
    ap.add_argument("-t", "--threads", type=int, default=2)
    ap.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    ap.add_argument("--warmup", type=float, default=3, help="seconds of load before measuring (default 3)")
    ap.add_argument("--voters", type=int, default=200, help="concurrent voters, 0 to skip (default 200)")
    ap.add_argument("--supports-per-voter", type=int, default=5)
    ap.add_argument("--cpu-requests", type=int, default=200, help="requests timed in process per page")
    ap.add_argument("--cprofile", action="store_true", help="print where the CPU time goes (cProfile)")
    ap.add_argument("--engine", choices=["auto", "wrk", "python"], default="auto")
    ap.add_argument("--no-load", action="store_true", help="in-process figures only (no gunicorn, no wrk)")
    ap.add_argument("--no-page-limit", action="store_true", help="skip /work/shared/tools/page-limit")
    ap.add_argument("--keep", action="store_true", help="keep the fresh database and print where it is")
    ap.add_argument("--json", action="store_true", help="also print the results as one JSON object")
    a = ap.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="decidim-bench-proposals-"))
    database: Database | None = None
    if a.database_url:
        url, kind = a.database_url, "postgresql" if a.database_url.startswith("postgresql") else "sqlite"
    else:
        kind = "postgresql" if a.postgresql else "sqlite"
        database = Database(kind, workdir)
        url = database.url
    load1, _, _ = os.getloadavg()
    print(f"machine: {os.cpu_count()} CPUs, load average {load1:.2f} (1 min)")
    secret = secrets.token_urlsafe(32)
    server: Server | None = None
    result: dict[str, Any] = {"backend": kind, "pages": []}
    failed = False
    try:
        if database is not None:
            print(f"database: {database.describe()}", flush=True)
            subprocess.run([sys.executable, str(BENCH / "proposals_seed.py"), "--proposals", str(a.proposals),
                            "--mode", a.mode, "--database-url", url], check=True, cwd=ROOT)
        app = _app(url, secret)
        where = locate(app)
        pages = where["pages"]
        result.update(proposals=where["proposals"], hot_comments=where["hot_comments"])
        from queries import profile

        sql = {r["page"]: r for r in profile(url, list(pages.values()), repeat=20)}
        cpu = cpu_per_request(app, pages, a.cpu_requests, a.cprofile)
        for label, page in pages.items():
            row = {"label": label, "page": page, "sql": sql[page]["queries"], "app_ms": sql[page]["median_ms"],
                   "cpu_ms": cpu[label], "status": sql[page]["status"]}
            result["pages"].append(row)
            print(f"{label}: {row['sql']} SQL statements, {row['app_ms']:.1f} ms wall, "
                  f"{row['cpu_ms']:.1f} ms CPU per request in process ({page})", flush=True)
        if not a.no_load:
            server = Server(url, a.workers, workdir / "gunicorn.log", secret_key=secret)
            server.wait_ready()
            for row in result["pages"]:
                full = server.base + row["page"]
                status, size = fetch(full)
                row.update(status=status, bytes=size)
                if status != 200:
                    failed = True
                    print(f"{row['label']}: HTTP {status}, not loaded")
                    continue
                measure(full, duration=a.warmup, connections=a.connections, threads=a.threads, engine=a.engine)
                meter = CpuMeter(server.proc.pid, database.backend_pids if database and kind == "postgresql" else None)
                t_run = time.perf_counter()
                r = measure(full, duration=a.duration, connections=a.connections, threads=a.threads, engine=a.engine)
                used = meter.stop(time.perf_counter() - t_run)
                row.update(engine=r.engine, rps=r.rps, p50_ms=r.p50_ms, p99_ms=r.p99_ms, errors=r.errors,
                           other_cpu=used["other"] if used else None)
                failed |= r.errors > 0
                print(f"{row['label']}: {r.rps:.1f} req/s, p50 {r.p50_ms} ms, p99 {r.p99_ms} ms, {r.errors} errors"
                      + (f"; CPUs: server {used['server']:.2f}, other {used['other']:.2f}" if used else ""), flush=True)
                if not a.no_page_limit and PAGE_LIMIT.exists() and shutil.which("wrk"):
                    out, ratio = run_page_limit(full, a)
                    row["page_limit"] = ratio
                    print("\n".join("  " + line for line in out.splitlines()), flush=True)
            if a.voters > 0:
                voters = prepare_voters(app, where["component_id"], a.voters, a.supports_per_voter)
                before = count_supports(app, where["component_id"])
                r = race(server.base, voters)
                made = count_supports(app, where["component_id"]) - before
                check = consistency(app, where["component_id"])
                asked = a.voters * a.supports_per_voter
                statuses = ", ".join(f"{k}: {v}" for k, v in sorted(r["statuses"].items()))
                result["voters"] = {"voters": a.voters, "asked": asked, "made": made, **r,
                                    "supports_per_s": made / r["wall_s"], "consistency": check}
                print(f"{a.voters} voters over HTTP, {asked} supports asked: {made} made in {r['wall_s']:.1f} s = "
                      f"{made / r['wall_s']:.1f} supports/s; latency p50 {r['p50_ms']:.0f} ms, "
                      f"p99 {r['p99_ms']:.0f} ms; HTTP statuses {statuses}; {check}", flush=True)
                failed |= made != asked or check.startswith("INCONSISTENT")
    finally:
        if server is not None:
            server.stop()
        if database is not None:
            if a.keep:
                print(f"kept: {database.describe()}" + (f" (and {workdir})" if kind == "sqlite" else ""))
            else:
                database.drop()
        if not a.keep:
            shutil.rmtree(workdir, ignore_errors=True)

    print()
    print(f"{kind}, {result['proposals']} proposals, gunicorn --workers {a.workers}, "
          f"wrk -t{a.threads} -c{a.connections} -d{a.duration:g}s --latency")
    head = (f"{'page':<28} {'SQL':>4} {'app ms':>7} {'CPU ms':>7} {'req/s':>8} {'p50':>9} {'p99':>9} "
            f"{'errors':>6} {'page/limit':>10} {'other CPU':>9}")
    print(head + "\n" + "-" * len(head))

    def f(v: Any, spec: str, suffix: str = "") -> str:
        return "-" if v is None else f"{v:{spec}}{suffix}"

    for row in result["pages"]:
        print(f"{row['label']:<28} {row['sql']:>4} {f(row['app_ms'], '.1f'):>7} {f(row['cpu_ms'], '.1f'):>7} "
              f"{f(row.get('rps'), '.1f'):>8} {f(row.get('p50_ms'), '.1f', ' ms'):>9} "
              f"{f(row.get('p99_ms'), '.1f', ' ms'):>9} {row.get('errors', 0):>6} "
              f"{f(row.get('page_limit'), '.1f', '%'):>10} {f(row.get('other_cpu'), '.2f'):>9}")
    if a.json:
        print(json.dumps(result))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
