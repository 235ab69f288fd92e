"""One command: fresh database, 500 processes, gunicorn with 2 workers, load, a table of figures.

    python bench/run.py [--postgresql] [--processes 500] [--page /processes/ ...] [--duration 15]
                        [--connections 16] [--threads 2] [--workers 2] [--repeat 1] [--warmup 3]
                        [--no-page-limit] [--engine auto|wrk|python] [--keep] [--json]

1. creates a database of its own: an SQLite file in a temporary folder (default), or with
   --postgresql a new PostgreSQL database (named decidim_bench_<pid>_<random>, created through
   $DECIDIM_BENCH_PG_URL, default postgresql+psycopg://postgres@127.0.0.1:5432/test) that is
   dropped at the end;
2. migrates and seeds it with bench/seed.py (the demo organisation + N processes);
3. counts the SQL statements each page runs (bench/queries.py, in process);
4. starts `gunicorn --workers 2 --bind 127.0.0.1:<free port> app:app` on that database, checks
   each page answers 200, warms the workers up, and loads each page with bench/load.py;
5. if /work/shared/tools/page-limit exists (and wrk is installed), runs it on each page: it serves
   a static copy of the page's bytes from gunicorn with the same number of workers and prints the
   ratio page/limit, i.e. how much of the server's capacity the application leaves;
6. prints a table, stops gunicorn and removes the database (unless --keep).

Requests go to http://127.0.0.1:PORT/..., so the demo organisation (host 127.0.0.1) answers.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
for p in (str(BENCH), str(ROOT)):
    if p not in sys.path:
        sys.path.insert(0, p)

from load import Result, measure  # noqa: E402

PAGE_LIMIT = Path("/work/shared/tools/page-limit")
PG_ADMIN_URL = (os.environ.get("DECIDIM_BENCH_PG_URL") or os.environ.get("DECIDIM_TEST_PG_URL")
                or "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def gunicorn_command() -> list[str]:
    exe = ROOT / ".venv" / "bin" / "gunicorn"
    if exe.exists():
        return [str(exe)]
    found = shutil.which("gunicorn")
    return [found] if found else [sys.executable, "-m", "gunicorn"]


# --- CPU accounting (Linux): who used the CPUs during a run ------------------------------------


def _cpu_total() -> float | None:
    """Busy CPU seconds of the whole machine since boot (all CPUs), from /proc/stat."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _proc_cpu(pid: int) -> float:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    rest = stat.rsplit(")", 1)[1].split()  # fields after "pid (comm)": state is rest[0]
    return (int(rest[11]) + int(rest[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _tree(pid: int) -> list[int]:
    """The pid and its direct children (gunicorn: the master and its workers)."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    return [pid] + [int(c) for c in children]


class CpuMeter:
    """CPU seconds used over a run by the server, the load driver, the database server (PostgreSQL
    backends serving the benchmark database, when `database_pids` is given) and everything else."""

    def __init__(self, server_pid: int, database_pids: Callable[[], list[int]] | None = None) -> None:
        self.server_pid = server_pid
        self.database_pids = database_pids
        self.start = self._sample()

    def _sample(self) -> dict[str, Any]:
        import resource

        me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        pids = self.database_pids() if self.database_pids else []
        return {
            "total": _cpu_total(),
            "server": sum(_proc_cpu(p) for p in _tree(self.server_pid)),
            # Our own process (Python engine) plus reaped children (wrk; gunicorn is still running).
            "driver": me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime,
            "database": {p: _proc_cpu(p) for p in pids},
        }

    def stop(self, seconds: float) -> dict[str, float] | None:
        """Mean number of CPUs busy during the run, per party."""
        end = self._sample()
        if self.start["total"] is None or end["total"] is None or seconds <= 0:
            return None
        total = end["total"] - self.start["total"]
        server = end["server"] - self.start["server"]
        driver = end["driver"] - self.start["driver"]
        database = sum(v - self.start["database"].get(p, 0.0) for p, v in end["database"].items())
        return {"server": server / seconds, "driver": driver / seconds, "database": database / seconds,
                "other": max(0.0, total - server - driver - database) / seconds}


# --- databases ---------------------------------------------------------------------------------


class Database:
    """A throw-away database: an SQLite file in `workdir`, or a new PostgreSQL database."""

    def __init__(self, kind: str, workdir: Path) -> None:
        self.kind = kind
        self.name: str | None = None
        self._admin_engine: Any = None
        if kind == "sqlite":
            self.url = f"sqlite:///{workdir / 'bench.sqlite3'}"
            return
        from sqlalchemy.engine import make_url

        self.name = f"decidim_bench_{os.getpid()}_{secrets.token_hex(3)}"
        self._admin(f'CREATE DATABASE "{self.name}"')
        self.url = make_url(PG_ADMIN_URL).set(database=self.name).render_as_string(hide_password=False)

    @staticmethod
    def _admin(sql: str) -> None:
        from sqlalchemy import create_engine, text

        engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(text(sql))
        finally:
            engine.dispose()

    def backend_pids(self) -> list[int]:
        """PostgreSQL backends connected to the benchmark database (same machine: their CPU is visible)."""
        if self.kind != "postgresql":
            return []
        from sqlalchemy import create_engine, text

        if self._admin_engine is None:
            self._admin_engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", pool_size=1)
        with self._admin_engine.connect() as conn:
            rows = conn.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = :d"), {"d": self.name})
            return [int(r[0]) for r in rows]

    def describe(self) -> str:
        return f"PostgreSQL database {self.name}" if self.kind == "postgresql" else self.url

    def drop(self) -> None:
        if self._admin_engine is not None:
            self._admin_engine.dispose()
        if self.kind == "postgresql" and self.name:
            self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


# --- the server --------------------------------------------------------------------------------


class Server:
    """gunicorn serving app:app on a free loopback port."""

    def __init__(self, database_url: str, workers: int, logfile: Path, secret_key: str | None = None) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.command = gunicorn_command()
        self.logfile = logfile
        # a driver that signs sessions in (bench/proposals_load.py's voters) passes the key it signs with
        env = {**os.environ, "DECIDIM_DATABASE_URL": database_url,
               "DECIDIM_SECRET_KEY": secret_key or secrets.token_urlsafe(32)}
        self._log = open(logfile, "wb")  # closed in stop()
        self.proc = subprocess.Popen(
            self.command + ["--workers", str(workers), "--bind", f"127.0.0.1:{self.port}",
                            "--chdir", str(ROOT), "--log-level", "warning", "app:app"],
            cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited ({self.proc.returncode}):\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.base + "/", timeout=5) as r:
                    r.read()
                return
            except urllib.error.HTTPError:
                return  # it answers; the page check reports the status
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer within {timeout:.0f} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        self._log.flush()
        text = self.logfile.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()  # SIGTERM to the master: graceful stop of its workers
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()


def fetch(url: str) -> tuple[int, int]:
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, len(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, len(exc.read())


def run_page_limit(url: str, a: argparse.Namespace) -> tuple[str, float | None]:
    cmd = [sys.executable, str(PAGE_LIMIT), url, "--workers", str(a.workers), "-t", str(a.threads),
           "-c", str(a.connections), "-d", str(max(1, round(a.duration)))]
    gunicorn = gunicorn_command()
    if len(gunicorn) == 1:  # otherwise page-limit runs `sys.executable -m gunicorn`, i.e. this Python's
        cmd += ["--gunicorn", gunicorn[0]]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=2 * a.duration + 120)
    except subprocess.TimeoutExpired:
        return "page-limit: timed out", None
    out = (proc.stdout + proc.stderr).rstrip()
    m = re.search(r"page/limit = ([\d.]+)%", proc.stdout)
    return out, float(m.group(1)) if m else None


# --- main --------------------------------------------------------------------------------------


def _ms(v: float | None) -> str:
    return "-" if v is None else f"{v:.1f} ms"


def _median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--postgresql", action="store_true", help="a fresh PostgreSQL database (dropped after)")
    ap.add_argument("--processes", type=int, default=500)
    ap.add_argument("--page", action="append", dest="pages", metavar="PATH",
                    help="page to load, repeatable (default /processes/)")
    ap.add_argument("-d", "--duration", type=float, default=15, help="seconds per load run (default 15)")
    ap.add_argument("-c", "--connections", type=int, default=16)
    ap.add_argument("-t", "--threads", type=int, default=2)
    ap.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    ap.add_argument("--repeat", type=int, default=1, help="load runs per page; the table shows medians")
    ap.add_argument("--warmup", type=float, default=3, help="seconds of load before measuring (default 3)")
    ap.add_argument("--engine", choices=["auto", "wrk", "python"], default="auto")
    ap.add_argument("--no-page-limit", action="store_true", help="skip /work/shared/tools/page-limit")
    ap.add_argument("--keep", action="store_true", help="keep the database and print where it is")
    ap.add_argument("--json", action="store_true", help="also print the results as one JSON object")
    a = ap.parse_args(argv)
    pages = a.pages or ["/processes/"]
    for page in pages:
        if not page.startswith("/"):
            ap.error(f"--page takes a path starting with '/', not {page!r}")
    if a.repeat < 1 or a.workers < 1:
        ap.error("--repeat and --workers must be >= 1")

    kind = "postgresql" if a.postgresql else "sqlite"
    workdir = Path(tempfile.mkdtemp(prefix="decidim-bench-"))
    load1, load5, _ = os.getloadavg()
    print(f"machine: {os.cpu_count()} CPUs, load average {load1:.2f} (1 min) {load5:.2f} (5 min)")
    if load1 > 0.5 * (os.cpu_count() or 1):
        print("  warning: the machine is busy; figures will be lower and noisier than on an idle one")
    db = Database(kind, workdir)
    server: Server | None = None
    rows: list[dict[str, Any]] = []
    try:
        print(f"database: {db.describe()}")
        t0 = time.perf_counter()
        subprocess.run([sys.executable, str(BENCH / "seed.py"), "--processes", str(a.processes),
                        "--database-url", db.url], check=True, cwd=ROOT)
        seed_seconds = time.perf_counter() - t0

        from queries import profile

        sql = {r["page"]: r for r in profile(db.url, pages, repeat=20)}

        server = Server(db.url, a.workers, workdir / "gunicorn.log")
        server.wait_ready()
        print(f"gunicorn: {' '.join(server.command)} --workers {a.workers} --bind 127.0.0.1:{server.port} "
              f"app:app")
        for page in pages:
            url = server.base + page
            status, size = fetch(url)
            prof = sql[page]
            row: dict[str, Any] = {"page": page, "status": status, "bytes": size, "sql": prof["queries"],
                                   "in_process_ms": prof["median_ms"], "sql_ms": prof["sql_ms"],
                                   "render_ms": prof["render_ms"]}
            print(f"{page}: {prof['queries']} SQL statements; in process {prof['median_ms']:.1f} ms = "
                  f"{prof['sql_ms']:.1f} SQL execute + {prof['render_ms']:.1f} template + "
                  f"{prof['median_ms'] - prof['sql_ms'] - prof['render_ms']:.1f} rest", flush=True)
            rows.append(row)
            if status != 200:
                print(f"{page}: HTTP {status}, not loaded")
                continue
            measure(url, duration=a.warmup, connections=a.connections, threads=a.threads, engine=a.engine)
            runs: list[Result] = []
            others: list[float | None] = []
            database_cpu: list[float | None] = []
            for i in range(a.repeat):
                meter = CpuMeter(server.proc.pid, db.backend_pids if kind == "postgresql" else None)
                t_run = time.perf_counter()
                r = measure(url, duration=a.duration, connections=a.connections, threads=a.threads,
                            engine=a.engine)
                cpu = meter.stop(time.perf_counter() - t_run)
                runs.append(r)
                others.append(cpu["other"] if cpu else None)
                database_cpu.append(cpu["database"] if cpu else None)
                usage = (f"; CPUs busy: server {cpu['server']:.2f}, driver {cpu['driver']:.2f}, "
                         + (f"PostgreSQL {cpu['database']:.2f}, " if kind == "postgresql" else "")
                         + f"other processes {cpu['other']:.2f}" if cpu else "")
                print(f"run {i + 1}/{a.repeat} {page}: {r.rps:.1f} req/s, p50 {_ms(r.p50_ms)}, "
                      f"p99 {_ms(r.p99_ms)}, {r.errors} errors{usage}", flush=True)
            row.update(engine=runs[0].engine, runs=[asdict(r) for r in runs],
                       rps=_median([r.rps for r in runs]), p50_ms=_median([r.p50_ms for r in runs]),
                       p99_ms=_median([r.p99_ms for r in runs]), errors=sum(r.errors for r in runs),
                       best_rps=max(r.rps for r in runs), other_cpu=_median(others),
                       database_cpu=_median(database_cpu))
            if not a.no_page_limit and PAGE_LIMIT.exists() and shutil.which("wrk"):
                out, ratio = run_page_limit(url, a)
                row["page_limit"] = ratio
                print(f"page-limit {url}:\n" + "\n".join("  " + line for line in out.splitlines()))
    finally:
        if server is not None:
            server.stop()
        if a.keep:
            print(f"kept: {db.describe()}" + (f" (and {workdir})" if kind == "sqlite" else ""))
        else:
            db.drop()
            shutil.rmtree(workdir, ignore_errors=True)

    print()
    engine = next((r["engine"] for r in rows if "engine" in r), a.engine)
    driver = (f"wrk -t{a.threads} -c{a.connections} -d{a.duration:g}s --latency" if engine == "wrk"
              else f"python driver, {a.connections} connections, {a.duration:g} s")
    print(f"{kind}, {a.processes} seeded processes (+5 demo; seeded in {seed_seconds:.1f} s), "
          f"gunicorn --workers {a.workers}, {driver}"
          + (f", median of {a.repeat} runs" if a.repeat > 1 else ""))
    columns = [("page", 28), ("status", 6), ("bytes", 7), ("SQL", 4), ("app ms", 7), ("req/s", 8),
               ("p50", 10), ("p99", 10), ("errors", 6), ("page/limit", 10), ("other CPU", 9)]
    if kind == "postgresql":
        columns.append(("PG CPU", 6))
    if a.repeat > 1:
        columns.append(("best req/s", 10))

    def line(values: list[str]) -> str:
        cells = [v.rjust(w) for v, (_, w) in zip(values, columns, strict=True)]
        cells[0] = values[0].ljust(columns[0][1])
        return " ".join(cells)

    def fmt(value: Any, spec: str, suffix: str = "") -> str:
        return "-" if value is None else f"{value:{spec}}{suffix}"

    head = line([name for name, _ in columns])
    print(head)
    print("-" * len(head))
    for row in rows:
        values = [row["page"], str(row["status"]), str(row["bytes"]), str(row["sql"]),
                  fmt(row["in_process_ms"], ".1f"), fmt(row.get("rps"), ".1f"), _ms(row.get("p50_ms")),
                  _ms(row.get("p99_ms")), str(row.get("errors", 0)), fmt(row.get("page_limit"), ".1f", "%"),
                  fmt(row.get("other_cpu"), ".2f")]
        if kind == "postgresql":
            values.append(fmt(row.get("database_cpu"), ".2f"))
        if a.repeat > 1:
            values.append(fmt(row.get("best_rps"), ".1f"))
        print(line(values))
    if a.json:
        print(json.dumps({"backend": kind, "processes": a.processes, "workers": a.workers,
                          "connections": a.connections, "threads": a.threads, "duration": a.duration,
                          "seed_seconds": round(seed_seconds, 1), "pages": rows}))
    failed = any(r["status"] != 200 or r.get("errors") for r in rows)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
