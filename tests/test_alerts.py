"""Alert intake: open, attach, dedup, idempotent re-delivery, resolved prompts, routing."""

from __future__ import annotations

import json
import threading

import pytest
from fastapi.testclient import TestClient

from alert_payloads import am_alert, am_payload
from warroom import incidents
from warroom.core import registry
from warroom.core.config import Settings
from warroom.core.db import Database
from warroom.core.errors import InvalidInput
from warroom.core.registry import Area
from warroom.detect import alerts
from warroom.incidents import timeline
from warroom.trust import audit
from warroom.web.app import create_app

ROUTING = alerts.Routing.from_config(
    {
        "default_severity": "P3",
        "routes": [
            {
                "match": {"slo": "checkout", "severity": "page"},
                "service": "checkout",
                "severity": "P1",
            },
            {"match": {"slo": "~search.*"}, "service": "search"},
        ],
    }
)


def _kinds(db: Database, key: str) -> list[str]:
    return [e.kind for e in timeline.read(db, key)]


def test_firing_group_opens_one_incident_and_redelivery_changes_nothing(db, clock) -> None:
    payload = am_payload("checkout", [am_alert("aaa1", slo="checkout", severity="page")])
    first = alerts.receive_alertmanager(db, payload, routing=ROUTING)
    assert first.outcome == "opened" and first.incident == "INC-1" and first.firing == 1
    inc = incidents.get(db, "INC-1")
    assert inc.severity == "P1"
    assert "checkout" in inc.impact_scope
    events = timeline.read(db, "INC-1")
    assert [e.kind for e in events] == ["incident.declared", "alert.firing"]
    again = alerts.receive_alertmanager(db, payload, routing=ROUTING)
    assert again.outcome == "duplicate" and again.incident == "INC-1"
    assert len(timeline.read(db, "INC-1")) == 2
    assert len(incidents.list_incidents(db)) == 1


def test_new_alert_in_the_group_attaches_and_resolution_prompts_verification(db, clock) -> None:
    a1 = am_alert("aaa1", slo="checkout", severity="page", burn_alert="page-fast")
    a2 = am_alert("aaa2", slo="checkout", severity="page", burn_alert="page-slow")
    alerts.receive_alertmanager(db, am_payload("checkout", [a1]), routing=ROUTING)
    clock.advance(minutes=2)
    res = alerts.receive_alertmanager(db, am_payload("checkout", [a1, a2]), routing=ROUTING)
    assert (res.outcome, res.incident, res.firing) == ("attached", "INC-1", 1)
    # same state in a new payload (e.g. the repeat interval with another order): no event
    res = alerts.receive_alertmanager(db, am_payload("checkout", [a2, a1]), routing=ROUTING)
    assert res.outcome == "unchanged"
    clock.advance(minutes=5)
    r1 = {**a1, "status": "resolved", "endsAt": "2026-11-24T12:06:00Z"}
    res = alerts.receive_alertmanager(db, am_payload("checkout", [r1, a2]), routing=ROUTING)
    assert res.resolved == 1
    last = timeline.read(db, "INC-1")[-1]
    assert last.kind == "alert.resolved" and last.data["still_firing"] == 1
    r2 = {**a2, "status": "resolved", "endsAt": "2026-11-24T12:07:00Z"}
    alerts.receive_alertmanager(db, am_payload("checkout", [r1, r2]), routing=ROUTING)
    last = timeline.read(db, "INC-1")[-1]
    assert last.kind == "alert.resolved"
    assert "verify recovery before moving to verified" in last.summary()
    assert incidents.get(db, "INC-1").stage == incidents.Stage.DETECTED  # never auto-closed
    states = {a["fingerprint"]: a["status"] for a in alerts.list_alerts(db, "INC-1")}
    assert states == {"aaa1": "resolved", "aaa2": "resolved"}
    assert _kinds(db, "INC-1").count("alert.firing") == 2


