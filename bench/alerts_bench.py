"""Post Alertmanager webhook payloads concurrently to a warroom server; print deliveries/s, p95.

    .venv/bin/python bench/alerts_bench.py                       # SQLite, server started here
    .venv/bin/python bench/alerts_bench.py --db postgresql+psycopg://postgres@127.0.0.1/test
    .venv/bin/python bench/alerts_bench.py --url http://127.0.0.1:8000   # a running server

The mix is what Alertmanager sends: each group's first firing notification (opens an
incident), group updates as alerts join (attach), repeat notifications of the same state and
re-deliveries of the same payload (dedup). Traffic goes to loopback only and stops by itself.

Each run starts a fresh server and store; three runs by default, and the median is printed:
uvicorn's workers share one listening socket, and how the kernel hands the 32 keep-alive
connections to them (printed as "CPU by worker") moves a single run's figure by a third.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from alert_payloads import am_alert, am_payload  # noqa: E402

EXTRA: list[str] = os.environ.get("BENCH_UVICORN_ARGS", "").split()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _payloads(n: int, groups: int, seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    out: list[dict] = []
    sizes = [1] * groups
    while len(out) < n:
        g = rng.randrange(groups)
        r = rng.random()
        if r < 0.2 and sizes[g] < 20:
            sizes[g] += 1  # an alert joins the group
        alerts = [am_alert(f"g{g}a{i}", slo=f"slo{g}", severity="page") for i in range(sizes[g])]
        payload = am_payload(f"slo{g}", alerts)
        out.append(payload)
        if r > 0.6:
            out.append(payload)  # re-delivery of the same payload
    return out[:n]


def _cpu_by_process(root: int) -> dict[int, float]:
    """User+system CPU seconds of a process and of each of its children (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[int, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(stat.parent.name), int(fields[1])
        if pid == root or ppid == root:
            out[pid] = (int(fields[11]) + int(fields[12])) / tick
    return out


def _fresh_schema(url: str) -> tuple[str, str]:
    """A new PostgreSQL schema for this run, and the URL whose search_path is it."""
    import uuid

    import sqlalchemy as sa

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}", schema


def _drop_schema(url: str, schema: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


def _start_server(db_url: str, port: int, workers: int) -> subprocess.Popen[bytes]:
    from warroom import migrate
    from warroom.db import Database

    database = Database(db_url)
    migrate.upgrade(database)
    database.dispose()
    env = {**os.environ, "WARROOM_DATABASE_URL": db_url}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "warroom.web.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--log-level",
            "warning",
            "--no-access-log",
            *EXTRA,
        ],
        env=env,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.terminate()
    raise SystemExit("the server did not start within 30 s")


async def _drive(
    host: str, port: int, bodies: list[bytes], concurrency: int, time_limit: float
) -> tuple[list[float], dict[str, int], list[str], float]:
    """Keep-alive HTTP/1.1 connections on asyncio streams: a light client leaves the CPU to
    the server under test (httpx in threads spent as much CPU as the server)."""
    latencies: list[float] = []
    outcomes: dict[str, int] = {}
    errors: list[str] = []
    queue = list(reversed(bodies))
    deadline = time.monotonic() + time_limit

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while queue and time.monotonic() < deadline:
                body = queue.pop()
                head = (
                    f"POST /api/v1/alerts/alertmanager HTTP/1.1\r\nHost: {host}\r\n"
                    f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
                ).encode()
                t0 = time.perf_counter()
                writer.write(head + body)
                await writer.drain()
                status_line = await reader.readline()
                length = 0
                while True:
                    line = await reader.readline()
                    if line in (b"\r\n", b""):
                        break
                    name, _, value = line.decode("latin-1").partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value.strip())
                reply = await reader.readexactly(length)
                latencies.append(time.perf_counter() - t0)
                if b" 200 " in status_line:
                    o = json.loads(reply)["outcome"]
                    outcomes[o] = outcomes.get(o, 0) + 1
                else:
                    errors.append(f"{status_line.decode().strip()} {reply[:200]!r}")
        finally:
            writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(concurrency)))
    return latencies, outcomes, errors, time.perf_counter() - start


