"""The service catalog: add, YAML import, affected services and downstream impact."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from warroom import incidents
from warroom.cli import hints
from warroom.cli.main import app as cli_app
from warroom.comms import catalog
from warroom.core.config import load_settings
from warroom.core.db import Database
from warroom.core.errors import InvalidInput, InvalidTransition, NotFound
from warroom.incidents import timeline
from warroom.web.app import create_app

CATALOG = """
services:
  - name: postgres-main
    owner: dba
    tier: 1
  - name: payments-api
    owner: payments
    tier: 1
    depends_on: [postgres-main]
  - name: checkout
    display_name: Checkout
    owner: web
    public: true
    depends_on: [payments-api]
  - name: search
    public: true
    tier: 3
"""


def load(db: Database, tmp_path: Path) -> list[catalog.Service]:
    path = tmp_path / "catalog.yaml"
    path.write_text(CATALOG, encoding="utf-8")
    return catalog.import_yaml(db, path)


def test_yaml_import_and_downstream_impact_through_dependencies(
    db: Database, tmp_path: Path
) -> None:
    assert [s.name for s in load(db, tmp_path)] == [
        "postgres-main",
        "payments-api",
        "checkout",
        "search",
    ]
    key = incidents.declare(db, title="DB failover", actor="ana", severity="P1").key
    catalog.affect(db, key, names=["postgres-main"], actor="ana")
    imp = catalog.impact(db, key)
    assert [s.name for s in imp.affected] == ["postgres-main"]
    assert [s.name for s in imp.downstream] == ["payments-api", "checkout"]
    [event] = timeline.read(db, key, kinds=[catalog.AFFECTED])
    assert event.summary() == "services.affected: Affected services: postgres-main"
    # Importing again updates in place.
    assert len(load(db, tmp_path)) == 4 and len(catalog.list_services(db)) == 4


def test_service_validation_messages(db: Database) -> None:
    with pytest.raises(InvalidInput, match="not a service name"):
        catalog.add_service(db, name="Bad Name!")
    with pytest.raises(InvalidInput, match="tier 7"):
        catalog.add_service(db, name="x", tier=7)
    with pytest.raises(InvalidInput, match="itself"):
        catalog.add_service(db, name="x", depends_on=["x"])
    catalog.add_service(db, name="x")
    # the message says it in words; the hint is the command the CLI prints after it
    with pytest.raises(InvalidTransition, match="already exists") as exists:
        catalog.add_service(db, name="x")
    assert exists.value.hint is not None
    assert hints.command(exists.value.hint) == "warroom service add x --replace"
    key = incidents.declare(db, title="t", actor="ana").key
    with pytest.raises(NotFound, match="no service named nope") as missing:
        catalog.affect(db, key, names=["nope"], actor="ana")
    assert missing.value.hint is not None and missing.value.field == "services"
    assert hints.command(missing.value.hint) == "warroom service add nope"


def test_import_reports_unknown_fields(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("- name: a\n  ownr: me\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="unknown field 'ownr'"):
        catalog.import_yaml(db, path)


def test_cli_service_commands(db_url: str, tmp_path: Path) -> None:
    runner = CliRunner()
    r = runner.invoke(
        cli_app, ["service", "add", "db", "--tier", "1", "--owner", "dba", "--db", db_url]
    )
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli_app, ["service", "add", "web", "-d", "db", "--public", "--db", db_url])
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli_app, ["declare", "DB slow", "-s", "P2", "--db", db_url, "--as", "ana"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli_app, ["service", "affect", "INC-1", "db", "--json", "--db", db_url])
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert [s["name"] for s in data["downstream"]] == ["web"]
    r = runner.invoke(cli_app, ["service", "list", "--json", "--db", db_url])
    assert {s["name"]: s["public"] for s in json.loads(r.output)} == {"db": False, "web": True}
    r = runner.invoke(cli_app, ["service", "add", "BAD NAME", "--db", db_url])
    assert r.exit_code == 2


def test_api_services_and_incident_page_shows_downstream(db_url: str) -> None:
    client = TestClient(create_app(load_settings(database_url=db_url)))
    assert client.post("/api/v1/services", json={"name": "db", "tier": 1}).status_code == 201
    assert (
        client.post(
            "/api/v1/services", json={"name": "shop", "display_name": "Shop", "depends_on": ["db"]}
        ).status_code
        == 201
    )
    db = Database(db_url)
    key = incidents.declare(db, title="DB down", actor="ana", severity="P1").key
    db.dispose()
    r = client.post(f"/api/v1/incidents/{key}/services", json={"services": ["db"]})
    assert r.status_code == 200 and [s["name"] for s in r.json()["downstream"]] == ["shop"]
    page = client.get(f"/incidents/{key}").text
    assert "Downstream impact:" in page and "Shop (tier 2)" in page
