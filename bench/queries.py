"""SQL statements per request: which queries a page runs, and how many of each.

    python bench/queries.py --database-url URL [--page /processes/ ...] [--repeat 20] [--show]

Runs the pages in process with Flask's test client (Host 127.0.0.1, anonymous visitor), counts
the statements sent to the database with a SQLAlchemy `before_cursor_execute` listener, and
prints for each page the number of statements per request, the statements grouped by their SQL
text (with --show), and the median time per request in process (no HTTP server, no network),
split into time inside the database driver's `execute` (SQL), time rendering the template (from
Flask's before_render_template to template_rendered signals) and the rest (routing, ORM object
loading, session, hooks). A count that grows with the number of items on the page is an N+1.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _shape(statement: str) -> str:
    """One line per kind of statement: literals and parameter lists folded."""
    text = " ".join(statement.split())
    text = re.sub(r"\(__\[POSTCOMPILE_\w+\]\)", "(...)", text)
    text = re.sub(r"IN \((?:[?%s$\d\w(), ]+)\)", "IN (...)", text)
    return text


def profile(database_url: str, pages: list[str], repeat: int = 20) -> list[dict[str, Any]]:
    from flask import before_render_template, template_rendered
    from sqlalchemy import event

    from decidim_py import create_app
    from decidim_py.db import get_engine

    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "bench-queries"})
    with app.app_context():
        engine = get_engine()
    statements: list[str] = []
    clock = {"sql": 0.0, "render": 0.0, "sql_start": 0.0, "render_start": 0.0}

    def before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        statements.append(statement)
        clock["sql_start"] = time.perf_counter()

    def after(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        clock["sql"] += time.perf_counter() - clock["sql_start"]

    def render_start(sender: Any, **extra: Any) -> None:
        clock["render_start"] = time.perf_counter()

    def render_end(sender: Any, **extra: Any) -> None:
        clock["render"] += time.perf_counter() - clock["render_start"]

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    before_render_template.connect(render_start, app)
    template_rendered.connect(render_end, app)
    client = app.test_client()
    results = []
    try:
        for page in pages:
            client.get(page, base_url="http://127.0.0.1")  # warm: templates compiled, caches filled
            statements.clear()
            resp = client.get(page, base_url="http://127.0.0.1")
            one = list(statements)
            total, sql, render = [], [], []
            for _ in range(repeat):
                clock["sql"] = clock["render"] = 0.0
                t0 = time.perf_counter()
                client.get(page, base_url="http://127.0.0.1")
                total.append((time.perf_counter() - t0) * 1e3)
                sql.append(clock["sql"] * 1e3)
                render.append(clock["render"] * 1e3)
            results.append({
                "page": page,
                "status": resp.status_code,
                "bytes": len(resp.data),
                "queries": len(one),
                "by_shape": Counter(_shape(s) for s in one).most_common(),
                "median_ms": statistics.median(total),
                "sql_ms": statistics.median(sql),
                "render_ms": statistics.median(render),
            })
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
        before_render_template.disconnect(render_start, app)
        template_rendered.disconnect(render_end, app)
        engine.dispose()
    return results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--database-url", default=os.environ.get("DECIDIM_DATABASE_URL"))
    ap.add_argument("--page", action="append", dest="pages", metavar="PATH")
    ap.add_argument("--repeat", type=int, default=20, help="requests timed per page (default 20)")
    ap.add_argument("--show", action="store_true", help="print the statements, grouped")
    a = ap.parse_args(argv)
    if not a.database_url:
        ap.error("give --database-url or set DECIDIM_DATABASE_URL")
    for r in profile(a.database_url, a.pages or ["/processes/"], max(1, a.repeat)):
        print(f"{r['page']}: HTTP {r['status']}, {r['bytes']} bytes, {r['queries']} SQL statements; "
              f"median {r['median_ms']:.1f} ms in process = {r['sql_ms']:.1f} SQL execute + "
              f"{r['render_ms']:.1f} template + {r['median_ms'] - r['sql_ms'] - r['render_ms']:.1f} rest")
        if a.show:
            for shape, n in r["by_shape"]:
                print(f"  {n:>3} x {shape[:300]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
