"""The damage diff and the readiness check as plain text, for a person (the CLI prints it)."""

from __future__ import annotations

from warroom.recover.diff import DamageReport, RowChange, Values
from warroom.recover.readiness import Readiness

MAX_VALUE = 60


def _short(value: str | None) -> str:
    if value is None:
        return "NULL"
    text = value.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 3] + "..."


def _row(values: Values | None, skip: list[str]) -> str:
    if values is None:
        return ""
    return ", ".join(f"{k}={_short(v)}" for k, v in values.items() if k not in skip)


def change_line(change: RowChange, key: list[str]) -> str:
    """`updated  id=5  bal: 100.00 -> 0.00`."""
    if change.kind == "updated":
        assert change.side is not None and change.live is not None
        what = "; ".join(
            f"{c}: {_short(change.side[c])} -> {_short(change.live[c])}" for c in change.changed
        )
    elif change.kind == "deleted":
        what = "was " + _row(change.side, key)
    else:
        what = "now " + _row(change.live, key)
    return f"{change.kind:8} {change.key_text}  {what}"


def diff_text(report: DamageReport, *, limit: int = 50) -> str:
    """The report: one block per table, its changed rows (at most `limit` each)."""
    side = report.side
    lines = [
        report.summary(),
        f"side copy: recovered to {side.get('until')} (base backup {side.get('backup')})"
        + (f", stopped {side['stopped_at']}" if side.get("stopped_at") else ""),
        f"live: {report.live}, read at {report.taken_at.isoformat(timespec='seconds')}",
    ]
    if report.since is not None:
        lines.append(f"since {report.since.isoformat()} (inserted and updated rows only)")
    for t in report.tables:
        counts = ", ".join(f"{n} {k}" for k, n in t.counts.items())
        lines += [
            "",
            f"{t.table} (key {', '.join(t.key)}): {counts}; "
            f"{t.side_rows} rows then, {t.live_rows} now",
        ]
        if report.since is not None and not t.since_applied:
            lines.append("  no timestamp column: every changed row is listed")
        if t.only_live or t.only_side:
            lines.append(
                "  not compared: "
                + ", ".join(
                    [f"{c} (live only)" for c in t.only_live]
                    + [f"{c} (then only)" for c in t.only_side]
                )
            )
        for change in t.changes[:limit]:
            lines.append("  " + change_line(change, t.key))
        if len(t.changes) > limit:
            lines.append(f"  ... and {len(t.changes) - limit} more rows (the JSON has them all)")
    return "\n".join(lines) + "\n"


def readiness_text(report: Readiness) -> str:
    """The verdict, then each finding with its fix."""
    lines = [f"{report.verdict.upper()}: point-in-time recovery of {report.dsn}"]
    if report.server_version:
        lines[0] += f" (PostgreSQL {report.server_version})"
    for f in report.findings:
        lines.append(f"  {f.level:5} {f.message}")
        if f.fix and f.level in ("warn", "fail", "info"):
            lines.append(f"        fix: {f.fix}")
    return "\n".join(lines) + "\n"
