"""The desk at scale: p50/p95 per request against a real `warroom serve`, on SQLite and
PostgreSQL, with a history loaded through warroom's own import.

    .venv/bin/python bench/desk_bench.py                                # 1,000 incidents
    .venv/bin/python bench/desk_bench.py --incidents 10000 --events 100000
    .venv/bin/python bench/desk_bench.py --incidents 100000 --events 10000000 \\
        --big-events 100000 --stores postgresql                          # the full size

History: `--incidents` incidents (all closed but `--open`), `--events` timeline events spread
over them, INC-2 with 100 events and INC-1 with `--big-events` (the long incident page).
The rows are built with warroom's own hash chain (`timeline.chain`: the audit verifies it)
into a warroom export file (bench/out/, reused) and loaded with `warroom import`'s verb
(`transfer.import_`): nothing bypasses the chain. The bench then checks one incident's chain
with the audit, starts the server and times each request `--requests` times over one
keep-alive connection (after three untimed ones).

Writes (a note, a declaration, an Alertmanager delivery that opens an incident) run last, each
with its own incident or alert group. The full size needs ~4 GB of export file and an hour to
load on 2 cores; PostgreSQL at PG_URL (a fresh schema per run, dropped afterwards).
`--keep` keeps the loaded stores (bench/out/kept_*.db and the schema kept_*), `--reuse`
measures them again without loading (for a quiet machine, or after a change to the code).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from alert_payloads import am_alert, am_payload  # noqa: E402
from warroom.core import migrate  # noqa: E402
from warroom.core.db import Database  # noqa: E402
from warroom.incidents import listing, timeline  # noqa: E402
from warroom.incidents.tables import events, incidents  # noqa: E402
from warroom.trust import audit, transfer  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"
PG_URL = os.environ.get("WARROOM_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
WARROOM = str(Path(sys.executable).with_name("warroom"))
T0 = datetime(2023, 1, 1, tzinfo=UTC)
WORDS = [
    "checkout",
    "search",
    "login",
    "payments",
    "cart",
    "api",
    "latency",
    "timeout",
    "errors",
    "queue",
    "cache",
    "db",
]


# --- history ------------------------------------------------------------------------------------


def _line(table: sa.Table, row: dict[str, Any]) -> str:
    enc = {k: transfer.encode(table.c[k], v) for k, v in row.items()}
    return json.dumps({"table": table.name, "row": enc}, separators=(",", ":")) + "\n"


def _incident(n: int, *, open_: bool, head: timeline.Head, started: datetime) -> dict[str, Any]:
    closed = None if open_ else started + timedelta(hours=2)
    title = f"{WORDS[n % len(WORDS)]} {WORDS[(n // 7) % len(WORDS)]} incident {n}"
    return {
        "id": n,
        "number": n,
        "key": f"INC-{n}",
        "title": title,
        "description": "",
        "severity": f"P{1 + n % 4}",
        "factors": {},
        "stage": "contained" if open_ else "closed",
        "started_at": started,
        "detected_at": started,
        "contained_at": started + timedelta(minutes=20),
        "fixed_at": closed,
        "closed_at": closed,
        "skipped_stages": ["root_caused", "verified"] if not open_ else [],
        "impact_scope": "",
        "business_impact": "",
        "error_messages": "",
        "suspected_changes": "",
        "reporter": "bench",
        "reporter_contact": "",
        "security": False,
        "drill": False,
        "commander": "ana",
        "commander_at": started,
        "created_by": "bench",
        "created_at": started,
        "updated_at": closed or started,
        "last_seq": head.seq,
        "last_hash": head.hash,
    }


def _events(n: int, count: int, started: datetime) -> tuple[list[dict[str, Any]], timeline.Head]:
    head = timeline.Head()
    rows: list[dict[str, Any]] = []
    for i in range(max(1, count)):
        kind, data = (
            ("incident.declared", {"title": f"incident {n}", "severity": "P2"})
            if i == 0
            else ("note.added", {"text": f"step {i}: looked at the {WORDS[i % len(WORDS)]}"})
        )
        made, head = timeline.chain(
            head, actor="ana", at=started + timedelta(seconds=i), items=[(kind, data)]
        )
        rows.extend(made)
    return rows, head


def build_export(path: Path, *, n: int, total_events: int, big: int, open_: int) -> None:
    """A warroom export file with the history (written once, reused)."""
    per = max(1, total_events // max(1, n - 1))
    tmp = path.with_suffix(".part")
    event_id = 0
    counts = {"counters": 1, "incidents": n, "events": 0}
    body = tmp.with_suffix(".body")
    with body.open("w", encoding="utf-8") as out:
        out.write(_line(transfer_table("counters"), {"name": "incident", "value": n}))
        pending_events: list[str] = []
        for number in range(1, n + 1):
            started = T0 + timedelta(minutes=17 * number)
            count = big if number == 1 else (100 if number == 2 else per)
            rows, head = _events(number, count, started)
            is_open = number > n - open_ or number == 1
            out.write(
                _line(incidents, _incident(number, open_=is_open, head=head, started=started))
            )
            for r in rows:
                event_id += 1
                pending_events.append(_line(events, {**r, "id": event_id, "incident_id": number}))
            if len(pending_events) > 50_000 or number == n:
                # events after their incidents: the file is in foreign-key order per table run
                out.writelines(pending_events)
                pending_events.clear()
        counts["events"] = event_id
    revisions = sorted(migrate_heads())
    header = {
        "format": transfer.FORMAT,
        "version": transfer.VERSION,
        "revisions": revisions,
        "tables": counts,
    }
    with tmp.open("w", encoding="utf-8") as f, body.open(encoding="utf-8") as b:
        f.write(json.dumps(header) + "\n")
        while chunk := b.read(1 << 20):
            f.write(chunk)
    body.unlink()
    tmp.rename(path)


def transfer_table(name: str) -> sa.Table:
    return {t.name: t for t in transfer.load_all_tables()}[name]


def migrate_heads() -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{tmp}/heads.db")
        migrate.upgrade(db)
        heads = migrate.current(db)
        db.dispose()
    return heads


# --- stores and server ----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(url: str, workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    (workdir / "warroom.toml").write_text("[worker]\nin_serve = false\n", encoding="utf-8")
    port = free_port()
    proc = subprocess.Popen(
        [WARROOM, "serve", "--port", str(port), "--db", url],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("the server did not start")


def timings(fn: Callable[[int], httpx.Response], requests: int) -> tuple[float, float, int]:
    """p50, p95 (ms) and the size of the last answer."""
    for i in range(3):
        fn(-1 - i)
    spent = []
    size = 0
    for i in range(requests):
        start = time.perf_counter()
        r = fn(i)
        spent.append((time.perf_counter() - start) * 1000)
        if r.status_code >= 400:
            raise SystemExit(f"{r.request.method} {r.request.url}: {r.status_code} {r.text[:300]}")
        size = len(r.content)
    q = statistics.quantiles(spent, n=20, method="inclusive")
    return statistics.median(spent), q[18], size


def measure(url: str, *, n: int, big: int, requests: int, workdir: Path) -> dict[str, Any]:
    db = Database(url)
    with db.read() as conn:
        small = conn.execute(
            sa.select(incidents.c.key, incidents.c.last_seq).where(incidents.c.number == 2)
        ).first()
        deep = conn.execute(
            sa.select(incidents.c.id, incidents.c.closed_at)
            .where(incidents.c.stage == "closed")
            .order_by(incidents.c.closed_at, incidents.c.id)
            .limit(1)
            .offset(min(40, n // 10))
        ).first()
    db.dispose()
    proc, base = start_server(url, workdir)
    out: dict[str, Any] = {}
    run = uuid.uuid4().hex[:6]
    try:
        with httpx.Client(base_url=base, timeout=120, headers={"X-Warroom-User": "bench"}) as c:
            cursor = listing.encode_cursor(deep.closed_at, deep.id) if deep else ""
            reads: dict[str, Callable[[int], httpx.Response]] = {
                "GET / (desk list)": lambda i: c.get("/"),
                "GET /?cursor= (deep page)": lambda i: c.get("/", params={"cursor": cursor}),
                f"incident page, {small.last_seq if small else 0} events": (
                    lambda i: c.get(f"/incidents/{small.key if small else 'INC-2'}")
                ),
                f"incident page, {big:,} events": lambda i: c.get("/incidents/INC-1"),
                "GET /api/v1/incidents": lambda i: c.get("/api/v1/incidents"),
                "GET /api/v1/incidents (deep)": (
                    lambda i: c.get("/api/v1/incidents", params={"cursor": cursor})
                ),
                "timeline API, first page": lambda i: c.get("/api/v1/incidents/INC-1/timeline"),
                "timeline API, deep page": (
                    lambda i: c.get(
                        "/api/v1/incidents/INC-1/timeline", params={"since": max(0, big - 600)}
                    )
                ),
                "GET /status": lambda i: c.get("/status"),
            }
            for name, fn in reads.items():
                out[name] = timings(fn, requests)
            writes: dict[str, Callable[[int], httpx.Response]] = {
                "POST a note": lambda i: c.post(
                    f"/api/v1/incidents/INC-{n}/notes", json={"text": f"bench note {i}"}
                ),
                "POST declare": lambda i: c.post(
                    "/api/v1/incidents", json={"title": f"bench {run} {i} checkout errors"}
                ),
                "Alertmanager delivery (opens)": lambda i: c.post(
                    "/api/v1/alerts/alertmanager",
                    json=am_payload(
                        f"{run}g{i}", [am_alert(f"{run}a{i}", slo=f"{run}g{i}", severity="page")]
                    ),
                ),
            }
            for name, fn in writes.items():
                out[name] = timings(fn, requests)
    finally:
        proc.terminate()
        proc.wait(30)
    return out


def load(url: str, export: Path) -> float:
    db = Database(url)
    start = time.perf_counter()
    migrate.upgrade(db)
    transfer.import_(db, export)
    spent = time.perf_counter() - start
    report = audit.audit(db, "INC-2", rows=False)  # the chain (the rows are synthetic)
    if not report.ok:
        raise SystemExit(f"the imported chain does not verify: {report}")
    db.dispose()
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--incidents", type=int, default=1000)
    parser.add_argument("--events", type=int, default=10_000, help="spread over the incidents")
    parser.add_argument("--big-events", type=int, default=10_000, help="events of INC-1")
    parser.add_argument("--open", type=int, default=20, help="open incidents")
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--stores", default="sqlite,postgresql")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the loaded stores (bench/out/ and a PostgreSQL schema) to measure again later",
    )
    parser.add_argument(
        "--reuse", action="store_true", help="measure the stores a --keep run left, without loading"
    )
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    heads = "-".join(h.split("_")[0] for h in migrate_heads())  # a new schema: a new file
    name = f"desk_{args.incidents}_{args.events}_{args.big_events}_{args.open}_{heads}.jsonl"
    export = OUT / name
    if not export.exists() and not args.reuse:
        start = time.perf_counter()
        build_export(
            export,
            n=args.incidents,
            total_events=args.events,
            big=args.big_events,
            open_=args.open,
        )
        print(
            f"built {export.name} ({export.stat().st_size / 1e6:.0f} MB) in "
            f"{time.perf_counter() - start:.0f}s"
        )
    results: dict[str, dict[str, Any]] = {}
    # the kept stores are migrated by the server on --reuse: their names leave the heads out
    kept = f"kept_{args.incidents}_{args.events}_{args.big_events}_{args.open}"
    for store in args.stores.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            workdir = Path(tmp)
            keep = args.keep or args.reuse
            schema = kept if keep else f"bench_{uuid.uuid4().hex[:8]}"
            admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
            if store == "sqlite":
                url = f"sqlite:///{OUT / (kept + '.db') if keep else workdir / 'desk.db'}"
            else:
                if not args.reuse:
                    with admin.connect() as conn:
                        conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
                        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
                url = f"{PG_URL}?options=-csearch_path%3D{schema}"
            try:
                if not args.reuse:
                    if store == "sqlite" and keep:
                        (OUT / (kept + ".db")).unlink(missing_ok=True)
                    spent = load(url, export)
                    loaded = f"{store}: loaded {args.incidents:,} incidents in {spent:.0f}s"
                    print(loaded, flush=True)
                results[store] = measure(
                    url,
                    n=args.incidents,
                    big=args.big_events,
                    requests=args.requests,
                    workdir=workdir,
                )
            finally:
                if store != "sqlite" and not keep:
                    with admin.connect() as conn:
                        conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
                admin.dispose()
    stores = list(results)
    print(
        f"\n{args.incidents:,} incidents, {args.events:,} events, INC-1 with "
        f"{args.big_events:,}; {args.requests} requests each, one connection; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    print("| request | " + " | ".join(f"{s} p50 / p95 ms (size)" for s in stores) + " |")
    print("|---|" + "---|" * len(stores))
    for req in results[stores[0]]:
        cells = []
        for s in stores:
            p50, p95, size = results[s][req]
            cells.append(f"{p50:.1f} / {p95:.1f} ({size / 1000:.0f} kB)")
        print(f"| {req} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
