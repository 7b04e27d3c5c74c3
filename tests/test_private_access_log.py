"""Reads of a private incident are recorded in the database: who, when, by which route,
opened or refused; one row per person, route, outcome and hour (counting requests); shown
by `warroom access-log`, the admins' panel and the evidence bundle's manifest. Both stores."""

from __future__ import annotations

import io
import json
import tarfile
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from warroom import incidents
from warroom.access import accounts
from warroom.cli.main import app as cli_app
from warroom.core.config import load_settings
from warroom.core.db import Database
from warroom.core.errors import NotFound
from warroom.incidents import privacy
from warroom.security import access_log, bundle, evidence
from warroom.web.app import create_app
from warroom.web.security import route_kind

PASSWORD = "correct horse battery"
TITLE = "Leaked deploy key"
runner = CliRunner()


def session(db_url: str, db: Database, name: str) -> TestClient:
    c = TestClient(
        create_app(load_settings(database_url=db_url), database=db), follow_redirects=False
    )
    r = c.post("/login", data={"name": name, "password": PASSWORD, "next": "/"})
    assert r.status_code == 303
    return c


def rows(db: Database, key: str) -> list[tuple[str, str, bool, int]]:
    return [(r.person, r.via, r.allowed, r.reads) for r in access_log.log_for(db, key)]


def test_reads_of_a_private_incident_are_recorded_by_route_and_outcome(
    db_url: str, db: Database, clock: Any
) -> None:
    for name, role in (("root", "admin"), ("vic", "viewer"), ("pat", "responder")):
        accounts.add_user(db, name, role=role, password=PASSWORD, actor="seed")
    inc = incidents.declare(db, title=TITLE, actor="cora", type="security", severity="P1")
    incidents.assign_role(db, inc.key, role="participant", person="pat", actor="cora")
    evidence.seal(
        db, inc.key, name="auth.log", content=b"login\n", media_type="text/plain", actor="cora"
    )
    plain = incidents.declare(db, title="slow", actor="cora")
    k = inc.key

    pat = session(db_url, db, "pat")
    assert pat.get(f"/api/v1/incidents/{k}").status_code == 200
    clock.advance(minutes=10)
    for _ in range(2):  # a page reloaded: one row, two requests
        assert pat.get(f"/incidents/{k}").status_code == 200
    assert pat.get(f"/api/v1/incidents/{k}/evidence/E1").status_code == 200
    assert pat.get(f"/api/v1/incidents/{k}/postmortem.md").status_code in (200, 404)
    assert pat.get(f"/api/v1/incidents/{plain.key}").status_code == 200  # not private
    vic = session(db_url, db, "vic")
    assert vic.get(f"/api/v1/incidents/{k}").status_code == 404
    assert vic.get(f"/incidents/{k}").status_code == 404

    got = rows(db, k)
    assert ("pat", "api", True, 1) in got
    assert ("pat", "page", True, 2) in got
    assert ("pat", "evidence", True, 1) in got
    assert ("pat", "export", True, 1) in got
    assert ("vic", "api", False, 1) in got and ("vic", "page", False, 1) in got
    assert access_log.log_for(db, plain.key) == []
    first = access_log.log_for(db, k)[0]
    assert (first.person, first.first_at) == ("pat", clock() - timedelta(minutes=10))

    clock.advance(hours=1)  # the next hour is a row of its own
    assert pat.get(f"/api/v1/incidents/{k}").status_code == 200
    assert rows(db, k).count(("pat", "api", True, 1)) == 2

    # Admins see the log on the page; a participant does not.
    root = session(db_url, db, "root")
    page = root.get(f"/incidents/{k}").text
    assert 'id="access-log"' in page and "refused" in page and "vic" in page
    assert 'id="access-log"' not in pat.get(f"/incidents/{k}").text
    assert 'id="access-log"' not in root.get(f"/incidents/{plain.key}").text

    # The CLI (which holds the database: an admin's tool) and the bundle.
    r = runner.invoke(cli_app, ["access-log", k, "--db", db_url, "--json"])
    assert r.exit_code == 0, r.output
    listed = json.loads(r.output)
    assert {(x["person"], x["via"], x["allowed"]) for x in listed} >= {
        ("vic", "page", False),
        ("pat", "evidence", True),
    }
    text = runner.invoke(cli_app, ["access-log", k, "--db", db_url]).output
    assert "vic REFUSED via api" in text and "pat opened via page (2 requests)" in text
    made = bundle.export(db, k, actor="root")
    with tarfile.open(fileobj=io.BytesIO(made)) as tar:
        member = tar.extractfile("manifest.json")
        assert member is not None
        manifest = json.loads(member.read())
    assert manifest["access_log"] == [x.to_dict() for x in access_log.log_for(db, k)]
    assert bundle.verify(made, db=db).ok


def test_recording_counts_each_request_once_and_routes_are_named(db: Database, clock: Any) -> None:
    inc = incidents.declare(db, title=TITLE, actor="cora", type="security")
    reader = privacy.Reader("eve", via="api")
    with privacy.reading_as(reader):
        for _ in range(3):  # one request reading the incident three times
            with pytest.raises(NotFound):
                incidents.get(db, inc.key)
    assert privacy.record(db, reader) == 1
    assert privacy.record(db, reader) == 0  # collected reads are written once
    assert rows(db, inc.key) == [("eve", "api", False, 1)]
    assert [route_kind(p) for p in ("/api/v1/incidents/INC-1", "/incidents/INC-1")] == [
        "api",
        "page",
    ]
    assert route_kind("/incidents/INC-1/evidence.tar") == "evidence"
    assert route_kind("/incidents/INC-1/timeline.md") == "export"


def test_alerts_and_mitigations_of_a_private_incident_are_missing_and_logged(
    db_url: str, db: Database, clock: Any
) -> None:
    accounts.add_user(db, "rita", role="responder", password=PASSWORD, actor="seed")
    inc = incidents.declare(db, title=TITLE, actor="cora", type="security")
    rita = session(db_url, db, "rita")
    for route in ("alerts", "mitigations", "levers", "verifications"):
        r = rita.get(f"/api/v1/incidents/{inc.key}/{route}")
        assert r.status_code == 404 and TITLE not in r.text, route
    assert rows(db, inc.key) == [("rita", "api", False, 4)]