def test_same_fingerprint_in_another_group_attaches_to_the_open_incident(db, clock) -> None:
    alerts.receive_alertmanager(db, am_payload("checkout", [am_alert("fp9", slo="checkout")]))
    other = am_payload("regrouped", [am_alert("fp9", slo="checkout")])
    res = alerts.receive_alertmanager(db, other)
    assert (res.outcome, res.incident) == ("unchanged", "INC-1")
    assert len(incidents.list_incidents(db)) == 1


def test_resolved_only_delivery_for_unknown_group_is_ignored(db, clock) -> None:
    a = am_alert("zz", status="resolved", ends="2026-11-24T11:59:00Z", slo="x")
    res = alerts.receive_alertmanager(db, am_payload("x", [a]))
    assert res.outcome == "ignored" and res.incident is None
    assert incidents.list_incidents(db) == []
    assert alerts.delivery_counts(db) == {"ignored": 1}


def test_routing_maps_labels_to_service_and_severity() -> None:
    assert ROUTING.route({"slo": "checkout", "severity": "page"}) == ("checkout", "P1")
    assert ROUTING.route({"slo": "search-p95", "severity": "ticket"}) == ("search", "P3")
    assert ROUTING.route({"job": "api"}) == ("api", "P3")
    with pytest.raises(InvalidInput):
        alerts.Routing.from_config({"routes": [{"match": {"a": "~("}}]})


def test_concurrent_first_deliveries_open_exactly_one_incident(db, clock) -> None:
    payloads = [
        am_payload("burst", [am_alert(f"fp{i}", slo="burst") for i in range(n + 1)])
        for n in range(6)
    ]
    results: list[alerts.IntakeResult] = []
    errors: list[BaseException] = []

    def post(p):
        try:
            results.append(alerts.receive_alertmanager(db, p))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=post, args=(p,)) for p in payloads * 2]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert len(incidents.list_incidents(db)) == 1
    assert sorted(r.outcome for r in results).count("opened") == 1
    assert sum(r.outcome == "duplicate" for r in results) == 6
    assert len(alerts.list_alerts(db, "INC-1")) == 6


def test_firing_and_resolving_in_one_delivery_appends_two_chained_events(db, clock) -> None:
    a1 = am_alert("c1", slo="chain")
    alerts.receive_alertmanager(db, am_payload("chain", [a1]))
    r1 = {**a1, "status": "resolved", "endsAt": "2026-11-24T12:06:00Z"}
    res = alerts.receive_alertmanager(db, am_payload("chain", [r1, am_alert("c2", slo="chain")]))
    assert (res.outcome, res.firing, res.resolved) == ("attached", 1, 1)
    events = timeline.read(db, "INC-1")
    assert [(e.seq, e.kind) for e in events] == [
        (1, "incident.declared"),
        (2, "alert.firing"),
        (3, "alert.firing"),
        (4, "alert.resolved"),
    ]
    assert [e.prev_hash for e in events[1:]] == [e.hash for e in events[:-1]]
    assert incidents.get(db, "INC-1").last_seq == 4
    assert audit.audit(db, "INC-1").ok


def test_concurrent_deliveries_to_many_groups_keep_every_chain_whole(db, clock) -> None:
    payloads = [
        am_payload(f"grp{g}", [am_alert(f"g{g}a{i}", slo=f"grp{g}") for i in range(n + 1)])
        for g in range(4)
        for n in range(5)
    ]
    errors: list[BaseException] = []

    def post(p):
        try:
            alerts.receive_alertmanager(db, p)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=post, args=(p,)) for p in payloads]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    found = incidents.list_incidents(db)
    assert sorted(i.key for i in found) == ["INC-1", "INC-2", "INC-3", "INC-4"]
    reports = audit.audit_all(db, ledger_too=True)  # the ledger too, under concurrent writers
    assert [r.problems for r in reports] == [[], [], [], [], []]
    assert sorted(len(alerts.list_alerts(db, i.key)) for i in found) == [5, 5, 5, 5]


