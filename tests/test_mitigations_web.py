"""The contain API and pages: /api/v1/flags, lever dry run and confirm, undo, the panel."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from warroom import incidents
from warroom.contain import mitigations
from warroom.core.config import load_settings
from warroom.core.db import Database
from warroom.incidents import timeline
from warroom.web.app import create_app

FLAGS = {
    "flags": {
        "new-checkout": {
            "state": "ENABLED",
            "variants": {"on": True, "off": False},
            "defaultVariant": "on",
        },
        "banner": {"state": "DISABLED", "variants": {"a": "Sale!"}, "defaultVariant": "a"},
    }
}


@pytest.fixture
def env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "flags.json").write_text(json.dumps(FLAGS, indent=2) + "\n")
    config = tmp_path / "warroom.toml"
    config.write_text(
        '[contain]\nflag_file = "flags.json"\n\n'
        '[levers.checkout-off]\nkind = "flag"\ndescription = "Old checkout"\n'
        'flag = "new-checkout"\nvariant = "off"\n\n'
        '[levers.rollback]\nkind = "command"\nparams = { version = { required = true } }\n'
        'run = ["true", "{version}"]\nundo = ""\nsuggest_on = ["deploy"]\n'
    )
    monkeypatch.setenv("WARROOM_CONFIG", str(config))
    settings = load_settings(database_url=db_url, config_path=config)
    database = Database(db_url)
    key = incidents.declare(
        database, title="5xx after deploy of checkout", actor="ana", severity="P1"
    ).key
    with TestClient(create_app(settings, database=database)) as client:
        yield client, database, key, tmp_path
    database.dispose()


def test_flags_endpoint_serves_resolved_values(env):
    client, _, _, _ = env
    res = client.get("/api/v1/flags")
    assert res.status_code == 200
    assert res.json() == {"new-checkout": True, "banner": None}


def test_api_pull_is_a_dry_run_unless_told(env):
    client, database, key, tmp_path = env
    before = (tmp_path / "flags.json").read_bytes()
    res = client.post(f"/api/v1/incidents/{key}/mitigations", json={"lever": "checkout-off"})
    assert res.status_code == 200 and res.json()["dry_run"]
    assert "defaultVariant on -> off" in res.json()["plan"]["actions"][0]
    assert (tmp_path / "flags.json").read_bytes() == before
    res = client.post(
        f"/api/v1/incidents/{key}/mitigations",
        json={"lever": "checkout-off", "dry_run": False},
        headers={"X-Warroom-User": "bo"},
    )
    assert res.json()["mitigation"]["status"] == "applied"
    assert client.get("/api/v1/flags").json()["new-checkout"] is False
    res = client.post(f"/api/v1/incidents/{key}/mitigations/M1/undo", json={"dry_run": False})
    assert res.json()["mitigation"]["status"] == "undone"
    assert (tmp_path / "flags.json").read_bytes() == before
    res = client.post(f"/api/v1/incidents/{key}/mitigations", json={"lever": "rollback"})
    assert res.status_code == 422 and "--param version" in res.json()["detail"]
    listed = client.get(f"/api/v1/incidents/{key}/mitigations").json()
    assert [(m["id"], m["created_by"], m["status"]) for m in listed] == [("M1", "bo", "undone")]


def test_lever_page_needs_confirmation_then_runs(env):
    client, database, key, tmp_path = env
    page = client.get(f"/incidents/{key}")
    assert page.status_code == 200 and 'id="contain"' in page.text
    assert "checkout-off" in page.text and "5xx surge after a deploy" in page.text
    res = client.get(f"/incidents/{key}/contain/checkout-off")
    assert res.status_code == 200 and "defaultVariant on -&gt; off" in res.text
    res = client.post(f"/incidents/{key}/contain/checkout-off", data={}, follow_redirects=False)
    assert res.status_code == 303 and "confirmation" in res.headers["location"]
    assert mitigations.list_for(database, key) == []
    res = client.post(
        f"/incidents/{key}/contain/checkout-off", data={"confirm": "yes"}, follow_redirects=False
    )
    assert res.status_code == 303 and res.headers["location"].endswith("#contain")
    page = client.get(f"/incidents/{key}").text
    assert "M1" in page and "applied" in page and "Undo" in page
    res = client.get(f"/incidents/{key}/mitigations/M1/undo")
    assert "restore" in res.text
    client.post(f"/incidents/{key}/mitigations/M1/undo", data={"confirm": "yes"})
    assert mitigations.get(database, key, "M1").status == "undone"
    kinds = [e.kind for e in timeline.read(database, key)]
    assert kinds[-2:] == ["mitigation.applied", "mitigation.undone"]


def test_lever_page_shows_param_problems(env):
    client, _, key, _ = env
    res = client.get(f"/incidents/{key}/contain/rollback")
    assert res.status_code == 200 and "needs --param version" in res.text
    res = client.get(f"/incidents/{key}/contain/rollback?param.version=v41")
    assert "true v41" in res.text
