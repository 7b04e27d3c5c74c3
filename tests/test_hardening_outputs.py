"""What warroom writes out holds against what people typed: CSV cells are not formulas,
Markdown quotes cannot forge structure, feed links use the configured address, hosts are
checked, readiness follows the database, and the closing identity is recorded."""

from __future__ import annotations

import csv
import io
from typing import Any

from fastapi.testclient import TestClient

from warroom import incidents
from warroom.core import quoting
from warroom.core.config import Settings, load_settings
from warroom.core.db import Database
from warroom.incidents import timeline
from warroom.learn import actions, export, postmortems, rootcause
from warroom.web.app import create_app

FORGED = (
    "looking\n## Root cause and contributing factors\nIt was Bob.\n"
    "- 2026-11-24 12:00 UTC - Declared by mallory\n1. forged step\n"
    "[click here](https://evil.example) <script>x</script> | cell |"
)


def test_csv_cells_that_a_spreadsheet_would_run_are_neutralised(db: Database, clock: Any) -> None:
    incidents.declare(db, title="db slow", actor="ana", severity="P2")
    titles = ['=HYPERLINK("http://evil","x")', "@SUM(A1:A9)", "+1+1", "-2+3"]
    for t in titles:
        actions.add(
            db, "INC-1", title=t, type="preventive", actor="ana", owner="=cmd|' /C calc'!A0"
        )
    rows = list(csv.DictReader(io.StringIO(actions.export_csv(actions.list_items(db)))))
    assert [r["title"] for r in rows] == ["'" + t for t in titles]
    assert all(r["owner"] == "'=cmd|' /C calc'!A0" for r in rows)
    assert quoting.csv_cell(-5) == -5 and quoting.csv_cell("plain") == "plain"
    assert quoting.csv_cell("\tcmd") == "'\tcmd" and quoting.csv_cell("\rx") == "'\rx"


def test_quoted_text_cannot_forge_markdown_structure(db: Database, clock: Any) -> None:
    incidents.declare(db, title="# Fake title\n- item", actor="ana", severity="P2")
    incidents.add_note(db, "INC-1", text=FORGED, actor="ana")
    rootcause.record_root_cause(
        db, "INC-1", category="retry_storm", summary="retries\n## Action items", actor="ana"
    )
    incidents.move(db, "INC-1", to="fixed", actor="ana")
    pm = postmortems.draft(db, "INC-1", actor="ana")
    md = export.render_markdown(pm)
    headings = [line for line in md.splitlines() if line.startswith("#")]
    assert sum(h.startswith("## Root cause") for h in headings) == 1, headings
    assert headings[0].startswith("# Postmortem INC-1: \\# Fake title - item")
    assert not any(
        line.startswith("- 2026-11-24 12:00 UTC - Declared by mallory") for line in md.splitlines()
    )
    assert "\\[click here\\](https://evil.example)" in md  # no link: its brackets are text
    assert "[click here](" not in md.replace("\\[click here\\](", "")
    html = export.markdown_to_html(md)
    assert "<h2>Root cause and contributing factors</h2>" in html
    assert html.count("<h2>Root cause") == 1 and "<script>" not in html
    assert "[click here](https://evil.example)" in html.replace("&lt;", "<")  # shown as text
    # The timeline export: one table row per event, whatever a note holds.
    inc = incidents.get(db, "INC-1")
    events = timeline.read(db, "INC-1")
    table = timeline.markdown(inc.key, inc.title, inc.severity, inc.stage, events)
    body = table.splitlines()
    assert body[0].startswith("# INC-1: \\# Fake title")
    rows = [line for line in body if line.startswith("| ") and line[2:3].isdigit()]
    assert len(rows) == len(events)
    assert quoting.unescape(quoting.inline("a\n# b [c](d)")) == "a # b [c](d)"


def test_hosts_are_checked_and_links_use_the_configured_address(
    db: Database, clock: Any, monkeypatch: Any
) -> None:
    monkeypatch.delenv("WARROOM_ALLOWED_HOSTS")
    plain = TestClient(create_app(load_settings(database_url=db.url), database=db))
    for host in ("evil.example", "attacker.localhost.evil.example", "127.0.0.1.nip.io"):
        r = plain.get("/status", headers={"Host": host})
        assert r.status_code in (400, 422) and "allowed_hosts" in r.text, host
    for host in ("localhost:8000", "127.0.0.1", "[::1]:8000"):
        assert plain.get("/healthz", headers={"Host": host}).status_code == 200, host
    settings = Settings(
        database_url=db.url,
        raw={"web": {"public_url": "https://warroom.example.com", "allowed_hosts": ["localhost"]}},
    )
    c = TestClient(create_app(settings, database=db))
    feed = c.get("/status/feed.atom", headers={"Host": "warroom.example.com"})
    assert feed.status_code == 200 and "https://warroom.example.com/status" in feed.text
    assert c.get("/status", headers={"Host": "127.0.0.1"}).status_code in (400, 422)
    r = c.get("/status/feed.atom", headers={"Host": "localhost"})
    assert "localhost" not in r.text and "https://warroom.example.com" in r.text


def test_readyz_answers_503_while_the_database_is_unreachable(db: Database) -> None:
    up = TestClient(create_app(load_settings(database_url=db.url), database=db))
    assert up.get("/readyz").status_code == 200 and up.get("/healthz").status_code == 200
    gone = "postgresql+psycopg://postgres@127.0.0.1:1/none"
    down = TestClient(create_app(load_settings(database_url=gone)))
    assert down.get("/healthz").status_code == 200  # the process is alive
    r = down.get("/readyz")
    assert r.status_code == 503 and r.json()["status"] == "unavailable"


def test_closing_without_action_items_records_who_closed(db: Database, clock: Any) -> None:
    incidents.declare(db, title="db slow", actor="ana", severity="P1")
    incidents.move(db, "INC-1", to="fixed", actor="ana")
    incidents.move(db, "INC-1", to="closed", actor="cy", reason="nothing to prevent")
    found = [e for e in timeline.read(db, "INC-1") if e.kind == "close.without_actions"]
    assert [e.actor for e in found] == ["cy"]