def test_generic_webhook_with_field_mapping(db, clock) -> None:
    section = {
        "webhooks": {
            "uptime": {
                "group_key": "monitor.id",
                "status": "state",
                "firing": ["down"],
                "fingerprint": "monitor.id",
                "labels": {"alertname": "monitor.name", "service": "monitor.service"},
                "annotations": {"summary": "message"},
            }
        }
    }
    mapping = alerts.FieldMapping.from_config("uptime", section)
    down = {
        "monitor": {"id": 7, "name": "Checkout probe", "service": "checkout"},
        "state": "down",
        "message": "checkout probe failing",
    }
    res = alerts.receive_generic(db, down, mapping=mapping)
    assert res.outcome == "opened"
    assert incidents.get(db, res.incident or "").title == "checkout probe failing"
    assert alerts.receive_generic(db, down, mapping=mapping).outcome == "duplicate"
    up = {**down, "state": "up", "message": "ok"}
    res = alerts.receive_generic(db, up, mapping=mapping)
    assert res.resolved == 1
    with pytest.raises(Exception, match="no webhook mapping named 'nope'"):
        alerts.FieldMapping.from_config("nope", section)


def test_api_accepts_alertmanager_webhooks_and_lists_alerts(db_url, clock) -> None:
    settings = Settings(database_url=db_url, raw={"detect": {"default_severity": "P2"}})
    client = TestClient(create_app(settings))
    payload = am_payload("api", [am_alert("f1", slo="api")])
    r = client.post("/api/v1/alerts/alertmanager", json=payload)
    assert r.status_code == 200, r.text
    assert r.json() == {"outcome": "opened", "incident": "INC-1", "firing": 1, "resolved": 0}
    assert client.post("/api/v1/alerts/alertmanager", json=payload).json()["outcome"] == (
        "duplicate"
    )
    # the same payload in other bytes (key order, spacing) is the same delivery too
    reordered = json.dumps(dict(reversed(list(payload.items()))), indent=1).encode()
    r = client.post(
        "/api/v1/alerts/alertmanager",
        content=reordered,
        headers={"Content-Type": "application/json"},
    )
    assert r.json() == {"outcome": "duplicate", "incident": "INC-1", "firing": 0, "resolved": 0}
    assert alerts.delivery_counts(Database(db_url)) == {"opened": 1}
    listed = client.get("/api/v1/incidents/INC-1/alerts").json()
    assert [a["fingerprint"] for a in listed] == ["f1"]
    bad = client.post("/api/v1/alerts/alertmanager", json={"version": "4", "alerts": []})
    assert bad.status_code == 422 and "groupKey" in bad.text
    bad = client.post(
        "/api/v1/alerts/alertmanager",
        json={**payload, "alerts": [{**payload["alerts"][0], "status": "x"}]},
    )
    assert bad.status_code == 422
    bad = client.post(
        "/api/v1/alerts/alertmanager",
        content=b"not json",
        headers={"Content-Type": "application/json"},
    )
    assert bad.status_code == 422 and "not JSON" in bad.json()["detail"]
    r = client.post("/api/v1/alerts/webhook/unknown", json={"a": 1})
    assert r.status_code == 404


def test_after_declare_hooks_run_once_after_an_alert_opens_an_incident(db, clock) -> None:
    seen: list[str] = []

    def hook(database, incident, actor):
        seen.append(f"{incident.key} {actor}")

    with registry.extra_area(Area("probe", "records declarations", after_declare=(hook,))):
        payload = am_payload("hooked", [am_alert("h1", slo="hooked")])
        alerts.receive_alertmanager(db, payload)
        alerts.receive_alertmanager(db, payload)
        alerts.receive_alertmanager(db, am_payload("hooked", [am_alert("h2", slo="hooked")]))
    assert seen == ["INC-1 alertmanager"]


