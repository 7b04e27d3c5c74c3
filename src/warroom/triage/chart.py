"""Chart of error rate and p95 over time with the onset marked (matplotlib, Agg backend)."""

from __future__ import annotations

from pathlib import Path

from warroom.errors import InvalidInput
from warroom.triage.report import TriageReport


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
        ax.plot(times, s.error_rate * 100, color="tab:red", label="5xx %")
        ax.set_ylabel("5xx rate (%)")
        ax.set_xlabel("time (UTC)")
        if report.latency_available:
            ax2 = ax.twinx()
            ax2.plot(times, s.p95, color="tab:blue", label="p95 ms")
            ax2.set_ylabel("p95 latency (ms)")
        if report.onset is not None:
            ax.axvline(
                float(mdates.date2num(report.onset)), color="black", linestyle="--", label="onset"
            )
        ax.xaxis_date()
        ax.set_title(report.headline(), fontsize=10)
        ax.legend(loc="upper left")
        fig.autofmt_xdate()
        fig.tight_layout()
        fig.savefig(out)
    finally:
        plt.close(fig)
    return out
