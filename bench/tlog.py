"""Benchmarks of the verifiable log (issue 4): appends per second, proof generation at 10 million
entries, and the time from a decision's commit to a signed checkpoint covering it.

    .venv/bin/python bench/tlog.py appends [--postgresql] [--entries 51200]
    .venv/bin/python bench/tlog.py proofs [--postgresql] [--size 10000000] [--samples 2000]
    .venv/bin/python bench/tlog.py latency [--postgresql] [--decisions 200]

Each run uses a fresh database (SQLite in a temporary folder, or a PostgreSQL database created and
dropped through $DECIDIM_BENCH_PG_URL) and prints its figures. Commits are durable: SQLite runs in
WAL mode with synchronous=FULL, PostgreSQL with its defaults (fsync on, synchronous_commit on).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG_ADMIN = os.environ.get("DECIDIM_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def fresh_database(postgresql: bool) -> tuple[str, callable]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    if not postgresql:
        folder = tempfile.mkdtemp(prefix="decidim-tlog-")
        return f"sqlite:///{folder}/bench.sqlite3", lambda: None
    name = f"decidim_tlog_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    return str(make_url(PG_ADMIN).set(database=name)), drop


def make_app(url: str):  # type: ignore[no-untyped-def]
    from decidim_py import create_app
    from decidim_py.migrate import upgrade

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "IDENTITY_SECRET": "i", "PERSON_SECRET": "p",
                      "ENCRYPTION_SECRET": "e", "LOG_SECRET": "l", "LOG_INTEGRATE_INLINE": False,
                      "RATELIMIT_ENABLED": False})
    upgrade(app)
    return app


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def bench_appends(args: argparse.Namespace) -> None:
    from sqlalchemy import insert

    from decidim_py.db import db
    from decidim_py.testing import make_organization
    from decidim_py.transparency.canonical import canonical_json
    from decidim_py.transparency.log import integrate
    from decidim_py.transparency.models import DecisionRecord, LogOutbox

    url, drop = fresh_database(args.postgresql)
    try:
        app = make_app(url)
        with app.app_context():
            org = make_organization(host="bench.example.test")
            db.session.commit()
            print(f"filling the outbox with {args.entries:,} decisions ...", flush=True)
            rows, outbox = [], []
            for i in range(args.entries):
                rows.append({"organization_id": org.id, "actor_role": "system", "action": "processes.process.update",
                             "resource_type": "Organization", "resource_id": org.id, "visibility": "public",
                             "changes": {"n": i}})
            db.session.execute(insert(DecisionRecord), rows)
            ids = [r.id for r in db.session.query(DecisionRecord.id).order_by(DecisionRecord.id)]
            for i, rid in enumerate(ids):
                entry = canonical_json({"kind": "processes.process.update", "schema": 1,
                                        "at": "2026-12-01T00:00:00Z", "actor": None,
                                        "subject": {"type": "Organization", "id": org.id}, "space": None,
                                        "component": None,
                                        "content_sha256": hashlib.sha256(str(i).encode()).hexdigest(),
                                        "visibility": "public", "supersedes": None})
                outbox.append({"organization_id": org.id, "record_id": rid, "entry": entry})
            db.session.execute(insert(LogOutbox), outbox)
            db.session.commit()
            print("integrating in batches of 256 (one durable transaction and one signed checkpoint each) ...",
                  flush=True)
            started = time.perf_counter()
            result = integrate(org)
            elapsed = time.perf_counter() - started
        backend = "PostgreSQL" if args.postgresql else "SQLite"
        batches = -(-result.integrated // 256)
        print(f"{backend}: {result.integrated:,} entries in {elapsed:.2f} s = {result.integrated / elapsed:,.0f} "
              f"appends/s ({batches:,} batches, {elapsed / batches * 1000:.1f} ms per batch of 256)")
    finally:
        drop()


def bench_proofs(args: argparse.Namespace) -> None:
    """Tiles for a tree of `size` leaves written directly (as the integrator would have), then
    inclusion and consistency proofs generated from the database with cold caches."""
    from sqlalchemy import insert

    from decidim_py.db import db
    from decidim_py.testing import make_organization
    from decidim_py.transparency import merkle
    from decidim_py.transparency.log import TileStore
    from decidim_py.transparency.models import LogTile

    url, drop = fresh_database(args.postgresql)
    try:
        app = make_app(url)
        with app.app_context():
            org = make_organization(host="bench.example.test")
            db.session.commit()
            size = args.size
            print(f"building the tiles of a tree of {size:,} leaves ...", flush=True)
            t0 = time.perf_counter()
            level_hashes = [merkle.leaf_hash(i.to_bytes(8, "big")) for i in range(size)]
            tile_level = 0
            while level_hashes:
                rows = []
                for n in range(0, len(level_hashes), 256):
                    rows.append({"organization_id": org.id, "level": tile_level, "index": n // 256,
                                 "data": b"".join(level_hashes[n:n + 256])})
                for k in range(0, len(rows), 2000):
                    db.session.execute(insert(LogTile), rows[k:k + 2000])
                db.session.commit()
                nxt = []
                for n in range(0, len(level_hashes) - len(level_hashes) % 256, 256):
                    layer = level_hashes[n:n + 256]
                    while len(layer) > 1:
                        layer = [merkle.node_hash(layer[i], layer[i + 1]) for i in range(0, len(layer), 2)]
                    nxt.append(layer[0])
                level_hashes, tile_level = nxt, tile_level + 1
            print(f"  done in {time.perf_counter() - t0:.1f} s ({tile_level} tile levels)", flush=True)
            rng = random.Random(7)
            from decidim_py.transparency.log import forget_full_tiles

            root = merkle.tree_hash(size, TileStore(db.session, org.id, shared_cache=False).get)
            results = {}
            for mode in ("cold", "warm"):
                # cold: no tile cached in the process, every tile read from the database;
                # warm: as a serving process runs, full tiles (immutable) kept with their hash pyramids
                forget_full_tiles()
                if mode == "warm":
                    for _ in range(args.samples):  # warm-up pass over random proofs
                        merkle.inclusion_proof(rng.randrange(size), size,
                                               get_many=TileStore(db.session, org.id).get_many)
                inc, con = [], []
                for _ in range(args.samples):
                    index = rng.randrange(size)
                    if mode == "cold":
                        forget_full_tiles()
                    t = time.perf_counter()
                    store = TileStore(db.session, org.id)
                    proof = merkle.inclusion_proof(index, size, get_many=store.get_many)
                    inc.append((time.perf_counter() - t) * 1000)
                    assert merkle.verify_inclusion(merkle.leaf_hash(index.to_bytes(8, "big")), index, size, proof,
                                                   root)
                    old = rng.randrange(1, size)
                    if mode == "cold":
                        forget_full_tiles()
                    t = time.perf_counter()
                    store = TileStore(db.session, org.id)
                    merkle.consistency_proof(old, size, get_many=store.get_many)
                    con.append((time.perf_counter() - t) * 1000)
                results[mode] = (inc, con)
        backend = "PostgreSQL" if args.postgresql else "SQLite"
        print(f"{backend}, tree of {size:,} entries, {args.samples:,} proofs of each kind:")
        for mode, (inc, con) in results.items():
            print(f"  {mode:4}  inclusion proof:   p50 {statistics.median(inc):.3f} ms   p99 {pct(inc, 99):.3f} ms")
            print(f"  {mode:4}  consistency proof: p50 {statistics.median(con):.3f} ms   p99 {pct(con, 99):.3f} ms")
    finally:
        drop()


def bench_latency(args: argparse.Namespace) -> None:
    """Decisions through a real request (publish/unpublish), inline integration after the commit:
    the time from the end of the commit to the signed checkpoint that covers the decision."""
    from decidim_py.db import db
    from decidim_py.testing import IsolatedClient, login_as, make_admin, make_organization, make_process
    from decidim_py.transparency.log import latest_checkpoint

    url, drop = fresh_database(args.postgresql)
    try:
        app = make_app(url)
        app.config.update(LOG_INTEGRATE_INLINE=True, WTF_CSRF_ENABLED=False)
        app.test_client_class = IsolatedClient
        import decidim_py.db as dbmod

        timings: list[float] = []
        original = dbmod.run_after_commit

        def timed() -> None:
            t = time.perf_counter()
            original()
            timings.append((time.perf_counter() - t) * 1000)

        dbmod.run_after_commit = timed
        with app.app_context():
            org = make_organization(host="bench.example.test")
            admin = make_admin(org)
            make_process(org, slug="latency", steps=1)
            db.session.commit()
            client = app.test_client()
            client.host = org.host
            login_as(client, admin)
            timings.clear()
            for i in range(args.decisions):
                action = "unpublish" if i % 2 == 0 else "publish"
                r = client.post(f"/admin/processes/latency/{action}")
                assert r.status_code == 303, r.status_code
            db.session.rollback()
            covered = latest_checkpoint(db.session, org.id).size
        dbmod.run_after_commit = original
        backend = "PostgreSQL" if args.postgresql else "SQLite"
        print(f"{backend}: {args.decisions} decisions, each covered by a signed checkpoint when its request "
              f"returned (log size {covered}); commit → signed checkpoint: p50 {statistics.median(timings):.1f} ms, "
              f"p99 {pct(timings, 99):.1f} ms, max {max(timings):.1f} ms (target: 1,500 ms)")
    finally:
        drop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("appends")
    p.add_argument("--entries", type=int, default=51_200)
    p = sub.add_parser("proofs")
    p.add_argument("--size", type=int, default=10_000_000)
    p.add_argument("--samples", type=int, default=2000)
    p = sub.add_parser("latency")
    p.add_argument("--decisions", type=int, default=200)
    for p in sub.choices.values():
        p.add_argument("--postgresql", action="store_true")
    args = ap.parse_args()
    {"appends": bench_appends, "proofs": bench_proofs, "latency": bench_latency}[args.command](args)


if __name__ == "__main__":
    main()
