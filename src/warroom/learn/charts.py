"""Charts for postmortems and reports, as SVG data URIs to embed in HTML.

    incident_chart(report, onset=inc.started_at)   # error rate and p95 around the incident
    svg_uri(fig)                                    # any matplotlib figure

matplotlib is imported when a chart is drawn, not when this module is: it is heavy, and the
CLI must start fast for commands that draw nothing.
"""

from __future__ import annotations

import base64
import io
from datetime import datetime, timedelta
from typing import Any

from warroom.core.clock import ensure_utc
from warroom.triage.chart import chart_title

SERIES_KEYS = ("series", "timeseries", "time_series")

Point = tuple[datetime, float | None, float | None]


def pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend (no display needed)."""
    import matplotlib  # lazy: heavy, see the module docstring

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def svg_uri(fig: Any) -> str:
    """The figure as a `data:image/svg+xml;base64,...` URI (the figure is closed)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    pyplot().close(fig)
    return "data:image/svg+xml;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _num(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if f != f else f  # NaN is no value


def _when(v: Any) -> datetime | None:
    try:
        return ensure_utc(datetime.fromisoformat(str(v).replace("Z", "+00:00")))
    except ValueError:
        return None


def triage_series(report: dict[str, Any]) -> list[Point]:
    """(time, error rate, p95 ms) points from a triage report, whatever shape the series
    takes: a list of points, a dict of columns, or a dict of scopes ("*" = all routes)."""
    raw: Any = None
    for key in SERIES_KEYS:
        if report.get(key):
            raw = report[key]
            break
    if isinstance(raw, dict) and not any(k in raw for k in ("times", "t", "time", "start")):
        raw = raw.get("*") or raw.get("all") or next(iter(raw.values()), None)
    points: list[Point] = []
    if isinstance(raw, dict):
        times = raw.get("times") or raw.get("t") or raw.get("time") or []
        start, step = _when(raw.get("start")), _num(raw.get("interval_seconds"))
        if not times and start is not None and step:
            n = max(len(raw.get("error_rate") or []), len(raw.get("p95_ms") or []))
            times = [(start + timedelta(seconds=step * i)).isoformat() for i in range(n)]
        err = raw.get("error_rate") or []
        p95 = raw.get("p95_ms") or raw.get("p95") or []
        for n, t in enumerate(times):
            w = _when(t)
            if w is not None:
                points.append(
                    (
                        w,
                        _num(err[n]) if n < len(err) else None,
                        _num(p95[n]) if n < len(p95) else None,
                    )
                )
    elif isinstance(raw, list):
        for p in raw:
            if not isinstance(p, dict):
                continue
            w = _when(p.get("t") or p.get("time") or p.get("at") or p.get("start"))
            if w is not None:
                points.append((w, _num(p.get("error_rate")), _num(p.get("p95_ms", p.get("p95")))))
    return sorted(points, key=lambda p: p[0])


def _onset(report: dict[str, Any]) -> datetime | None:
    """The onset the triage report found: an ISO time, or a dict with `at`."""
    mark = report.get("onset")
    if isinstance(mark, str):
        return _when(mark)
    if isinstance(mark, dict) and mark.get("at"):
        return _when(mark["at"])
    return None


def incident_chart(report: dict[str, Any], *, onset: datetime | None = None) -> str | None:
    """Error rate and p95 around the incident as an SVG data URI, or None without a series.
    The onset marked is the report's, else `onset`."""
    points = triage_series(report)
    if len(points) < 2:
        return None
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 3))
    xs = [p[0] for p in points]
    ax.plot(xs, [(p[1] or 0) * 100 for p in points], color="#b00020", label="error rate %")
    ax.set_ylabel("error rate (%)")
    ax2 = ax.twinx()
    ax2.plot(
        xs,
        [p[2] if p[2] is not None else float("nan") for p in points],
        color="#1f4e9c",
        linestyle="--",
        label="p95 ms",
    )
    ax2.set_ylabel("p95 (ms)")
    marker = _onset(report) or onset
    if marker is not None and xs[0] <= marker <= xs[-1]:
        ax.axvline(marker, color="#444", linestyle=":", label="onset")
    ax.set_title(chart_title([p[1] for p in points], marker), fontsize=9)
    fig.autofmt_xdate()
    lines = ax.get_legend_handles_labels()
    lines2 = ax2.get_legend_handles_labels()
    ax.legend(lines[0] + lines2[0], lines[1] + lines2[1], loc="upper left", fontsize=8)
    return svg_uri(fig)
