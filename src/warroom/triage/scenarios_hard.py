"""The hard incident scenarios: classes that fool a naive triage, with their truth.

`scenarios.generate` builds the healthy baseline and calls `apply` for these names:

- `short_outage`: 12 minutes of ~15 % 5xx on four routes of a quiet service (60 requests a
  minute), then 50 healthy minutes; an
  unrelated deploy 10 min before, the edge-proxy change that touched every route 16 min before.
- `gradual_degradation`: latency of orders and checkout creeps up for 80 minutes before they
  start failing; the deploy before the creep is the cause, not the flag just before the errors.
- `traffic_drop`: /checkout traffic falls to a third, no errors (a CDN rule blocks it).
- `app_log_local_time`: a checkout 5xx incident whose app log is stamped in local time (UTC+1)
  without an offset; an hourly job that ran before the onset must not read as new.
- `marketing_surge`: traffic triples on every route, the 5xx rate and latency hold: load, not
  an incident. The log starts late in its first minute.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np

HARD_SCENARIOS = (
    "short_outage",
    "gradual_degradation",
    "traffic_drop",
    "app_log_local_time",
    "marketing_surge",
)


def change(
    cid: str, at: datetime, kind: str, service: str, paths: list[str], description: str
) -> dict[str, Any]:
    """One line of a scenario's changes.jsonl."""
    return {
        "id": cid,
        "at": at.isoformat().replace("+00:00", "Z"),
        "kind": kind,
        "service": service,
        "paths": paths,
        "description": description,
        "author": "alice@example.com",
    }


@dataclass
class Hard:
    """What `apply` adds to a scenario: rows changed in place or replaced, and its truth."""

    rows: dict[str, np.ndarray]
    changes: list[dict[str, Any]] = field(default_factory=list)
    app_events: list[tuple[float, str]] = field(default_factory=list)
    truth: dict[str, Any] = field(default_factory=dict)
    app_log_shift_s: float = 0.0  # the app log's clock minus UTC, in seconds


def _keep(rows: dict[str, np.ndarray], mask: np.ndarray) -> dict[str, np.ndarray]:
    return {k: v[mask] for k, v in rows.items()}


def _scaled(
    rng: np.random.Generator, rows: dict[str, np.ndarray], after_s: float, factor: int
) -> dict[str, np.ndarray]:
    """Traffic after `after_s` multiplied by `factor`: copies of those rows, new clients."""
    hit = rows["t"] >= after_s
    parts: dict[str, list[np.ndarray]] = {k: [v] for k, v in rows.items()}
    for _ in range(factor - 1):
        n = int(hit.sum())
        for k, v in rows.items():
            part = v[hit].copy()
            if k == "t":
                part = np.minimum(part + rng.random(n) * 60, part.max())
            elif k == "client":
                part = rng.integers(1500, 6000, n)
            elif k == "request_id":
                part = rng.integers(0, 2**62, n)
            elif k == "latency":
                part = part * np.exp(rng.normal(0, 0.1, n))
            elif k == "status":  # each new request fails or not on its own
                part = rng.choice([200, 304, 404, 500], n, p=[0.975, 0.01, 0.012, 0.003])
            parts[k].append(part)
    merged = {k: np.concatenate(v) for k, v in parts.items()}
    order = np.argsort(merged["t"], kind="stable")
    return {k: v[order] for k, v in merged.items()}