def test_concurrent_copies_of_one_payload_wait_for_the_first_instead_of_retrying(
    db, clock, monkeypatch
) -> None:
    """The delivery is claimed first (unique payload hash, ON CONFLICT DO NOTHING): copies
    posted at once wait for the first and answer "duplicate"; none fails and runs again."""
    runs_per_call: list[int] = []
    plain = db.retrying

    def counting(fn, **kwargs):
        runs = [0]

        def once():
            runs[0] += 1
            return fn()

        try:
            return plain(once, **kwargs)
        finally:
            runs_per_call.append(runs[0])

    monkeypatch.setattr(db, "retrying", counting)
    payload = am_payload("copies", [am_alert(f"cp{i}", slo="copies") for i in range(3)])
    results: list[alerts.IntakeResult] = []
    errors: list[BaseException] = []

    def post():
        try:
            results.append(alerts.receive_alertmanager(db, payload))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=post) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert sorted(r.outcome for r in results) == ["duplicate"] * 7 + ["opened"]
    assert runs_per_call and all(n == 1 for n in runs_per_call)
    assert alerts.delivery_counts(db)["opened"] == 1


@pytest.mark.parametrize("starts", [1_764_000_000, 1.7e9, 10**30, True, [], {"t": 1}])
def test_a_startsat_that_is_not_an_rfc3339_string_is_refused_naming_the_field(db, starts) -> None:
    payload = am_payload("numeric", [{**am_alert("n1", slo="numeric"), "startsAt": starts}])
    with pytest.raises(InvalidInput, match="not an RFC 3339 time") as refused:
        alerts.receive_alertmanager(db, payload)
    assert refused.value.field == "alerts[0].startsAt"
    assert alerts.delivery_counts(db) == {}


def test_startsat_text_is_read_to_the_microsecond_and_the_zero_time_is_no_time(db) -> None:
    a = {**am_alert("t1", slo="times"), "startsAt": "2026-11-24T11:55:00.123456789+02:00"}
    note = alerts.parse_alertmanager(am_payload("times", [a]))
    assert note.alerts[0].starts_at.isoformat() == "2026-11-24T09:55:00.123456+00:00"
    assert note.alerts[0].ends_at is None  # 0001-01-01: Alertmanager's "not ended"
    with pytest.raises(InvalidInput, match="'yesterday' is not an RFC 3339 time"):
        alerts.parse_alertmanager(am_payload("times", [{**a, "startsAt": "yesterday"}]))


def test_api_answers_422_never_500_for_odd_start_times(db_url, clock) -> None:
    section = {
        "webhooks": {"probe": {"group_key": "id", "status": "state", "starts_at": "at"}},
    }
    client = TestClient(create_app(Settings(database_url=db_url, raw={"detect": section})))
    payload = am_payload("odd", [{**am_alert("o1", slo="odd"), "startsAt": 1_764_000_000}])
    r = client.post("/api/v1/alerts/alertmanager", json=payload)
    assert r.status_code == 422 and r.json()["field"] == "alerts[0].startsAt", r.text
    # generic monitors may send Unix seconds or milliseconds, within the calendar
    r = client.post("/api/v1/alerts/webhook/probe", json={"id": 1, "state": "down", "at": 1.7e12})
    assert r.status_code == 200 and r.json()["outcome"] == "opened", r.text
    listed = client.get("/api/v1/incidents/INC-1/alerts").json()
    assert listed[0]["starts_at"].startswith("2023-11-14T22:13:20")
    for at in (10**30, -5, "soon"):
        r = client.post("/api/v1/alerts/webhook/probe", json={"id": 2, "state": "down", "at": at})
        assert r.status_code == 422 and r.json()["field"] == "at", r.text


def test_openapi_documents_every_detect_answer(db_url) -> None:
    doc = TestClient(create_app(Settings(database_url=db_url))).get("/api/v1/openapi.json").json()
    for path, method, name in (
        ("/api/v1/alerts/alertmanager", "post", "IntakeOut"),
        ("/api/v1/alerts/webhook/{source}", "post", "IntakeOut"),
        ("/api/v1/incidents/{key}/alerts", "get", "AlertOut"),
    ):
        answer = doc["paths"][path][method]["responses"]["200"]["content"]["application/json"]
        assert name in json.dumps(answer["schema"]), (path, answer)
    intake = doc["components"]["schemas"]["IntakeOut"]["properties"]
    assert set(intake) == {"outcome", "incident", "firing", "resolved"}
