"""Export: postmortems (and reports) as Markdown and standalone HTML documents.

render_markdown(pm)          # '# Postmortem INC-1: ...'
render_html(db, pm)          # <!doctype html> with the error-rate / p95 chart
markdown_to_html(text)       # the small Markdown subset the drafts use, escaped
"""

from __future__ import annotations

import html
import re

from warroom.core import quoting
from warroom.core.db import Database
from warroom.incidents import artifacts
from warroom.learn import charts, compliance
from warroom.learn.drafting import SECTIONS
from warroom.learn.postmortems import Postmortem

EXPORT_CSS = (
    "body{font-family:system-ui,sans-serif;max-width:50rem;margin:1rem auto;padding:0 1rem;"
    "line-height:1.45;color:#111}table{border-collapse:collapse}td,th{border:1px solid #999;"
    "padding:.2rem .4rem}figure img{max-width:100%}code{background:#eee}"
)


def html_document(title: str, body: str) -> str:
    """A standalone HTML page: `title` (escaped here) and `body` (already HTML)."""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{EXPORT_CSS}</style></head><body>"
        f"{body}</body></html>"
    )


def figure(caption: str, uri: str, *, alt: str | None = None) -> str:
    """An embedded chart with its caption (and `alt` text, the caption by default)."""
    return (
        f'<figure><img alt="{html.escape(alt or caption)}" src="{uri}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def render_markdown(pm: Postmortem) -> str:
    """The postmortem as a Markdown document."""
    inc = pm.incident
    sev = inc.severity.value if inc.severity else "no severity"
    out = [
        f"# Postmortem {inc.key}: {quoting.inline(inc.title)}",
        "",
        f"Severity {sev} · status {pm.status.value}"
        + (f" · due {pm.due_at:%Y-%m-%d %H:%M} UTC" if pm.due_at else "")
        + (" · **OVERDUE**" if pm.is_overdue() else ""),
        "",
        "_Blameless: this document describes systems and decisions, not people._",
        "",
    ]
    for name, title in compliance.sections_for(pm.incident, SECTIONS):
        out += [f"## {title}", "", pm.sections.get(name, "").strip() or "_Empty._", ""]
    return "\n".join(out)


def render_html(db: Database, pm: Postmortem) -> str:
    """A standalone HTML document (with the error-rate / p95 chart when a triage report
    with a time series is attached)."""
    report = artifacts.latest_triage_report(db, pm.key)
    chart = charts.incident_chart(report, onset=pm.incident.started_at) if report else None
    shown = (
        figure(
            "Error rate and p95 around the incident",
            chart,
            alt="Error rate and p95 latency around the incident",
        )
        if chart
        else ""
    )
    return html_document(
        f"Postmortem {pm.key}: {pm.incident.title}",
        shown + markdown_to_html(render_markdown(pm)),
    )


_ESCAPE = re.compile(r"\\([\\`*_\[\]<#|+>.)-])")
_HELD = re.compile("\x00(\\d+)\x00")


def _inline(s: str) -> str:
    # Backslash escapes (user text quoted by `quoting.inline`) are held aside as literal
    # characters, so no emphasis or code is made of them.
    s = _ESCAPE.sub(lambda m: f"\x00{ord(m.group(1))}\x00", s.replace("\x00", ""))
    s = html.escape(s)
    s = re.sub(r"`([^`]+)`", r"<code>\1</code>", s)
    s = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", s)
    s = re.sub(r"(?<![\w*])_([^_]+)_(?![\w])", r"<em>\1</em>", s)
    return _HELD.sub(lambda m: html.escape(chr(int(m.group(1)))), s)


def markdown_to_html(text: str) -> str:
    """The small Markdown subset the drafts use (headings, lists, tables, bold, italic,
    code), escaped."""
    out: list[str] = []
    mode = ""

    def close() -> None:
        nonlocal mode
        if mode:
            out.append(f"</{mode}>")
        mode = ""

    def open_(tag: str) -> None:
        nonlocal mode
        if mode != tag:
            close()
            out.append(f"<{tag}>")
            mode = tag

    for raw in text.splitlines():
        line = raw.rstrip()
        m = re.match(r"^(#{1,3}) (.*)$", line)
        if m:
            close()
            n = len(m.group(1))
            out.append(f"<h{n}>{_inline(m.group(2))}</h{n}>")
        elif re.match(r"^- ", line):
            open_("ul")
            out.append(f"<li>{_inline(line[2:])}</li>")
        elif re.match(r"^\d+\. ", line):
            open_("ol")
            out.append(f"<li>{_inline(line.split('. ', 1)[1])}</li>")
        elif line.startswith("|"):
            if re.match(r"^\|[-| ]+\|$", line):
                continue
            open_("table")
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip("|"))]
            out.append("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in cells) + "</tr>")
        elif not line:
            close()
        else:
            close()
            out.append(f"<p>{_inline(line)}</p>")
    close()
    return "\n".join(out)
