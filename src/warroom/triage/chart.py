"""Chart of error rate and p95 over time with the onset marked (matplotlib, Agg backend)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from warroom.core.errors import InvalidInput
from warroom.triage.model import TriageReport


def chart_title(error_rates: Iterable[float | None], onset: datetime | None) -> str:
    """A title that says what the chart plots (every request, so its peak is the axis's, not
    a route's rate from the headline): "All requests: 5xx peaks at 6.1%, onset 13:57 UTC"."""
    finite = [float(v) for v in error_rates if v is not None and math.isfinite(float(v))]
    title = "All requests: 5xx rate and p95 latency"
    if finite:
        title = f"All requests: 5xx peaks at {max(finite):.1%}, with p95 latency"
    return title + (f"; onset {onset:%H:%M} UTC" if onset else "")


def write_chart(report: TriageReport, path: str | Path) -> Path:
    """Draw the 5xx rate and p95 per interval into a .png or .svg file."""
    out = Path(path)
    if out.suffix.lower() not in (".png", ".svg"):
        raise InvalidInput(f"chart file {out} must end in .png or .svg")
    if report.series is None:
        raise InvalidInput("no requests were read, so there is nothing to chart")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    s = report.series
    times = mdates.date2num(s.times)
    fig, ax = plt.subplots(figsize=(10, 4), dpi=100)
    try:
        # p95 first on the twin axis, so the error rate (the headline) is drawn on top
        ax.set_zorder(2)
        ax.patch.set_visible(False)
        ax.plot(times, s.error_rate * 100, color="tab:red", linewidth=2, label="5xx %")
        ax.set_ylabel("5xx rate (%)")
        ax.set_xlabel("time (UTC)")
        if report.latency_available:
            ax2 = ax.twinx()
            ax2.plot(times, s.p95, color="tab:blue", linewidth=1, alpha=0.7, label="p95 ms")
            ax2.set_ylabel("p95 latency (ms)")
            ax2.set_zorder(1)
        if report.onset is not None:
            ax.axvline(
                float(mdates.date2num(report.onset)), color="black", linestyle="--", label="onset"
            )
        ax.xaxis_date()
        ax.set_title(chart_title(s.error_rate, report.onset), fontsize=10)
        handles, labels = ax.get_legend_handles_labels()
        if report.latency_available:
            h2, l2 = ax2.get_legend_handles_labels()
            handles, labels = handles + h2, labels + l2
        ax.legend(handles, labels, loc="upper left")
        fig.autofmt_xdate()
        fig.tight_layout()
        fig.savefig(out)
    finally:
        plt.close(fig)
    return out