def apply(
    name: str,
    rng: np.random.Generator,
    rows: dict[str, np.ndarray],
    *,
    onset: datetime,
    onset_minute: int,
    minutes: int,
) -> Hard:
    """Turn the healthy `rows` into scenario `name` (one of `HARD_SCENARIOS`)."""
    t0 = onset_minute * 60.0
    route = rows["route"]
    out = Hard(rows, truth={"incident": True, "onset": onset, "top_suspect": None})
    if name == "short_outage":
        rows = out.rows = _keep(rows, rng.random(len(route)) < 0.3)  # a quieter service
        route = rows["route"]
        end = t0 + 12 * 60
        for r in ("/product/{id}", "/search", "/api/recommendations", "/api/inventory"):
            hit = (rows["t"] >= t0) & (rows["t"] < end) & (route == r)
            hit &= rng.random(len(route)) < 0.15
            rows["status"][hit] = rng.choice([502, 503], int(hit.sum()), p=[0.7, 0.3])
            out.app_events += [
                (t, "ERROR [edge] upstream connect error: pool overflow (max 64)")
                for t in rows["t"][hit][::3]
            ]
        out.changes += [
            change(
                "I-21",
                onset - timedelta(minutes=16),
                "infra",
                "edge-proxy",
                ["proxy/envoy.yaml"],
                "lower the upstream connection pool of the shared edge proxy",
            ),
            change(
                "D-210",
                onset - timedelta(minutes=10),
                "deploy",
                "login",
                ["/login", "services/auth/passwords.py"],
                "login: new password rules",
            ),
        ]
        out.truth.update(
            top_route="/product/{id}", top_suspect="I-21", end=onset + timedelta(minutes=12)
        )
    elif name == "gradual_degradation":
        creep = max(onset_minute - 80, onset_minute // 3)
        start = onset - timedelta(minutes=onset_minute - creep)
        c0 = creep * 60.0
        for r, err in (("/api/orders/{id}", 0.2), ("/checkout", 0.1)):
            on = route == r
            ramp = on & (rows["t"] >= c0)
            grow = np.minimum((rows["t"][ramp] - c0) / max(t0 - c0, 1.0), 1.0)
            rows["latency"][ramp] *= 1.0 + 4.0 * grow
            fail = on & (rows["t"] >= t0) & (rng.random(len(route)) < err)
            rows["status"][fail] = 500
            rows["latency"][fail] = 5000.0
            out.app_events += [
                (t, "ERROR [orders] pool timeout: could not get a connection in 5000 ms")
                for t in rows["t"][fail][::2]
            ]
        out.changes += [
            change(
                "D-300",
                start - timedelta(minutes=6),
                "deploy",
                "orders",
                ["/api/orders", "services/orders/loader.py"],
                "orders: load order lines eagerly",
            ),
            change(
                "F-12",
                onset - timedelta(minutes=3),
                "flag",
                "checkout",
                ["/checkout"],
                "checkout: show the delivery estimate",
            ),
        ]
        out.truth.update(
            onset=start, top_route="/api/orders/{id}", top_suspect="D-300", onset_tolerance=10
        )
    elif name == "traffic_drop":
        lost = (route == "/checkout") & (rows["t"] >= t0) & (rng.random(len(route)) < 2 / 3)
        out.rows = _keep(rows, ~lost)
        out.changes += [
            change(
                "I-40",
                onset - timedelta(minutes=5),
                "infra",
                "cdn",
                ["cdn/edge-rules.vcl"],
                "CDN: new bot-protection rule set",
            ),
            change(
                "D-77",
                onset - timedelta(minutes=8),
                "deploy",
                "product",
                ["/product", "services/product/gallery.py"],
                "product page: new image gallery",
            ),
        ]
        out.truth.update(top_route="/checkout", top_suspect="I-40")
    elif name == "app_log_local_time":
        hit = (rows["t"] >= t0) & (route == "/checkout") & (rng.random(len(route)) < 0.3)
        rows["status"][hit] = 502
        out.app_events += [
            (t, f"ERROR [payments] card gateway refused the connection (order={i})")
            for i, t in enumerate(rows["t"][hit])
        ]
        job = max(t0 - 3600.0, 60.0)  # an hourly job, an hour before the onset
        out.app_events += [
            (job + i * 20.0, f"INFO [jobs] reindex batch {i} of 30 done") for i in range(30)
        ]
        out.changes += [
            change(
                "D-130",
                onset - timedelta(minutes=5),
                "deploy",
                "payments",
                ["/checkout", "services/payments/gateway.py"],
                "payments: new card gateway client",
            )
        ]
        out.app_log_shift_s = 3600.0
        out.truth.update(
            top_route="/checkout",
            top_suspect="D-130",
            app_log_offset_minutes=60,
            signature="card gateway refused",
            not_signature="reindex batch",
        )
    elif name == "marketing_surge":
        out.rows = _scaled(rng, _keep(rows, rows["t"] >= 55.0), t0, 3)
        out.changes += [
            change(
                "F-50",
                onset - timedelta(minutes=2),
                "flag",
                "product",
                ["/product"],
                "campaign: black friday banner and newsletter",
            )
        ]
        out.truth.update(incident=False, onset=None, top_route=None, surge_at=onset)
    else:
        raise ValueError(f"not a hard scenario: {name}")
    return out
