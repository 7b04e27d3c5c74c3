"""Postmortems: drafted from a full incident driven through the CLI; the 48-hour rule."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from typer.testing import CliRunner

from warroom import incidents
from warroom.cli.main import app
from warroom.incidents import artifacts
from warroom.learn import actions, postmortems

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
    assert set(sections) == set(postmortems.SECTION_NAMES)
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
    for q in postmortems.QUESTIONS:
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
    from warroom.learn import recurrence, reports

    assert len(reports.triage_series(report)) == 20
    assert "data:image/svg+xml;base64," in postmortems.render_html(db, pm)
    fp = recurrence.fingerprint(db, incidents.get(db, "INC-1"))
    assert fp.routes == {"/checkout"} and fp.suspects == {"config"}
    assert fp.services == {"checkout", "payments"}
