"""REST API: status codes, validation messages that name the field, 404 with the key."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from warroom.core.config import load_settings
from warroom.web.app import create_app


@pytest.fixture
def client(db_url: str) -> TestClient:
    return TestClient(create_app(load_settings(database_url=db_url)))


def test_declare_and_read_back(client: TestClient) -> None:
    r = client.post(
        "/api/v1/incidents",
        json={"title": "Queue backed up", "severity": "P1", "impact_scope": "order emails"},
        headers={"X-Warroom-User": "ana"},
    )
    assert r.status_code == 201
    body = r.json()
    assert body["key"] == "INC-1" and body["created_by"] == "ana"
    assert "NO COMMANDER" in body["warnings"][0]
    assert client.get("/api/v1/incidents/inc-1").json()["title"] == "Queue backed up"
    assert [i["key"] for i in client.get("/api/v1/incidents").json()] == ["INC-1"]


@pytest.mark.parametrize(
    ("payload", "field", "status"),
    [
        ({"title": ""}, "title", 422),
        ({"title": "x", "severity": "P9"}, "severity", 422),
        ({"title": "x", "started_at": "2999-01-01T00:00:00Z"}, "started_at", 422),
        ({"title": "x", "description": "a" * 1_000_000}, "description", 422),
        ({"title": "x", "colour": "red"}, "colour", 422),
        ({"title": "x", "started_at": "soon"}, "started_at", 422),
    ],
)
def test_validation_errors_name_the_field(
    client: TestClient, payload: dict[str, object], field: str, status: int
) -> None:
    client.post("/api/v1/incidents", json={"title": "existing"})
    r = client.post("/api/v1/incidents", json=payload)
    assert r.status_code == status, r.text
    body = r.json()
    assert field in body["detail"] or body.get("field") == field
    assert len(client.get("/api/v1/incidents").json()) == 1


def test_unknown_incident_is_404_with_its_key(client: TestClient) -> None:
    r = client.get("/api/v1/incidents/INC-404")
    assert r.status_code == 404
    assert "INC-404" in r.json()["detail"]
    assert client.post("/api/v1/incidents/INC-404/notes", json={"text": "x"}).status_code == 404


def test_refused_transition_is_409_with_what_to_do(client: TestClient) -> None:
    client.post("/api/v1/incidents", json={"title": "x", "severity": "P2"})
    r = client.post("/api/v1/incidents/INC-1/stage", json={"to": "verified"})
    assert r.status_code == 409
    assert "fix it first" in r.json()["detail"]
    r = client.post("/api/v1/incidents/INC-1/stage", json={"to": "fixed"})
    assert r.json()["skipped_stages"] == ["contained", "root_caused"]
    r = client.post("/api/v1/incidents/INC-1/reopen", json={"reason": "back"})
    assert r.status_code == 200 and r.json()["stage"] == "detected"


def test_tasks_roles_and_markdown_timeline(client: TestClient) -> None:
    client.post("/api/v1/incidents", json={"title": "x"})
    assert (
        client.post(
            "/api/v1/incidents/INC-1/tasks", json={"title": "check APM", "assignee": "eve"}
        ).json()["id"]
        == "T1"
    )
    r = client.patch("/api/v1/incidents/INC-1/tasks/T1", json={"status": "done"})
    assert r.json()["status"] == "done"
    r = client.post("/api/v1/incidents/INC-1/roles", json={"role": "scribe", "person": "sam"})
    assert r.json()["roles"] == {"scribe": "sam"}
    r = client.delete("/api/v1/incidents/INC-1/roles/scribe")
    assert r.json()["roles"] == {}
    md = client.get("/api/v1/incidents/INC-1/timeline.md")
    assert md.status_code == 200 and "check APM" in md.text
    assert len(client.get("/api/v1/incidents/INC-1/timeline?since=3").json()) == 2


def test_severity_suggest_and_definitions(client: TestClient) -> None:
    r = client.post("/api/v1/severity/suggest", json={"business_impact": "critical"})
    assert r.json()["severity"] == "P0" and r.json()["deciding_factor"] == "business_impact"
    r = client.post("/api/v1/severity/suggest", json={"affected_users": "everyone"})
    assert r.status_code == 422 and "affected users" in r.json()["detail"]
    assert set(client.get("/api/v1/severity").json()) == {"P0", "P1", "P2", "P3", "P4"}


def test_openapi_is_served(client: TestClient) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/incidents" in spec["paths"]
    assert client.get("/docs").status_code == 200


def test_openapi_documents_every_incidents_response(client: TestClient) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    checked = 0
    for path, methods in spec["paths"].items():
        if not path.startswith(("/api/v1/incidents", "/api/v1/severity")):
            continue
        for method, op in methods.items():
            if "incidents" not in op.get("tags", []):
                continue  # other areas' routes under /incidents/{key}/...
            ok = next(v for k, v in op["responses"].items() if k.startswith("2"))
            content = ok["content"]
            if path.endswith("timeline.md"):
                assert "text/plain" in content
                continue
            schema = content["application/json"]["schema"]
            assert "$ref" in schema or "$ref" in schema.get("items", {}), (method, path, schema)
            checked += 1
    assert checked == 15
    incident = spec["components"]["schemas"]["IncidentOut"]["properties"]
    assert {"warnings", "nags", "tasks", "factors", "stage_times"} <= set(incident)


def test_incident_json_keeps_its_shape_and_adds_nags(client: TestClient) -> None:
    body = client.post("/api/v1/incidents", json={"title": "x", "severity": "P1"}).json()
    assert body["warnings"] == ["NO COMMANDER on a P1: name one now"]
    assert body["nags"] == [
        {
            "text": "NO COMMANDER on a P1: name one now",
            "hint": {
                "action": "assign_role",
                "text": "name a commander",
                "incident": "INC-1",
                "params": {"role": "commander"},
            },
        }
    ]
    assert body["started_at"].endswith("+00:00") and body["commander"] is None
    assert body["stage_times"]["contained"] is None and body["severity"] == "P1"
    later = client.post("/api/v1/incidents", json={"title": "y"}).json()
    assert later["nags"][0]["hint"] == {
        "action": "set_severity",
        "text": "set a severity",
        "incident": "INC-2",
    }
    refused = client.post("/api/v1/incidents/INC-1/stage", json={"to": "closed"}).json()
    assert refused["hint"] == {
        "action": "move",
        "text": "move it to contained",
        "incident": "INC-1",
        "params": {"to": "contained"},
    }
