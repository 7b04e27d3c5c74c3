"""The learning API and pages: postmortem read/edit, action items, panel, report."""

from __future__ import annotations

from fastapi.testclient import TestClient

from warroom import incidents
from warroom.core.config import Settings, load_settings
from warroom.web.app import create_app


def test_postmortem_api_and_pages_round_trip(db, db_url, clock):
    incidents.declare(db, title="Orders API times out", actor="ana", severity="P1", commander="ana")
    with TestClient(create_app(load_settings(database_url=db_url))) as client:
        h = {"X-Warroom-User": "ana"}
        r = client.post(
            "/api/v1/incidents/INC-1/rootcause",
            headers=h,
            json={
                "category": "unindexed_query",
                "summary": "scan on orders",
                "factors": ["no plan check"],
            },
        )
        assert r.status_code == 201, r.text
        r = client.post(
            "/api/v1/incidents/INC-1/actions",
            headers=h,
            json={
                "title": "Index orders.customer_id",
                "type": "corrective",
                "owner": "bo",
                "due_at": "2026-11-25T12:00:00Z",
            },
        )
        assert r.status_code == 201 and r.json()["id"] == "AI-1"
        assert (
            client.post(
                "/api/v1/incidents/INC-1/actions", headers=h, json={"title": "x", "type": "bogus"}
            ).status_code
            == 422
        )

        page = client.get("/incidents/INC-1/postmortem")
        assert page.status_code == 200 and "Draft the postmortem" in page.text
        r = client.post("/incidents/INC-1/postmortem", headers=h, follow_redirects=False)
        assert r.status_code == 303
        page = client.get("/incidents/INC-1/postmortem?edit=lessons")
        assert "Retrospective questions" in page.text and 'name="text"' in page.text
        r = client.post(
            "/incidents/INC-1/postmortem/sections/lessons",
            headers=h,
            data={"text": "Bob was careless with the index."},
            follow_redirects=False,
        )
        assert r.status_code == 303
        page = client.get("/incidents/INC-1/postmortem")
        assert "Blaming language" in page.text and "careless" in page.text

        pm = client.get("/api/v1/incidents/INC-1/postmortem").json()
        assert pm["blameless_warnings"]["lessons"][0]["person"] == "Bob"
        assert client.get("/api/v1/incidents/INC-1/postmortem.md").text.startswith(
            "# Postmortem INC-1"
        )
        r = client.post(
            "/api/v1/incidents/INC-1/postmortem/status", headers=h, json={"status": "published"}
        )
        assert r.status_code == 409 and "in_review" in r.json()["detail"]

        incident_page = client.get("/incidents/INC-1")
        assert "Learning" in incident_page.text and "AI-1" in incident_page.text
        assert "unindexed query" in incident_page.text

        clock.advance(days=2)
        assert "overdue" in client.get("/actions").text
        csv_text = client.get("/api/v1/actions?format=csv").text
        assert csv_text.splitlines()[1].startswith("AI-1,INC-1,Index orders.customer_id")
        r = client.patch("/api/v1/actions/AI-1", headers=h, json={"status": "done"})
        assert r.json()["status"] == "done"

        rep = client.get("/api/v1/reports?since=30d").json()
        assert rep["count"] == 1 and rep["action_items"]["completion_rate"] == 1.0
        page = client.get("/reports?since=30d")
        assert page.status_code == 200 and "MTTD (start to detection)" in page.text


def test_a_refused_form_comes_back_as_a_flash_with_the_next_step_as_a_link(db, db_url, clock):
    incidents.declare(db, title="Orders API times out", actor="ana", severity="P2")
    with TestClient(create_app(load_settings(database_url=db_url))) as client:
        h = {"X-Warroom-User": "ana"}
        r = client.post("/incidents/INC-1/postmortem", headers=h, follow_redirects=False)
        assert r.status_code == 303
        r = client.post(
            "/incidents/INC-1/postmortem/status",
            headers=h,
            data={"status": "published"},
            follow_redirects=False,
        )
        assert r.status_code == 303
        assert r.headers["location"] == "/incidents/INC-1/postmortem"  # nothing in the URL
        page = client.get(r.headers["location"]).text
        assert "it can move to in_review, not published" in page
        assert 'href="/incidents/INC-1/postmortem"' in page and "move it to in_review" in page
        assert "it can move to in_review" not in client.get("/incidents/INC-1/postmortem").text
        # a crafted ?error= is not shown
        assert "forged" not in client.get("/incidents/INC-1/postmortem?error=forged").text

        r = client.post("/actions/AI-1", headers=h, data={"status": "done"})
        assert r.status_code == 404  # a missing item is a 404 page, not a flash


def test_due_rule_on_the_web_comes_from_the_app_settings(db, db_url, clock, tmp_path):
    incidents.declare(db, title="Search stale", actor="ana", severity="P2", commander="ana")
    incidents.move(db, "INC-1", to="fixed", actor="ana")
    toml = tmp_path / "warroom.toml"
    toml.write_text('[postmortems]\ndue_hours = 6\ndue_severities = ["P2"]\n')
    settings = load_settings(database_url=db_url, config_path=toml)
    with TestClient(create_app(settings)) as client:
        due = client.get("/api/v1/postmortems/due").json()
        assert [(d["incident"], d["due_at"]) for d in due] == [
            ("INC-1", "2026-11-24T18:00:00+00:00")
        ]
        assert "2026-11-24 18:00 UTC" in client.get("/incidents/INC-1").text  # the panel
        assert "2026-11-24 18:00" in client.get("/actions").text


def test_every_learn_endpoint_documents_its_response(tmp_path):
    spec = create_app(Settings(database_url=f"sqlite:///{tmp_path}/warroom.db")).openapi()
    seen = 0
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            if "learn" not in op.get("tags", []):
                continue
            seen += 1
            ok = op["responses"].get("200") or op["responses"].get("201")
            content = ok.get("content", {})
            assert content, f"{method} {path} documents no response"
            for media, body in content.items():
                schema = body.get("schema", {})
                assert schema.get("$ref") or schema.get("items") or schema.get("type"), (
                    method,
                    path,
                    media,
                )
    assert seen == 16
    schemas = spec["components"]["schemas"]
    assert {"PostmortemOut", "ActionOut", "MatchOut", "ReportOut", "CategoriesOut"} <= set(schemas)
    assert set(schemas["ActionOut"]["properties"]) >= {"id", "incident", "overdue", "closed_at"}
