"""Load driver: requests/s, p50 and p99 latency and errors for one page of a local server.

    python bench/load.py http://127.0.0.1:8000/processes/ [--duration 15] [--connections 16]
                         [--threads 2] [--timeout 10] [--engine auto|wrk|python] [--json]

With `wrk` on the PATH (Debian package `wrk`) it runs `wrk --latency` and parses its report;
otherwise (or with --engine python) it falls back to a pure-Python driver: one thread per
connection, each sending GET requests one after the other over a keep-alive `http.client`
connection (reconnecting when the server closes it) until the duration is over.

Both engines are closed-loop: each connection sends its next request when the previous answer
has arrived, so requests/s is the throughput the server sustains with that many requests in
flight, and latency is the time from sending a request to reading the whole answer. Errors are
socket errors, timeouts and answers with a status of 400 or more. The Python engine is itself
CPU-bound (the GIL): above a few hundred requests/s it measures itself more than the server.

Only loopback addresses are accepted (127.0.0.0/8, ::1, localhost): this is a benchmark for a
server you started yourself, not a tool to load somebody else's.
"""

from __future__ import annotations

import argparse
import http.client
import ipaddress
import json
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from dataclasses import asdict, dataclass, field
from typing import Any

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


@dataclass
class Result:
    engine: str
    url: str
    duration: float  # seconds actually measured
    connections: int
    threads: int
    requests: int
    rps: float
    p50_ms: float | None
    p99_ms: float | None
    errors: int  # socket errors + timeouts + status >= 400
    detail: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        def ms(v: float | None) -> str:
            return "-" if v is None else f"{v:.2f} ms"

        lines = [
            f"{self.url}  ({self.engine}, {self.duration:.1f} s, {self.connections} connections, "
            f"{self.threads} threads)",
            f"  requests  {self.requests}",
            f"  req/s     {self.rps:.1f}",
            f"  p50       {ms(self.p50_ms)}",
            f"  p99       {ms(self.p99_ms)}",
            f"  errors    {self.errors}" + (
                "  (" + ", ".join(f"{k} {v}" for k, v in self.detail.items() if v) + ")"
                if self.errors else ""
            ),
        ]
        return "\n".join(lines)


