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
    assert res.status_code == 422 and "parameter version" in res.json()["detail"]
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
    assert res.status_code == 303 and "error" not in res.headers["location"]
    assert "tick the confirmation box" in client.get(res.headers["location"]).text  # the flash
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
    assert res.status_code == 200 and "needs parameter version" in res.text
    res = client.get(f"/incidents/{key}/contain/rollback?param.version=v41")
    assert "true v41" in res.text


CONTAIN_PATHS = {
    ("get", "/api/v1/flags"),
    ("get", "/api/v1/levers"),
    ("get", "/api/v1/incidents/{key}/levers"),
    ("post", "/api/v1/incidents/{key}/mitigations"),
    ("get", "/api/v1/incidents/{key}/mitigations"),
    ("post", "/api/v1/incidents/{key}/mitigations/{ident}/undo"),
    ("get", "/api/v1/runbooks"),
    ("get", "/api/v1/runbooks/{name}"),
    ("get", "/api/v1/incidents/{key}/runbooks"),
    ("post", "/api/v1/incidents/{key}/runbooks/{name}/runs"),
    ("post", "/api/v1/incidents/{key}/runbook-runs/{run}/steps/{step}"),
    ("get", "/api/v1/incidents/{key}/verifications"),
    ("get", "/api/v1/drills"),
    ("get", "/api/v1/incidents/{key}/drill"),
}


def test_openapi_documents_every_contain_response(env):
    client, _, _, _ = env
    spec = client.get("/api/v1/openapi.json").json()
    for method, path in sorted(CONTAIN_PATHS):
        responses = spec["paths"][path][method]["responses"]
        ok = responses.get("200") or responses.get("201")
        schema = ok["content"]["application/json"]["schema"]
        if path == "/api/v1/flags":  # flag name -> any JSON value
            assert schema["type"] == "object", schema
            continue
        assert "$ref" in schema.get("items", schema), (method, path, schema)
    pull = spec["components"]["schemas"]["PullOut"]["properties"]
    assert set(pull) == {"dry_run", "plan", "mitigation"}


def test_api_shapes_are_the_domain_dicts(env):
    client, database, key, _ = env
    dry = client.post(f"/api/v1/incidents/{key}/mitigations", json={"lever": "checkout-off"})
    assert set(dry.json()) == {"dry_run", "plan"}
    ran = client.post(
        f"/api/v1/incidents/{key}/mitigations", json={"lever": "checkout-off", "dry_run": False}
    ).json()
    assert set(ran) == {"dry_run", "mitigation"}
    assert ran["mitigation"] == mitigations.get(database, key, "M1").to_dict()
    assert "bytes_b64" not in ran["mitigation"]["before"]
    undo = client.post(f"/api/v1/incidents/{key}/mitigations/M1/undo", json={})
    assert undo.json() == {"dry_run": True, "undo": undo.json()["undo"]}
    levers = client.get("/api/v1/levers").json()
    assert levers[0] == {
        "name": "checkout-off",
        "kind": "flag",
        "description": "Old checkout",
        "params": {},
        "timeout": 60.0,
        "suggest_on": [],
    }
    suggested = client.get(f"/api/v1/incidents/{key}/levers").json()
    assert {s["name"] for s in suggested} == {"checkout-off", "rollback"}
    assert set(suggested[0]) == {*levers[0], "reason", "suggested"}
    missing = client.post(f"/api/v1/incidents/{key}/mitigations", json={"lever": "nope"})
    assert missing.status_code == 404
    assert missing.json()["hint"] == {
        "action": "list_levers",
        "text": "see the declared levers",
        "incident": key,
    }


def test_pages_never_show_text_from_the_url(env):
    client, _, key, _ = env
    crafted = "Call 555-0100 now"
    for url in (
        f"/incidents/{key}/contain/checkout-off?error={crafted}",
        f"/incidents/{key}/contain/rollback?error={crafted}",
    ):
        page = client.get(url)
        assert page.status_code == 200 and crafted not in page.text


def test_panel_shows_a_broken_lever_table_in_words(db_url, tmp_path):
    config = tmp_path / "warroom.toml"
    config.write_text('[levers.bad]\nkind = "ssh"\n')
    database = Database(db_url)
    key = incidents.declare(database, title="Checkout slow", actor="ana", severity="P2").key
    settings = load_settings(database_url=db_url, config_path=config)
    try:
        with TestClient(create_app(settings, database=database)) as client:
            page = client.get(f"/incidents/{key}").text
    finally:
        database.dispose()
    assert "warroom.toml [levers.bad]: kind must be one of flag, command, http" in page
    assert "Next: fix the lever&#39;s table" in page
