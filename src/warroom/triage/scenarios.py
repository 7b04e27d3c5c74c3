"""Incident scenarios with known truth: access log, app log and change list generated together.

Used by the triage tests, drills and recovery checks::

    truth = generate("deploy_5xx", tmp_path, seed=1)
    report = triage([str(truth.access_log)], app_logs=[truth.app_log], changes=truth.changes)
    assert report.routes[0].route == truth.top_route
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from warroom.core.errors import InvalidInput
from warroom.triage.scenarios_hard import HARD_SCENARIOS, apply, change

SCENARIOS = (
    "deploy_5xx",
    "migration_latency",
    "healthy",
    "retry_storm",
    "upstream_timeout",
    "latency_creep",
    *HARD_SCENARIOS,
)

START = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)

# route template, share of traffic, median latency ms
ROUTES: list[tuple[str, float, float]] = [
    ("/", 0.12, 25.0),
    ("/product/{id}", 0.25, 40.0),
    ("/search", 0.15, 80.0),
    ("/cart", 0.10, 35.0),
    ("/checkout", 0.08, 120.0),
    ("/api/orders/{id}", 0.08, 60.0),
    ("/login", 0.06, 50.0),
    ("/api/inventory", 0.06, 30.0),
    ("/api/recommendations", 0.05, 70.0),
    ("/static/app.js", 0.05, 5.0),
]
AGENTS = [
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0",
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) Safari/605.1.15 \\"quoted\\" build',
    "okhttp/4.12.0",
    "curl/8.4.0",
]


@dataclass
class ScenarioTruth:
    """What a generated scenario contains, for checking triage against it."""

    name: str
    incident: bool
    onset: datetime | None
    top_route: str | None
    top_suspect: str | None
    access_log: Path
    app_log: Path
    changes: Path
    log_format: str
    lines: int
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def generate(
    name: str,
    out_dir: str | Path,
    *,
    seed: int = 0,
    minutes: int = 180,
    per_minute: int = 200,
    onset_minute: int = 117,
    start: datetime = START,
) -> ScenarioTruth:
    """Write the access log, app log and changes of scenario `name` into `out_dir`, the logs
    beginning at `start` (a fixed day by default: same seed, same files)."""
    if name not in SCENARIOS:
        raise InvalidInput(f"unknown scenario {name!r}: use one of {', '.join(SCENARIOS)}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    onset = start + timedelta(minutes=onset_minute)
    rows = _baseline(rng, minutes, per_minute)
    t_after = rows["t"] >= onset_minute * 60.0
    route = rows["route"]
    changes: list[dict[str, Any]] = [
        change(
            "C-31",
            onset - timedelta(minutes=150),
            "config",
            "search",
            ["/search"],
            "raise search cache TTL to 10 minutes",
        ),
    ]
    app_events: list[tuple[float, str]] = []
    truth: dict[str, Any] = {"incident": True, "onset": onset, "top_suspect": None}
    log_format = "combined"
    app_shift = 0.0

    if name == "deploy_5xx":
        hit = t_after & (route == "/checkout") & (rng.random(len(route)) < 0.4)
        rows["status"][hit] = rng.choice([500, 502], hit.sum(), p=[0.8, 0.2])
        changes += [
            change(
                "D-104",
                onset - timedelta(minutes=4),
                "deploy",
                "checkout",
                ["/checkout", "services/checkout/coupons.py"],
                "checkout v2.14.0: coupon rules",
            ),
            change(
                "F-7",
                onset + timedelta(minutes=25),
                "flag",
                "login",
                ["/login"],
                "enable passkeys for 5% of users",
            ),
        ]
        for t in rows["t"][hit]:
            app_events.append(
                (
                    t,
                    "ERROR [checkout] NullPointerException: coupon is null "
                    f"(order={rng.integers(10_000, 99_999)}, "
                    f"user=u-{rng.integers(100, 999)})",
                )
            )
        truth.update(top_route="/checkout", top_suspect="D-104")
    elif name == "migration_latency":
        hit = t_after & (route == "/api/orders/{id}")
        rows["latency"][hit] *= 3.2
        changes += [
            change(
                "M-12",
                onset - timedelta(minutes=6),
                "migration",
                "orders",
                ["db/migrations/0042_orders_drop_index.sql", "/api/orders"],
                "drop unused index on orders.customer_id",
            ),
            change(
                "D-88",
                onset - timedelta(minutes=80),
                "deploy",
                "search",
                ["services/search/ranker.py"],
                "search ranker tweak",
            ),
        ]
        for t in rows["t"][hit][::3]:
            app_events.append(
                (
                    t,
                    f"WARN [orders] slow query {rng.integers(300, 900)} ms: "
                    "SELECT * FROM orders WHERE customer_id = "
                    f"{rng.integers(1, 9999)}",
                )
            )
        truth.update(top_route="/api/orders/{id}", top_suspect="M-12")
    elif name == "healthy":
        changes += [
            change(
                "D-95",
                start + timedelta(minutes=60),
                "deploy",
                "search",
                ["services/search/ranker.py"],
                "search ranker tweak",
            ),
        ]
        truth.update(incident=False, onset=None, top_route=None)
    elif name == "retry_storm":
        log_format = "json"
        hit = t_after & (route == "/api/inventory")
        rows["status"][hit & (rng.random(len(route)) < 0.15)] = 503
        rows = _add_retries(rng, rows, hit, copies=4)
        changes += [
            change(
                "F-9",
                onset - timedelta(minutes=3),
                "flag",
                "inventory",
                ["/api/inventory"],
                "mobile client: retry without backoff",
            ),
        ]
        for t in rows["t"][rows["retry"]][::4]:
            app_events.append(
                (
                    t,
                    f"WARN [inventory] duplicate request {_hex(rng)} "
                    f"attempt {rng.integers(2, 5)} from client",
                )
            )
        truth.update(top_route="/api/inventory", top_suspect="F-9")
    elif name == "upstream_timeout":
        shares = {
            "/search": 0.8,
            "/product/{id}": 0.2,
            "/api/recommendations": 0.35,
            "/checkout": 0.25,
            "/": 0.2,
        }
        for r, share in shares.items():
            hit = t_after & (route == r) & (rng.random(len(route)) < share)
            rows["status"][hit] = 504
            rows["latency"][hit] = 30_000.0 + rng.random(hit.sum()) * 50
            for t in rows["t"][hit][::4]:
                app_events.append(
                    (
                        t,
                        "ERROR [gateway] upstream catalog.internal:8080 timed out "
                        f"after 30000 ms (attempt {rng.integers(1, 3)})",
                    )
                )
        changes += [
            change(
                "D-90", onset - timedelta(hours=4), "deploy", "search", ["/search"], "search v3.1"
            ),
            change(
                "I-5",
                onset + timedelta(minutes=20),
                "infra",
                "catalog",
                [],
                "failover catalog database (response to the incident)",
            ),
        ]
        truth.update(top_route="/search", top_suspect=None)
    elif name == "latency_creep":
        hit = t_after & (route == "/search")
        grow = 1.0 + 3.0 * (rows["t"][hit] - onset_minute * 60.0) / ((minutes - onset_minute) * 60)
        rows["latency"][hit] *= grow
        truth.update(top_route="/search", top_suspect=None)
    else:
        hard = apply(name, rng, rows, onset=onset, onset_minute=onset_minute, minutes=minutes)
        rows = hard.rows
        changes += hard.changes
        app_events += hard.app_events
        truth.update(hard.truth)
        app_shift = hard.app_log_shift_s

    access = out / ("access.jsonl" if log_format == "json" else "access.log")
    n = _write_access(access, rows, log_format, start=start)
    app = out / "app.log"
    _write_app_log(app, rng, minutes, app_events, start=start, shift_s=app_shift)
    changes_path = out / "changes.jsonl"
    changes_path.write_text("".join(json.dumps(c) + "\n" for c in changes))
    return ScenarioTruth(
        name=name,
        incident=truth["incident"],
        onset=truth["onset"],
        top_route=truth.get("top_route"),
        top_suspect=truth["top_suspect"],
        access_log=access,
        app_log=app,
        changes=changes_path,
        log_format=log_format,
        lines=n,
        extra={k: v for k, v in truth.items() if k not in _TRUTH_KEYS},
    )


_TRUTH_KEYS = frozenset({"incident", "onset", "top_route", "top_suspect"})


def _hex(rng: np.random.Generator) -> str:
    return "".join(rng.choice(list("0123456789abcdef"), 12))


def _baseline(rng: np.random.Generator, minutes: int, per_minute: int) -> dict[str, np.ndarray]:
    # traffic with a gentle daily swell and Poisson noise
    lam = per_minute * (1 + 0.15 * np.sin(np.arange(minutes) / minutes * np.pi))
    counts = rng.poisson(lam)
    t = np.concatenate([m * 60 + np.sort(rng.random(c) * 60) for m, c in enumerate(counts)])
    n = len(t)
    names = np.array([r[0] for r in ROUTES])
    shares = np.array([r[1] for r in ROUTES])
    medians = np.array([r[2] for r in ROUTES])
    ri = rng.choice(len(ROUTES), n, p=shares / shares.sum())
    status = rng.choice([200, 304, 404, 500], n, p=[0.975, 0.01, 0.012, 0.003]).astype(np.int64)
    latency = medians[ri] * np.exp(rng.normal(0, 0.45, n))
    return {
        "t": t,
        "route": names[ri],
        "status": status,
        "latency": latency,
        "client": rng.integers(0, 1500, n),
        "request_id": rng.integers(0, 2**62, n),
        "retry": np.zeros(n, dtype=bool),
    }


def _add_retries(
    rng: np.random.Generator, rows: dict[str, np.ndarray], hit: np.ndarray, copies: int
) -> dict[str, np.ndarray]:
    extra: dict[str, list[np.ndarray]] = {k: [v] for k, v in rows.items()}
    for c in range(copies):
        for k, v in rows.items():
            part = v[hit].copy()
            if k == "t":
                part = part + (c + 1) * (0.2 + rng.random(len(part)))
            if k == "retry":
                part[:] = True
            extra[k].append(part)
    merged = {k: np.concatenate(v) for k, v in extra.items()}
    order = np.argsort(merged["t"], kind="stable")
    return {k: v[order] for k, v in merged.items()}


def _paths(rng: np.random.Generator, routes: np.ndarray) -> np.ndarray:
    ids = rng.integers(1, 100_000, len(routes)).astype(str)
    out = routes.astype(object)
    for i, r in enumerate(routes):
        if "{id}" in r:
            out[i] = r.replace("{id}", ids[i])
        elif r == "/search":
            out[i] = f"/search?q=item{ids[i]}"
    return out.astype(str)


def write_traffic(
    name: str,
    path: str | Path,
    start: datetime,
    *,
    recovered: bool,
    seed: int = 0,
    minutes: int = 30,
    per_minute: int = 200,
    log_format: str = "combined",
) -> int:
    """The traffic of `minutes` from `start` (a drill's "after the fix"): the baseline when
    `recovered`, else with scenario `name`'s fault going on. Returns the lines written."""
    rng = np.random.default_rng(seed)
    rows = _baseline(rng, minutes, per_minute)
    if not recovered:
        route = rows["route"]
        if name == "deploy_5xx":
            hit = (route == "/checkout") & (rng.random(len(route)) < 0.4)
            rows["status"][hit] = 500
        elif name in ("upstream_timeout", "retry_storm"):
            hit = (route == "/search") & (rng.random(len(route)) < 0.3)
            rows["status"][hit] = 504
        elif name != "healthy":
            rows["latency"][(route == "/search") | (route == "/api/orders/{id}")] *= 3.2
    return _write_access(Path(path), rows, log_format, start=start)


def _write_access(
    path: Path, rows: dict[str, np.ndarray], log_format: str, *, start: datetime = START
) -> int:
    rng = np.random.default_rng(len(rows["t"]))
    ts = pl.Series(
        [start + timedelta(seconds=float(s)) for s in rows["t"]], dtype=pl.Datetime("us", "UTC")
    )
    paths = _paths(rng, rows["route"])
    client = [f"10.{c // 250}.{c % 250}.{(c * 7) % 250 + 1}" for c in rows["client"]]
    if log_format == "json":
        with path.open("w") as f:
            for i in range(len(paths)):
                f.write(
                    json.dumps(
                        {
                            "time": ts[i].isoformat(),
                            "remote_addr": client[i],
                            "method": "GET",
                            "uri": paths[i],
                            "status": int(rows["status"][i]),
                            "request_time": round(float(rows["latency"][i]) / 1000, 4),
                            "request_id": f"{int(rows['request_id'][i]):016x}",
                        }
                    )
                    + "\n"
                )
        return len(paths)
    agents = np.array(AGENTS)[rng.integers(0, len(AGENTS), len(paths))]
    frame = pl.DataFrame(
        {
            "client": client,
            "ts": ts.dt.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "path": paths,
            "status": rows["status"],
            "bytes": rng.integers(200, 50_000, len(paths)),
            "agent": agents,
            "rt": np.round(rows["latency"] / 1000, 3),
        }
    )
    line = pl.format(
        '{} - - [{}] "GET {} HTTP/1.1" {} {} "-" "{}" {}',
        "client",
        "ts",
        "path",
        "status",
        "bytes",
        "agent",
        pl.col("rt").cast(pl.String),
    )
    frame.select(line.alias("line")).write_csv(path, include_header=False, quote_style="never")
    return frame.height


_APP_BASE = [
    "INFO [checkout] order {n} placed in {ms} ms",
    "INFO [search] query served from cache key={hex}",
    "INFO [auth] user u-{n} logged in from {ip}",
    "DEBUG [orders] fetched {n} rows in {ms} ms",
    "WARN [cart] slow cart merge for user u-{n}: {ms} ms",
    "INFO [inventory] stock level sku-{n} = {n}",
]


def _write_app_log(
    path: Path,
    rng: np.random.Generator,
    minutes: int,
    events: list[tuple[float, str]],
    *,
    start: datetime = START,
    shift_s: float = 0.0,
) -> None:
    """Plain app-log lines around `events`; stamped without an offset, `shift_s` off UTC."""
    base_t = np.sort(rng.random(minutes * 12) * minutes * 60)
    lines = [
        (
            float(t),
            _APP_BASE[rng.integers(0, len(_APP_BASE))].format(
                n=rng.integers(1, 99_999),
                ms=rng.integers(1, 400),
                hex=_hex(rng),
                ip=f"10.0.{rng.integers(0, 255)}.{rng.integers(1, 255)}",
            ),
        )
        for t in base_t
    ]
    lines += events
    lines.sort(key=lambda x: x[0])
    with path.open("w") as f:
        for t, text in lines:
            stamp = start + timedelta(seconds=t + shift_s)
            f.write(f"{stamp:%Y-%m-%d %H:%M:%S},{stamp.microsecond // 1000:03d} {text}\n")