def require_loopback(url: str) -> urllib.parse.SplitResult:
    """Parse an http:// URL and refuse anything that does not point at this machine."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "http":
        raise ValueError(f"only http:// URLs are supported, not {url!r}")
    host = parts.hostname or ""
    if host == "localhost":
        addresses = {info[4][0] for info in socket.getaddrinfo(host, parts.port or 80)}
    else:
        addresses = {host}
    for address in addresses:
        try:
            ok = ipaddress.ip_address(address).is_loopback
        except ValueError:
            ok = False
        if not ok:
            raise ValueError(f"refusing {url!r}: loopback addresses only (127.0.0.0/8, ::1, localhost)")
    return parts


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text.strip())
    if not m:
        raise ValueError(f"cannot read wrk latency {text!r}")
    return float(m.group(1)) * UNITS[m.group(2)]


def parse_wrk(out: str) -> dict[str, Any]:
    """The figures of a `wrk --latency` report."""
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", out, re.M)
    total = re.search(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m|h)", out, re.M)
    if not rps or not total:
        raise ValueError("unexpected wrk output:\n" + out)
    latency = {p: _ms(v) for p, v in re.findall(r"^\s+(\d+)%\s+(\S+)\s*$", out, re.M)}
    detail = {"connect": 0, "read": 0, "write": 0, "timeout": 0, "status>=400": 0}
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if sock:
        for key, value in zip(("connect", "read", "write", "timeout"), sock.groups(), strict=True):
            detail[key] = int(value)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if non2xx:
        detail["status>=400"] = int(non2xx.group(1))
    return {
        "rps": float(rps.group(1)),
        "requests": int(total.group(1)),
        "duration": _ms(total.group(2) + total.group(3)) / 1e3,
        "p50_ms": latency.get("50"),
        "p99_ms": latency.get("99"),
        "detail": detail,
    }


def run_wrk(url: str, duration: float, connections: int, threads: int, timeout: float,
            headers: dict[str, str] | None = None) -> Result:
    require_loopback(url)
    threads = max(1, min(threads, connections))  # wrk needs at least one connection per thread
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(duration))}s",
           f"--timeout={max(1, round(timeout))}s", "--latency"]
    for name, value in (headers or {}).items():
        cmd += ["-H", f"{name}: {value}"]
    cmd.append(url)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + timeout + 30)
    if proc.returncode != 0:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()}")
    figures = parse_wrk(proc.stdout)
    return Result(
        engine="wrk", url=url, duration=figures["duration"], connections=connections, threads=threads,
        requests=figures["requests"], rps=figures["rps"], p50_ms=figures["p50_ms"],
        p99_ms=figures["p99_ms"], errors=sum(figures["detail"].values()), detail=figures["detail"],
    )


def percentile(sorted_values: list[float], q: float) -> float | None:
    """Nearest-rank percentile of an already sorted list (q in 0..100)."""
    if not sorted_values:
        return None
    rank = max(1, -(-len(sorted_values) * q // 100))
    return sorted_values[int(rank) - 1]


def run_python(url: str, duration: float, connections: int, threads: int, timeout: float,
               headers: dict[str, str] | None = None) -> Result:
    """Closed-loop keep-alive driver: `connections` threads, each with its own connection."""
    parts = require_loopback(url)
    path = urllib.parse.urlunsplit(("", "", parts.path or "/", parts.query, ""))
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    send_headers = {"Host": parts.netloc, "User-Agent": "decidim-bench/1", **(headers or {})}
    start_barrier = threading.Barrier(connections + 1)
    lock = threading.Lock()
    latencies: list[float] = []
    detail = {"connect": 0, "read": 0, "timeout": 0, "status>=400": 0}
    window: dict[str, float] = {}

    def worker() -> None:
        mine: list[float] = []
        errs = dict.fromkeys(detail, 0)
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
        start_barrier.wait()
        deadline = window["end"]
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            try:
                conn.request("GET", path, headers=send_headers)
                resp = conn.getresponse()
                resp.read()
            except TimeoutError:
                errs["timeout"] += 1
                conn.close()
                continue
            except ConnectionRefusedError:
                errs["connect"] += 1
                conn.close()
                time.sleep(0.01)
                continue
            except (OSError, http.client.HTTPException):
                errs["read"] += 1
                conn.close()
                continue
            elapsed = time.perf_counter() - t0
            if time.perf_counter() > deadline:
                break  # finished after the end of the window: not counted (as wrk does)
            mine.append(elapsed * 1e3)
            if resp.status >= 400:
                errs["status>=400"] += 1
            if resp.will_close:
                conn.close()  # http.client reopens it on the next request
        conn.close()
        with lock:
            latencies.extend(mine)
            for key, value in errs.items():
                detail[key] += value

    pool = [threading.Thread(target=worker, daemon=True) for _ in range(connections)]
    for t in pool:
        t.start()
    window["start"] = time.perf_counter()
    window["end"] = window["start"] + duration
    start_barrier.wait()
    for t in pool:
        t.join(timeout=max(0.0, window["end"] - time.perf_counter()) + timeout + 5)
    measured = time.perf_counter() - window["start"]
    measured = min(measured, duration) if measured > 0 else duration
    latencies.sort()
    return Result(
        engine="python", url=url, duration=measured, connections=connections, threads=connections,
        requests=len(latencies), rps=len(latencies) / measured, p50_ms=percentile(latencies, 50),
        p99_ms=percentile(latencies, 99), errors=sum(detail.values()), detail=detail,
    )


def measure(url: str, *, duration: float = 15, connections: int = 16, threads: int = 2,
            timeout: float = 10, engine: str = "auto", headers: dict[str, str] | None = None) -> Result:
    if duration <= 0 or duration > 600:
        raise ValueError("duration must be between 0 and 600 seconds")
    if connections < 1 or connections > 1000:
        raise ValueError("connections must be between 1 and 1000")
    if engine == "auto":
        engine = "wrk" if shutil.which("wrk") else "python"
    if engine == "wrk":
        return run_wrk(url, duration, connections, threads, timeout, headers)
    if engine == "python":
        return run_python(url, duration, connections, threads, timeout, headers)
    raise ValueError(f"unknown engine {engine!r}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("url", help="http://127.0.0.1:PORT/path (loopback only)")
    ap.add_argument("-d", "--duration", type=float, default=15, help="seconds (default 15)")
    ap.add_argument("-c", "--connections", type=int, default=16, help="concurrent connections (default 16)")
    ap.add_argument("-t", "--threads", type=int, default=2, help="wrk threads (default 2)")
    ap.add_argument("--timeout", type=float, default=10, help="per-request timeout, seconds (default 10)")
    ap.add_argument("--engine", choices=["auto", "wrk", "python"], default="auto")
    ap.add_argument("-H", "--header", action="append", default=[], metavar="'Name: value'")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    a = ap.parse_args(argv)
    headers = {}
    for h in a.header:
        name, sep, value = h.partition(":")
        if not sep:
            ap.error(f"bad header {h!r}")
        headers[name.strip()] = value.strip()
    try:
        result = measure(a.url, duration=a.duration, connections=a.connections, threads=a.threads,
                         timeout=a.timeout, engine=a.engine, headers=headers)
    except (ValueError, RuntimeError) as exc:
        print(f"load: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(asdict(result)) if a.json else result.summary())
    return 1 if result.requests == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
