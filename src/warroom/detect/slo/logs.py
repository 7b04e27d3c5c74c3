"""Access logs to SLI events: one (ts, good, total) row per request an SLO counts.

frame = read_logs(["access.log"])          # via warroom.triage.parse
events = sli_events(frame, slo)            # ts, good (0/1), total (1)
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl

from warroom.core.errors import InvalidInput
from warroom.detect.slo.model import SLO, SLOKind
from warroom.triage.parse import read_access_logs


def read_logs(paths: Sequence[str | Path], *, log_format: str | None = None) -> pl.DataFrame:
    """Read access logs with the triage reader (ts, method, route, status, latency_ms, ...)."""
    log = read_access_logs([str(p) for p in paths], log_format=log_format)
    frame: pl.DataFrame = log.frame
    return frame


def status_expr(codes: list[str]) -> pl.Expr:
    expr = pl.lit(False)
    for code in codes:
        if code.endswith("xx"):
            expr = expr | ((pl.col("status") // 100) == int(code[0]))
        else:
            expr = expr | (pl.col("status") == int(code))
    return expr


def _glob_regex(glob: str) -> str:
    """fnmatch's regex for `glob`, anchored the way polars' regex engine understands."""
    return "^" + fnmatch.translate(glob).removesuffix(r"\Z") + "$"


def match_expr(match: dict[str, Any]) -> pl.Expr:
    expr = pl.lit(True)
    if "route" in match:
        parts = [_glob_regex(r) if any(c in r for c in "*?[") else None for r in match["route"]]
        exact = [r for r, p in zip(match["route"], parts, strict=True) if p is None]
        globs = [p for p in parts if p is not None]
        e = pl.col("route").is_in(exact) if exact else pl.lit(False)
        for g in globs:
            e = e | pl.col("route").str.contains(g)
        expr = expr & e
    if "route_regex" in match:
        expr = expr & pl.col("route").str.contains(f"^(?:{match['route_regex']})$")
    if "path_prefix" in match:
        e = pl.lit(False)
        for prefix in match["path_prefix"]:
            e = e | pl.col("path").str.starts_with(prefix)
        expr = expr & e
    if "method" in match:
        expr = expr & pl.col("method").str.to_uppercase().is_in(match["method"])
    if "method_regex" in match:
        expr = expr & pl.col("method").str.contains(f"^(?:{match['method_regex']})$")
    return expr


def sli_events(frame: pl.DataFrame, slo: SLO) -> pl.DataFrame:
    """The requests `slo` counts, as ts, good (0/1), total (1), sorted by ts."""
    if (
        slo.form == "openslo"
        and slo.kind is SLOKind.RATIO
        and not slo.good.get("status")
        and not slo.bad.get("status")
    ):
        f = "spec.indicator.spec.ratioMetric." + ("bad" if slo.bad_query else "good")
        query = slo.bad_query or slo.good_query
        what = (
            "has no query"
            if query is None
            else f"is a {query.source_type} query"
            if not query.is_prometheus
            else "has no code/status label matcher"
        )
        raise InvalidInput(
            f"{slo.where(f)}: {what}: access logs can only be read for a Prometheus selector "
            'with the status classes, like http_requests_total{code=~"5.."}',
            field=f,
        )
    rows = frame.filter(match_expr(slo.match))
    if slo.kind is SLOKind.LATENCY:
        rows = rows.filter(pl.col("latency_ms").is_not_null())
        limit = float(slo.threshold_ms or 0)
        op = slo.threshold_op or "lte"
        lat = pl.col("latency_ms")
        good = {"lt": lat < limit, "lte": lat <= limit, "gt": lat > limit, "gte": lat >= limit}[op]
    elif slo.good:
        good = status_expr(slo.good["status"])
    else:
        good = ~status_expr(slo.bad.get("status", ["5xx"]))
    return rows.select(
        pl.col("ts"), good.cast(pl.Int64).alias("good"), pl.lit(1, pl.Int64).alias("total")
    ).sort("ts")
