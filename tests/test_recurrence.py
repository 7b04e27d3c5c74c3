"""Recurrence: a near-duplicate incident is recognised, an unrelated one is not."""

from __future__ import annotations

import json
from typing import Any

from warroom import incidents
from warroom.incidents import artifacts, timeline
from warroom.learn import actions, recurrence, rootcause


def _report(routes: list[tuple[str, float, float]], signature: str, suspect: str) -> bytes:
    data: dict[str, Any] = {
        "incident": "",
        "onset": None,
        "window": {},
        "severity": "P1",
        "clients": [],
        "routes": [
            {
                "route": r,
                "requests": 1000,
                "error_rate_before": b,
                "error_rate_during": d,
                "p95_before_ms": 100,
                "p95_during_ms": 150,
            }
            for r, b, d in routes
        ],
        "signatures": [{"template": signature}],
        "suspects": [{"id": "x", "kind": suspect, "score": 0.8, "reason": ""}],
        "containment": [],
    }
    return json.dumps(data).encode()


def _attach(db, key, content):
    artifacts.attach(
        db,
        key,
        actor="ana",
        kind="triage-report",
        name="triage.json",
        content=content,
        media_type="application/json",
    )


def _past_incident(db, clock):
    incidents.declare(
        db,
        title="Orders API times out",
        actor="ana",
        severity="P1",
        error_messages="timeout waiting for connection from pool",
    )
    _attach(
        db,
        "INC-1",
        _report(
            [("/api/orders/{id}", 0.001, 0.25), ("/health", 0, 0)],
            "timeout waiting for connection from pool 17",
            "deploy",
        ),
    )
    rootcause.record_root_cause(
        db, "INC-1", category="unindexed_query", summary="unindexed query on orders", actor="ana"
    )
    actions.add(
        db, "INC-1", title="Index orders.customer_id", type="corrective", owner="bo", actor="ana"
    )
    actions.add(db, "INC-1", title="Plan check in CI", type="preventive", owner="cy", actor="ana")
    actions.update(db, "AI-2", status="done", actor="ana")
    incidents.move(db, "INC-1", to="fixed", actor="ana")
    incidents.move(db, "INC-1", to="closed", actor="ana")
    clock.advance(days=20)


def test_near_duplicate_is_found_and_the_open_action_item_escalated(db, clock):
    _past_incident(db, clock)
    inc = incidents.declare(
        db,
        title="Orders API timing out again",
        actor="dee",
        severity="P1",
        error_messages="timeout waiting for connection",
    )
    # the declaration already compared words; the triage report adds the structure
    _attach(
        db,
        inc.key,
        _report(
            [("/api/orders/{id}", 0.002, 0.4)],
            "timeout waiting for connection from pool 3",
            "deploy",
        ),
    )
    matches = recurrence.find_similar(db, inc.key)
    assert [m.key for m in matches] == ["INC-1"]
    m = matches[0]
    assert m.message == (
        "looks like INC-1 (root cause: unindexed query: unindexed query on "
        "orders), whose action item AI-1 is still open"
    )
    assert any(r.startswith("same routes: /api/orders/{id}") for r in m.reasons)
    detected = timeline.read(db, inc.key, kinds=["recurrence.detected"])
    assert len(detected) == 1  # recorded once, not again on the second check
    assert detected[0].data["matches"][0]["open_actions"] == ["AI-1"]
    escalated = timeline.read(db, "INC-1", kinds=["action.escalated"])
    assert [(e.data["id"], e.data["owner"], e.data["because_of"]) for e in escalated] == [
        ("AI-1", "bo", inc.key)
    ]
    assert recurrence.check(db, inc.key, actor="dee")[0].key == "INC-1"
    assert len(timeline.read(db, inc.key, kinds=["recurrence.detected"])) == 1


def test_unrelated_incident_is_not_a_recurrence(db, clock):
    _past_incident(db, clock)
    inc = incidents.declare(
        db,
        title="Login page renders without styles",
        actor="dee",
        severity="P3",
        error_messages="404 on /static/app.css",
    )
    _attach(
        db,
        inc.key,
        _report(
            [("/login", 0.0, 0.2), ("/static/app.css", 0.0, 1.0)],
            "GET /static/app.css 404",
            "config",
        ),
    )
    assert recurrence.find_similar(db, inc.key) == []
    assert timeline.read(db, inc.key, kinds=["recurrence.detected"]) == []
    assert timeline.read(db, "INC-1", kinds=["action.escalated"]) == []


def test_an_open_incident_is_not_a_past_incident(db, clock):
    incidents.declare(db, title="Orders API times out", actor="ana", severity="P1")
    incidents.move(db, "INC-1", to="fixed", actor="ana")
    incidents.declare(db, title="Orders API times out", actor="ana", severity="P1")
    assert recurrence.find_similar(db, "INC-2") == []
    incidents.move(db, "INC-1", to="closed", actor="ana", reason="duplicate of INC-2")
    assert [m.key for m in recurrence.find_similar(db, "INC-2")] == ["INC-1"]


def test_similarity_uses_only_parts_both_incidents_have():
    a = recurrence.Fingerprint(routes={"/a"}, words={"orders", "timeout"})
    b = recurrence.Fingerprint(words={"orders", "timeout"})
    score, reasons = recurrence.similarity(a, b)
    assert score == 1.0
    assert reasons == ["shared words: orders, timeout"]
    assert recurrence.similarity(a, recurrence.Fingerprint()) == (0.0, [])


def test_past_reports_are_read_once_per_version_of_the_incident(db, clock, monkeypatch):
    """Each declaration compares against the recent closed incidents: their triage reports are
    read (together, in one query) and parsed once, and again only after the incident changed
    (a new report, a note)."""
    _past_incident(db, clock)
    reads: list[str] = []
    plain = artifacts.latest_triage_reports
    past_id = incidents.get(db, "INC-1").id

    def counting(database, ids):
        reads.extend("INC-1" for i in ids if i == past_id)
        return plain(database, ids)

    monkeypatch.setattr(artifacts, "latest_triage_reports", counting)
    # unrelated incidents: no recurrence, so nothing is escalated on INC-1 (which would be
    # a change to it, and rightly a new read)
    for title in ("Login page renders without styles", "Search results are stale"):
        incidents.declare(db, title=title, actor="dee", severity="P3")
    assert reads.count("INC-1") == 1
    incidents.add_note(db, "INC-1", text="later finding", actor="ana")  # a new last_seq
    inc = incidents.declare(db, title="Orders API times out again", actor="dee", severity="P2")
    assert reads.count("INC-1") == 2
    assert [m.key for m in recurrence.find_similar(db, inc.key)] == ["INC-1"]