def _run(coro: Any) -> Any:
    """asyncio.run, on uvloop when it is installed (uvicorn[standard] brings it): the client
    shares the two cores with the server and should take as little of them as it can."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", help="a running server (default: start one here)")
    ap.add_argument("--db", help="database URL for the started server (default: temp SQLite)")
    ap.add_argument("-n", type=int, default=4000, help="deliveries to send")
    ap.add_argument("--groups", type=int, default=200)
    ap.add_argument("--concurrency", type=int, default=32, help="connections")
    ap.add_argument("--workers", type=int, default=2, help="uvicorn workers")
    ap.add_argument("--time-limit", type=float, default=120.0, help="stop after this many s")
    ap.add_argument(
        "--repeat", type=int, default=3, help="whole runs (fresh server and store each time)"
    )
    args = ap.parse_args()
    rates = [_once(args) for _ in range(max(1, args.repeat))]
    if len(rates) > 1:
        print(
            f"== median of {len(rates)} runs: {statistics.median(rates):.0f} deliveries/s "
            f"(runs: {', '.join(f'{r:.0f}' for r in rates)}; target >= 1000)"
        )


def _once(args: argparse.Namespace) -> float:
    """One run: a fresh server and store, the whole mix; prints its figures, returns the rate."""
    proc = None
    tmp = tempfile.TemporaryDirectory()
    url = args.url
    schema = None
    if url is None:
        db_url = args.db or f"sqlite:///{tmp.name}/bench.db"
        if db_url.startswith("postgresql"):
            db_url, schema = _fresh_schema(db_url)
        port = _free_port()
        proc = _start_server(db_url, port, args.workers)
        url = f"http://127.0.0.1:{port}"
    bodies = [json.dumps(p).encode() for p in _payloads(args.n, args.groups)]
    host, port_text = url.split("://", 1)[1].rstrip("/").split(":")
    root = proc.pid if proc is not None else -1
    cpu0 = _cpu_by_process(root) if proc is not None else {}
    own0 = time.process_time()
    try:
        latencies, outcomes, errors, elapsed = _run(
            _drive(host, int(port_text), bodies, args.concurrency, args.time_limit)
        )
        cpu1 = _cpu_by_process(root) if proc is not None else {}
        used = {pid: t - cpu0.get(pid, 0.0) for pid, t in cpu1.items()}
        cpu = sum(used.values())
        workers = sorted((t for pid, t in used.items() if pid != root and t > 0.05), reverse=True)
        own = time.process_time() - own0
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(10)
        tmp.cleanup()
        if schema is not None:
            _drop_schema(args.db, schema)
    done = len(latencies)
    p95 = statistics.quantiles(latencies, n=100)[94] * 1000 if done > 20 else float("nan")
    backend = (
        "PostgreSQL"
        if (args.db or "").startswith("postgresql")
        else ("SQLite" if args.url is None else "server")
    )
    print(
        f"alerts bench: {done} deliveries to {backend} in {elapsed:.2f} s, "
        f"concurrency {args.concurrency}, {args.workers} worker(s)"
    )
    print(f"deliveries/s: {done / elapsed:.0f}")
    print(f"p95 latency: {p95:.1f} ms (median {statistics.median(latencies) * 1000:.1f} ms)")
    if cpu:
        print(
            f"server CPU: {cpu * 1000 / max(done, 1):.2f} ms per delivery "
            f"({os.getloadavg()[0]:.1f} load average on {os.cpu_count()} cores during the run)"
        )
    print(f"bench client CPU: {own * 1000 / max(done, 1):.2f} ms per delivery (same cores)")
    if len(workers) > 1:  # uvicorn's workers share one socket: the split is the kernel's
        print("CPU by worker: " + ", ".join(f"{t:.1f} s" for t in workers))
    print("outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())))
    if errors:
        print(f"errors: {len(errors)}, first: {errors[0]}")
        raise SystemExit(1)
    return done / elapsed


if __name__ == "__main__":
    main()
