"""The learning API and pages: postmortem read/edit, action items, panel, report."""

from __future__ import annotations

from fastapi.testclient import TestClient

from warroom import incidents
from warroom.core.config import load_settings
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
