"""Hostile input answers 4xx (CLI: exit 2) naming the field, never 500, on both stores:
NUL characters, integers past 64 bits, over-long text, deep JSON and YAML, large bodies."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from alert_payloads import am_alert, am_payload
from warroom import incidents
from warroom.access.tables import login_throttle
from warroom.cli.main import app as cli_app
from warroom.core.clock import utcnow
from warroom.core.config import Settings, load_settings
from warroom.core.db import Database
from warroom.core.errors import InvalidInput
from warroom.detect.alerts import payloads
from warroom.web.app import create_app


def _client(db: Database, **raw: Any) -> TestClient:
    settings = Settings(database_url=db.url, raw=raw) if raw else load_settings(database_url=db.url)
    return TestClient(create_app(settings, database=db), follow_redirects=False)


def test_nul_characters_are_refused_the_same_on_both_stores(db: Database, clock: Any) -> None:
    with pytest.raises(InvalidInput, match="NUL") as refused:
        incidents.declare(db, title="db\x00slow", actor="ana")
    assert refused.value.field == "title"
    incidents.declare(db, title="db slow", actor="ana")
    with pytest.raises(InvalidInput, match="NUL") as refused:
        incidents.add_note(db, "INC-1", text="looking\x00", actor="ana")
    assert refused.value.field == "data.text"
    with pytest.raises(InvalidInput, match="NUL"):
        incidents.add_task(db, "INC-1", title="t\x00", actor="ana")
    with pytest.raises(InvalidInput, match="NUL"):
        incidents.assign_role(db, "INC-1", role="scribe", person="b\x00o", actor="ana")
    # Nothing half-written: the refused statements rolled back with their transaction.
    assert [e.kind for e in incidents.timeline.read(db, "INC-1")] == ["incident.declared"]


def test_nul_bytes_and_huge_numbers_on_the_web_answer_4xx(db: Database, clock: Any) -> None:
    c = _client(db)
    user = {"X-Warroom-User": "ana"}
    r = c.post("/api/v1/incidents", json={"title": "a\x00b"}, headers=user)
    assert r.status_code == 422 and "NUL" in r.json()["detail"], r.text
    assert c.post("/api/v1/incidents", json={"title": "db slow"}, headers=user).status_code == 201
    for path in (
        "/api/v1/incidents/INC-1/notes",
        "/api/v1/incidents/INC-1/tasks",
        "/api/v1/incidents/INC-1/updates",
    ):
        body = {"text": "x\x00", "title": "x\x00", "conditions": "x\x00", "audience": "internal"}
        r = c.post(path, json=body, headers=user)
        assert 400 <= r.status_code < 500, (path, r.status_code, r.text[:200])
    # Page forms: refused with a message, not a server error.
    r = c.post("/incidents/INC-1/notes", data={"text": "x\x00y"}, headers=user)
    assert r.status_code < 500
    big = str(2**63)
    for url in (
        f"/api/v1/incidents/{big}",
        f"/api/v1/incidents/INC-{big}/timeline",
        f"/api/v1/incidents/INC-1/timeline?since={big}",
        f"/api/v1/incidents/INC-1/timeline?since=-{big}0",
        f"/incidents/INC-{big}",
        f"/api/v1/incidents/INC-1/tasks/T{big}",
    ):
        r = c.get(url, headers=user)
        assert 400 <= r.status_code < 500, (url, r.status_code, r.text[:200])


def test_text_longer_than_its_column_is_refused_on_both_stores(db: Database, clock: Any) -> None:
    incidents.declare(db, title="db slow", actor="ana")
    with pytest.raises(InvalidInput, match="200") as refused:
        incidents.assign_role(db, "INC-1", role="scribe", person="b" * 5000, actor="ana")
    assert refused.value.field == "person"
    # Any write past a column's length, whichever verb forgot to check: refused by the
    # store's guard on SQLite too (which would keep it), not only by PostgreSQL.
    too_long = login_throttle.insert().values(scope="s" * 400, failures=1, window_start=utcnow())
    with (
        pytest.raises(InvalidInput, match="at most 320 characters") as refused,
        db.transaction() as conn,
    ):
        conn.execute(too_long)
    assert refused.value.field == "scope"
    c = _client(db)
    r = c.post(
        "/api/v1/incidents/INC-1/roles",
        json={"role": "scribe", "person": "p" * 5000},
        headers={"X-Warroom-User": "ana"},
    )
    assert r.status_code == 422 and "person" in r.json()["detail"]


def _deep(n: int) -> bytes:
    return b"[" * n + b"]" * n


def test_deep_json_is_refused_before_any_parser_meets_it(db: Database, clock: Any) -> None:
    c = _client(db)
    user = {"X-Warroom-User": "ana"}
    for ctype in ("application/json", "text/plain", "Application/JSON; charset=utf-8", None):
        headers = {**user, **({"Content-Type": ctype} if ctype else {})}
        for url in (
            "/api/v1/alerts/alertmanager",
            "/api/v1/incidents",
            "/api/v1/alerts/webhook/uptime",
        ):
            r = c.post(url, content=_deep(50_000), headers=headers)
            assert r.status_code == 422 and "nested deeper" in r.text, (url, ctype, r.text[:200])
    obj = b'{"a":' * 50_000 + b"1" + b"}" * 50_000
    r = c.post(
        "/api/v1/incidents", content=obj, headers={**user, "Content-Type": "application/json"}
    )
    assert r.status_code == 422
    # Brackets inside strings do not count; a sane document still goes through.
    note = {"title": "[" * 150 + " brackets in text"}
    assert c.post("/api/v1/incidents", json=note, headers=user).status_code == 201


def test_body_size_is_limited_per_route_and_configurable(db: Database, clock: Any) -> None:
    c = _client(db)
    huge = b'{"groupKey": "' + b"x" * (5 * 1024 * 1024) + b'"}'
    r = c.post(
        "/api/v1/alerts/alertmanager", content=huge, headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 413 and "limit of 4,194,304 bytes" in r.json()["detail"]

    def chunks() -> Any:  # no Content-Length: cut off as it arrives
        for _ in range(6):
            yield b"x" * (1024 * 1024)

    r = c.post("/api/v1/alerts/alertmanager", content=chunks())
    assert r.status_code == 413
    # A configured limit for a route (and the default for the rest).
    small = _client(
        db,
        limits={
            "body_bytes": 2048,
            "routes": {"/api/v1/alerts/alertmanager": 1000, "/incidents/*/triage": 50_000},
        },
    )
    r = small.post("/api/v1/alerts/alertmanager", content=b"{" + b" " * 1500 + b"}")
    assert r.status_code == 413 and "1,000 bytes" in r.json()["detail"]
    r = small.post(
        "/api/v1/incidents", json={"title": "x" * 3000}, headers={"X-Warroom-User": "ana"}
    )
    assert r.status_code == 413
    # Uploads (multipart) are counted too.
    r = small.post(
        "/incidents/INC-1/triage",
        files={"access_log": ("a.log", b"x" * 100_000)},
        headers={"X-Warroom-User": "ana"},
    )
    assert r.status_code == 413


def test_alertmanager_intake_caps_alerts_and_group_key(db: Database, clock: Any) -> None:
    c = _client(db)
    many = am_payload(
        "many", [am_alert(f"a{i}", slo="many") for i in range(payloads.MAX_ALERTS + 1)]
    )
    r = c.post("/api/v1/alerts/alertmanager", json=many)
    assert r.status_code == 422 and r.json()["field"] == "alerts", r.text[:300]
    long_key = {**am_payload("long", [am_alert("l1", slo="long")]), "groupKey": "k" * 100_000}
    r = c.post("/api/v1/alerts/alertmanager", json=long_key)
    assert r.status_code == 422 and r.json()["field"] == "groupKey"
    numeric = am_payload("num", [{**am_alert("n1", slo="num"), "startsAt": 1_764_000_000}])
    r = c.post("/api/v1/alerts/alertmanager", json=numeric)
    assert r.status_code == 422 and r.json()["field"] == "alerts[0].startsAt"
    nul = am_payload("nul", [am_alert("n\x002", slo="nul")])
    r = c.post("/api/v1/alerts/alertmanager", json=nul)
    assert 400 <= r.status_code < 500, r.text[:300]
    assert incidents.list_incidents(db) == []


def test_deep_yaml_files_exit_2_naming_the_file(tmp_path: Path, db: Database) -> None:
    deep = tmp_path / "deep.yaml"
    deep.write_text("slos: " + "[" * 50_000 + "]" * 50_000 + "\n")
    nested = tmp_path / "nested.yaml"
    nested.write_text("".join("  " * i + f"k{i}:\n" for i in range(200)) + "  " * 200 + "v\n")
    runner = CliRunner()
    for path in (deep, nested):
        for args in (["slo", "validate", "--slo", str(path)], ["service", "import", str(path)]):
            extra = ["--db", db.url] if args[0] == "service" else []
            result = runner.invoke(cli_app, [*args, *extra])
            assert result.exit_code == 2, (args, result.output[-500:])
            assert "nested deeper than" in result.output
            assert "Traceback" not in result.output


def test_a_json_document_in_the_cli_with_deep_nesting_is_refused() -> None:
    from warroom.core.limits import check_json_depth

    with pytest.raises(InvalidInput, match="nested deeper than 64"):
        check_json_depth(json.dumps([[[[[]]]]]) * 0 + "[" * 65 + "]" * 65)
    check_json_depth('["[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["]')
