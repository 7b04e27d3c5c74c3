"""Postmortems: drafted from a full incident driven through the CLI; the 48-hour rule."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from warroom import incidents
from warroom.cli.main import app
from warroom.core.config import Settings
from warroom.core.errors import Hint, InvalidInput, InvalidTransition, NotFound
from warroom.incidents import artifacts, desk
from warroom.learn import actions, charts, drafting, export, postmortems, recurrence, rootcause

runner = CliRunner()

TRIAGE = {
    "incident": "INC-1",
    "onset": "2026-11-24T11:52:00+00:00",
    "window": {"start": "2026-11-24T11:00:00+00:00", "end": "2026-11-24T12:30:00+00:00"},
    "severity": "P1",
    "routes": [
        {
            "route": "/api/orders/{id}",
            "requests": 5400,
            "error_rate_before": 0.002,
            "error_rate_during": 0.31,
            "p95_before_ms": 120,
            "p95_during_ms": 4100,
        },
        {
            "route": "/health",
            "requests": 90,
            "error_rate_before": 0.0,
            "error_rate_during": 0.0,
            "p95_before_ms": 2,
            "p95_during_ms": 2,
        },
    ],
    "clients": [{"client": "mobile-app/5.2"}],
    "signatures": [{"template": "timeout waiting for connection from pool"}],
    "suspects": [
        {
            "id": "deploy orders-api v42",
            "kind": "deploy",
            "score": 0.91,
            "reason": "deployed 3 minutes before onset",
        }
    ],
    "containment": [],
    "series": [
        {
            "t": f"2026-11-24T11:{m:02d}:00+00:00",
            "error_rate": 0.002 if m < 52 else 0.3,
            "p95_ms": 120 if m < 52 else 4000,
        }
        for m in range(30, 60)
    ],
}


def cli(url: str, *args: str) -> str:
    result = runner.invoke(app, [*args, "--db", url, "--as", "ana"])
    assert result.exit_code == 0, result.output
    return result.output


def test_full_incident_through_cli_fills_every_postmortem_section(db, db_url, clock):
    cli(
        db_url,
        "declare",
        "Checkout returns 500 on orders",
        "--severity",
        "P1",
        "--started",
        "2026-11-24T11:50:00Z",
        "--impact",
        "customers cannot pay",
        "--errors",
        "timeout waiting for connection",
    )
    clock.advance(minutes=3)
    cli(db_url, "role", "INC-1", "commander", "ana")
    artifacts.attach(
        db,
        "INC-1",
        actor="ana",
        kind="triage-report",
        name="triage.json",
        content=json.dumps(TRIAGE).encode(),
        media_type="application/json",
    )
    clock.advance(minutes=2)
    cli(db_url, "note", "INC-1", "went well: the rollback script was ready")
    cli(db_url, "note", "INC-1", "lesson: new queries need a plan check")
    clock.advance(minutes=15)
    cli(db_url, "stage", "INC-1", "contained")
    clock.advance(minutes=20)
    cli(
        db_url,
        "rootcause",
        "INC-1",
        "--category",
        "unindexed_query",
        "--summary",
        "the v42 orders query scans orders without an index on customer_id",
        "--factor",
        "no query plan check in review",
    )
    cli(
        db_url,
        "action",
        "add",
        "INC-1",
        "Index orders.customer_id",
        "--type",
        "corrective",
        "--owner",
        "bo",
        "--due",
        "2026-11-27T12:00:00Z",
        "--priority",
        "P1",
    )
    clock.advance(minutes=30)
    cli(db_url, "stage", "INC-1", "fixed")
    cli(db_url, "stage", "INC-1", "verified", "--reason", "error rate back to 0.2%")
    cli(db_url, "stage", "INC-1", "closed")

    out = cli(db_url, "postmortem", "INC-1", "--json")
    pm = json.loads(out)
    sections = {s["name"]: s["text"] for s in pm["sections"]}
    assert set(sections) == set(drafting.SECTION_NAMES)
    assert all(text.strip() for text in sections.values())
    assert "Checkout returns 500 on orders" in sections["summary"]
    assert "unindexed query" in sections["summary"]
    assert "MTTD, start to detection): 10m" in sections["impact"]
    assert "MTTR, start to resolution): 1h20m" in sections["impact"]
    assert "/api/orders/{id}" in sections["impact"] and "31.0%" in sections["impact"]
    assert "mobile-app/5.2" in sections["impact"]
    assert "Declared (P1)" in sections["timeline"]
    assert "Impact began" in sections["timeline"]
    assert "Stage detected -> contained" in sections["timeline"]
    assert "no query plan check in review" in sections["root_cause"]
    assert "deploy orders-api v42" in sections["root_cause"]
    assert sections["actions_taken"].index("contained") < sections["actions_taken"].index(
        "Root cause"
    )
    assert "rollback script was ready" in sections["went_well"]
    assert "A commander (ana) took charge within 3m" in sections["went_well"]
    assert "not verified from the numbers" in sections["went_badly"]
    for q in drafting.QUESTIONS:
        assert q in sections["questions"]
    assert "10m from the start of the impact to detection" in sections["questions"]
    assert "new queries need a plan check" in sections["lessons"]
    assert (
        "AI-1 [corrective, P1, open] Index orders.customer_id (owner bo)"
        in sections["action_items"]
    )
    assert pm["status"] == "draft"

    md = cli(db_url, "postmortem", "INC-1")
    assert md.startswith("# Postmortem INC-1: Checkout returns 500 on orders")
    html = cli(db_url, "postmortem", "INC-1", "--format", "html")
    assert "data:image/svg+xml;base64," in html and "<h2>Impact</h2>" in html


def test_postmortem_is_due_48_hours_after_resolution_for_p1(db, clock):
    incidents.declare(db, title="Payments down", actor="ana", severity="P1", commander="ana")
    incidents.declare(db, title="Typo on the about page", actor="ana", severity="P3")
    for key in ("INC-1", "INC-2"):
        incidents.move(db, key, to="fixed", actor="ana")
    resolved = clock.now
    assert [d.key for d in postmortems.due_list(db)] == ["INC-1"]
    clock.advance(hours=47, minutes=59)
    assert postmortems.due_list(db, overdue_only=True) == []
    clock.advance(minutes=2)
    overdue = postmortems.due_list(db, overdue_only=True)
    assert [(d.key, d.status, d.due_at) for d in overdue] == [
        ("INC-1", "missing", datetime(2026, 11, 26, 12, 0, tzinfo=UTC))
    ]
    assert resolved == datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    pm = postmortems.draft(db, "INC-1", actor="ana")
    assert pm.is_overdue()
    postmortems.set_status(db, "INC-1", status="review", actor="ana")
    assert postmortems.due_list(db, overdue_only=True)[0].status == "in_review"
    postmortems.set_status(db, "INC-1", status="published", actor="ana")
    assert postmortems.due_list(db) == []
    assert not postmortems.get(db, "INC-1").is_overdue()


def test_published_postmortem_cannot_be_edited_or_skip_review(db, clock):
    from warroom.core.errors import InvalidTransition

    incidents.declare(db, title="Search slow", actor="ana", severity="P2")
    postmortems.draft(db, "INC-1", actor="ana")
    try:
        postmortems.set_status(db, "INC-1", status="published", actor="ana")
        raise AssertionError("draft went straight to published")
    except InvalidTransition as exc:
        assert "in_review" in str(exc)
    pm = postmortems.update_section(
        db, "INC-1", section="lessons", text="Bob was careless with the config.", actor="ana"
    )
    assert pm.sections["lessons"] == "Bob was careless with the config."
    assert pm.findings["lessons"][0].person == "Bob"
    postmortems.set_status(db, "INC-1", status="in_review", actor="ana")
    postmortems.set_status(db, "INC-1", status="published", actor="ana")
    try:
        postmortems.update_section(db, "INC-1", section="lessons", text="x", actor="ana")
        raise AssertionError("a published postmortem was edited")
    except InvalidTransition as exc:
        assert "published" in str(exc)


def test_closing_p1_without_action_items_needs_a_recorded_reason(db, db_url, clock):
    from warroom.incidents import timeline

    incidents.declare(db, title="Queue stuck", actor="ana", severity="P1", commander="ana")
    incidents.move(db, "INC-1", to="fixed", actor="ana")
    result = runner.invoke(app, ["stage", "INC-1", "closed", "--db", db_url])
    assert result.exit_code == 2
    assert "no action items" in result.output
    cli(db_url, "stage", "INC-1", "closed", "--reason", "one-off hardware failure, replaced")
    kinds = [(e.kind, e.data.get("reason")) for e in timeline.read(db, "INC-1")]
    assert ("close.without_actions", "one-off hardware failure, replaced") in kinds
    # an incident with an item closes without a reason
    incidents.declare(db, title="Queue stuck again", actor="ana", severity="P0", commander="ana")
    actions.add(db, "INC-2", title="Alert on queue age", type="detective", actor="ana")
    incidents.move(db, "INC-2", to="fixed", actor="ana")
    assert incidents.move(db, "INC-2", to="closed", actor="ana").stage.value == "closed"


def test_report_in_the_triage_engine_shape_feeds_impact_suspects_and_chart(db, clock):
    incidents.declare(db, title="Checkout errors", actor="ana", severity="P2")
    report = {
        "incident": "INC-1",
        "onset": "2026-11-24T11:40:00+00:00",
        "clients": {"affected": 40, "active_since_onset": 200, "share": 0.2, "basis": "got a 5xx"},
        "routes": [
            {
                "route": "/checkout",
                "affected": True,
                "requests_during": 900,
                "error_rate_before": 0.001,
                "error_rate_during": 0.12,
                "p95_before_ms": 80,
                "p95_during_ms": 95,
            }
        ],
        "signatures": [{"id": "s1", "template": "PaymentGatewayTimeout <*>", "count": 9}],
        "suspects": [
            {
                "id": "cfg-7",
                "score": 0.7,
                "reason": "changed 2 minutes before",
                "change": {"id": "cfg-7", "kind": "config", "service": "payments"},
            }
        ],
        "series": {
            "interval_seconds": 60,
            "start": "2026-11-24T11:30:00+00:00",
            "requests": [10] * 20,
            "error_rate": [0.0] * 10 + [0.12] * 10,
            "p95_ms": [80.0] * 10 + [None] * 10,
        },
    }
    artifacts.attach(
        db,
        "INC-1",
        actor="ana",
        kind="triage",
        name="triage.json",
        content=json.dumps(report).encode(),
        media_type="application/json",
    )
    pm = postmortems.draft(db, "INC-1", actor="ana")
    assert "Clients affected: 40 of 200 active (20.0%), got a 5xx" in pm.sections["impact"]
    assert "| /checkout | 900 | 0.1% | 12.0% |" in pm.sections["impact"]
    assert "cfg-7 (config, score 0.7)" in pm.sections["root_cause"]
    assert "`PaymentGatewayTimeout <*>`" in pm.sections["root_cause"]
    assert len(charts.triage_series(report)) == 20
    assert "data:image/svg+xml;base64," in export.render_html(db, pm)
    fp = recurrence.fingerprint(db, incidents.get(db, "INC-1"))
    assert fp.routes == {"/checkout"} and fp.suspects == {"config"}
    assert fp.services == {"checkout", "payments"}


def test_due_hours_come_from_the_settings_the_shell_passes(
    db, db_url, clock, tmp_path, monkeypatch
):
    incidents.declare(db, title="Payments down", actor="ana", severity="P2", commander="ana")
    incidents.move(db, "INC-1", to="fixed", actor="ana")
    assert postmortems.due_list(db) == []  # P2 is not due by default
    settings = Settings(raw={"postmortems": {"due_hours": 24, "due_severities": ["P2"]}})
    due = postmortems.due_list(db, settings=settings)
    assert [(d.key, d.due_at) for d in due] == [
        ("INC-1", datetime(2026, 11, 25, 12, 0, tzinfo=UTC))
    ]
    pm = postmortems.draft(db, "INC-1", actor="ana", settings=settings)
    assert pm.due_at == datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    assert postmortems.get(db, "INC-1").due_at is None  # the defaults: P2 is not due

    # the CLI reads warroom.toml once, in the shell, and passes it in
    toml = tmp_path / "warroom.toml"
    toml.write_text('[postmortems]\ndue_hours = 24\ndue_severities = ["P2"]\n')
    monkeypatch.setenv("WARROOM_CONFIG", str(toml))
    result = runner.invoke(app, ["postmortems", "--json", "--db", db_url])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.output)
    assert [(d["incident"], d["due_at"]) for d in listed] == [
        ("INC-1", "2026-11-25T12:00:00+00:00")
    ]
    shown = json.loads(cli(db_url, "postmortem", "INC-1", "--json"))
    assert shown["due_at"] == "2026-11-25T12:00:00+00:00"

    bad = Settings(raw={"postmortems": {"due_hours": "two days"}})
    with pytest.raises(InvalidInput, match="due_hours") as exc:
        postmortems.due_list(db, settings=bad)
    assert exc.value.field == "due_hours"


def test_refusals_say_what_to_do_next_as_hints_not_commands(db, db_url, clock):
    incidents.declare(db, title="Search slow", actor="ana", severity="P2")
    with pytest.raises(NotFound) as missing:
        postmortems.get(db, "inc-1")
    assert str(missing.value) == "INC-1 has no postmortem yet"
    assert missing.value.hint == Hint(
        "draft_postmortem", "draft it from the timeline", incident="INC-1"
    )
    result = runner.invoke(app, ["postmortem-status", "INC-1", "review", "--db", db_url])
    assert result.exit_code == 1
    assert "next: draft it from the timeline: warroom postmortem INC-1" in result.output

    postmortems.draft(db, "INC-1", actor="ana")
    with pytest.raises(InvalidTransition) as skipped:
        postmortems.set_status(db, "INC-1", status="published", actor="ana")
    assert skipped.value.field == "status"
    assert skipped.value.hint is not None
    assert skipped.value.hint.action == "set_postmortem_status"
    assert dict(skipped.value.hint.params) == {"status": "in_review"}

    postmortems.set_status(db, "INC-1", status="in_review", actor="ana")
    with pytest.raises(InvalidTransition) as redraft:
        postmortems.draft(db, "INC-1", actor="ana", redraft=True)
    assert redraft.value.hint is not None
    assert dict(redraft.value.hint.params) == {"status": "draft"}
    postmortems.set_status(db, "INC-1", status="published", actor="ana")
    with pytest.raises(InvalidTransition) as final:
        postmortems.draft(db, "INC-1", actor="ana", redraft=True)
    assert final.value.hint is None  # a published postmortem never goes back

    with pytest.raises(InvalidInput) as empty:
        rootcause.record_root_cause(db, "INC-1", category="other", summary=" ", actor="ana")
    assert empty.value.field == "summary" and "--" not in str(empty.value)


def test_a_bare_draft_speaks_in_words_not_commands(db, clock):
    incidents.declare(db, title="Checkout slow", actor="ana", severity="P1", commander="ana")
    pm = postmortems.draft(db, "INC-1", actor="ana")
    assert "No root cause recorded yet: record it on the incident" in pm.sections["root_cause"]
    assert "None yet: add the action items" in pm.sections["action_items"]
    document = export.render_markdown(pm) + export.render_html(db, pm)
    assert re.search(r"\bwarroom [a-z]|--[a-z]", document) is None


def test_desk_warns_in_words_and_carries_the_next_step_as_data(db, clock):
    incidents.declare(db, title="Payments down", actor="ana", severity="P1", commander="ana")
    incidents.move(db, "INC-1", to="fixed", actor="ana")
    clock.advance(hours=49)
    entry = desk.page(db).entries[0]
    column = entry.columns["postmortem"]
    assert column["overdue"] and column["status"] == "missing"
    assert column["hint"] == {
        "action": "draft_postmortem",
        "text": "draft the postmortem",
        "incident": "INC-1",
    }
    assert "postmortem overdue since 2026-11-26 12:00 UTC" in entry.warnings
    postmortems.draft(db, "INC-1", actor="ana")
    column = desk.page(db).entries[0].columns["postmortem"]
    assert column["hint"]["action"] == "set_postmortem_status"
    assert column["hint"]["params"] == {"status": "in_review"}
    postmortems.set_status(db, "INC-1", status="in_review", actor="ana")
    postmortems.set_status(db, "INC-1", status="published", actor="ana")
    entry = desk.page(db).entries[0]
    assert entry.columns["postmortem"]["hint"] is None
    assert not [w for w in entry.warnings if "postmortem" in w]
