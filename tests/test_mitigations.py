"""Levers: flag, command and http mitigations, their dry runs, failures and undo."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import httpx
import pytest

from warroom import incidents
from warroom.contain import flags, mitigations
from warroom.contain.levers import (
    KINDS,
    HttpLever,
    Lever,
    Recorded,
    argv,
    get_lever,
    load_levers,
    make_plan,
    parse_lever,
)
from warroom.core.config import Settings
from warroom.core.db import Database
from warroom.core.errors import InvalidInput, InvalidTransition, NotFound
from warroom.incidents import artifacts, timeline

# A flag file written by hand: odd indentation and key order that a re-serialisation would
# not reproduce, so "byte for byte" really means the original bytes came back.
FLAG_FILE = (
    b'{\n    "$schema": "https://flagd.dev/schema/v0/flags.json",\n'
    b'    "flags": {\n'
    b'        "new-checkout": {"state": "ENABLED", "defaultVariant": "on",\n'
    b'            "variants": {"on": true, "off": false}},\n'
    b'        "recommendations": {"state": "ENABLED", "variants": {"full": "v2", "lite": "v1"},'
    b' "defaultVariant": "full"}\n'
    b"    }\n}\n"
)


def levers_for(raw: dict[str, object], base: Path) -> dict[str, Lever]:
    return {
        name: parse_lever(name, spec, base_dir=str(base))  # type: ignore[arg-type]
        for name, spec in raw.items()
    }


def declare(db: Database) -> str:
    return incidents.declare(db, title="Checkout 500s", actor="ana", severity="P1").key


def test_flag_lever_flips_flagd_file_and_undo_restores_bytes(db, clock, tmp_path):
    path = tmp_path / "flags.json"
    path.write_bytes(FLAG_FILE)
    levers = levers_for(
        {
            "checkout-off": {
                "kind": "flag",
                "flag": "new-checkout",
                "variant": "off",
                "file": str(path),
            }
        },
        tmp_path,
    )
    key = declare(db)
    plan = make_plan(levers["checkout-off"])
    assert "defaultVariant on -> off" in plan.actions[0]
    assert path.read_bytes() == FLAG_FILE  # planning changes nothing

    m = mitigations.apply(db, key, "checkout-off", actor="ana", levers=levers)
    assert m.status == "applied"
    assert flags.resolved(flags.load(path)) == {"new-checkout": False, "recommendations": "v2"}
    assert path.read_bytes() != FLAG_FILE
    assert not list(tmp_path.glob(".flags.json.*"))  # atomic write left no temp file

    clock.advance(minutes=5)
    u = mitigations.undo(db, key, "M1", actor="bo", levers=levers)
    assert u.status == "undone" and u.undone_by == "bo"
    assert path.read_bytes() == FLAG_FILE
    kinds = [e.kind for e in timeline.read(db, key)]
    assert kinds[-2:] == ["mitigation.applied", "mitigation.undone"]
    with pytest.raises(InvalidTransition):
        mitigations.undo(db, key, "M1", actor="bo", levers=levers)


def test_flag_undo_after_someone_else_edited_restores_only_that_flag(db, tmp_path):
    path = tmp_path / "flags.json"
    path.write_bytes(FLAG_FILE)
    levers = levers_for(
        {"off": {"kind": "flag", "flag": "new-checkout", "state": "DISABLED", "file": str(path)}},
        tmp_path,
    )
    key = declare(db)
    mitigations.apply(db, key, "off", actor="ana", levers=levers)
    assert flags.resolved(flags.load(path))["new-checkout"] is None
    flags.set_flag(path, "recommendations", variant="lite")  # another change meanwhile
    m = mitigations.undo(db, key, "M1", actor="ana", levers=levers)
    assert m.status == "undone"
    assert "previous setting only" in m.undo_steps[0]["action"]
    assert flags.resolved(flags.load(path)) == {"new-checkout": True, "recommendations": "v1"}


def test_command_lever_failing_half_way_reports_its_state(db, tmp_path):
    py = sys.executable
    levers = levers_for(
        {
            "drain": {
                "kind": "command",
                "timeout": 20,
                "steps": [
                    {
                        "run": [py, "-c", "open('paused','w').write('1')"],
                        "undo": [py, "-c", "import os; os.remove('paused')"],
                    },
                    {
                        "run": [
                            py,
                            "-c",
                            "import sys; print('queue busy', file=sys.stderr); sys.exit(3)",
                        ],
                        "undo": "",
                    },
                    {
                        "run": [py, "-c", "open('rerouted','w').write('1')"],
                        "undo": [py, "-c", "import os; os.remove('rerouted')"],
                    },
                ],
            }
        },
        tmp_path,
    )
    key = declare(db)
    m = mitigations.apply(db, key, "drain", actor="ana", levers=levers)
    assert m.status == "failed"
    assert [s["status"] for s in m.steps] == ["done", "failed", "not_run"]
    assert m.steps[1]["rc"] == 3 and "queue busy" in m.steps[1]["stderr"]
    assert (tmp_path / "paused").exists() and not (tmp_path / "rerouted").exists()
    ev = timeline.read(db, key, kinds=["mitigation.failed"])
    assert len(ev) == 1
    summary = ev[0].summary()
    assert "at step 2 (queue busy)" in summary
    assert "steps 1 done and NOT undone" in summary and "steps 3 not run" in summary
    # Undo reverses only what was done.
    assert mitigations.undo_plan(m, levers["drain"])[0].startswith("undo step 1:")
    u = mitigations.undo(db, key, "M1", actor="ana", levers=levers)
    assert u.status == "undone" and not (tmp_path / "paused").exists()
    assert [s["step"] for s in u.undo_steps] == [1]


def test_command_lever_is_killed_at_its_timeout(db, tmp_path):
    levers = levers_for(
        {
            "slow": {
                "kind": "command",
                "timeout": 0.5,
                "run": [sys.executable, "-c", "import time; time.sleep(30)"],
                "undo": "",
            }
        },
        tmp_path,
    )
    key = declare(db)
    m = mitigations.apply(db, key, "slow", actor="ana", levers=levers)
    assert m.status == "failed"
    assert m.steps[0]["rc"] is None and "timeout" in m.steps[0]["stderr"]
    assert m.steps[0]["seconds"] < 10


def test_state_command_feeds_undo_and_params_fill_whole_arguments(db, tmp_path):
    (tmp_path / "deployed").write_text("v42\n")
    py = sys.executable
    write = "import sys; open('deployed','w').write(sys.argv[1] + '\\n')"
    levers = levers_for(
        {
            "rollback": {
                "kind": "command",
                "params": {"version": {"required": True}},
                "state": [py, "-c", "print(open('deployed').read().strip())"],
                "run": [py, "-c", write, "{version}"],
                "undo": [py, "-c", write, "{before}"],
            }
        },
        tmp_path,
    )
    key = declare(db)
    with pytest.raises(InvalidInput, match="parameter version"):
        make_plan(levers["rollback"], {})
    with pytest.raises(InvalidInput, match="not allowed"):
        make_plan(levers["rollback"], {"version": "v41; rm -rf /"})
    with pytest.raises(InvalidInput, match="no parameter"):
        make_plan(levers["rollback"], {"region": "eu"})
    m = mitigations.apply(
        db, key, "rollback", actor="ana", params={"version": "v41"}, levers=levers
    )
    assert m.before["state"] == "v42" and m.after["state"] == "v41"
    mitigations.undo(db, key, "M1", actor="ana", levers=levers)
    assert (tmp_path / "deployed").read_text() == "v42\n"
    assert argv("echo {x}", {"x": "a b"}) == ["echo", "a b"]
    assert argv("echo {x}", {"x": "a b; id"}, shell=True) == [
        "/bin/sh",
        "-c",
        "echo 'a b; id'",
    ]


def test_http_lever_and_undo_through_mock_transport(db, tmp_path):
    seen: list[tuple[str, str, bytes]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.method, str(request.url), request.content))
        return httpx.Response(204 if request.method == "PUT" else 200)

    transport = httpx.MockTransport(handler)
    levers = levers_for(
        {
            "limit": {
                "kind": "http",
                "params": {"route": "checkout"},
                "request": {
                    "method": "PUT",
                    "url": "http://admin/limits/{route}",
                    "body": {"rps": 50},
                },
                "undo": {"method": "DELETE", "url": "http://admin/limits/{route}"},
            }
        },
        tmp_path,
    )
    key = declare(db)
    m = mitigations.apply(db, key, "limit", actor="ana", levers=levers, transport=transport)
    assert m.status == "applied" and m.steps[0]["http_status"] == 204
    mitigations.undo(db, key, "M1", actor="ana", levers=levers, transport=transport)
    assert [(s[0], s[1]) for s in seen] == [
        ("PUT", "http://admin/limits/checkout"),
        ("DELETE", "http://admin/limits/checkout"),
    ]
    assert json.loads(seen[0][2]) == {"rps": 50}


def test_http_lever_error_status_is_failed(db, tmp_path):
    transport = httpx.MockTransport(lambda r: httpx.Response(503, text="admin down"))
    levers = levers_for(
        {"limit": {"kind": "http", "request": {"url": "http://admin/x"}, "undo": {}}}, tmp_path
    )
    key = declare(db)
    m = mitigations.apply(db, key, "limit", actor="ana", levers=levers, transport=transport)
    assert m.status == "failed" and "admin down" in m.summary


def test_lever_config_errors_name_the_lever():
    with pytest.raises(InvalidInput, match=r"\[levers.x\].*no undo"):
        parse_lever("x", {"kind": "command", "steps": [{"run": "true"}]})
    with pytest.raises(InvalidInput, match="kind must be"):
        parse_lever("x", {"kind": "ssh"})
    settings = Settings(raw={"levers": {"ok": {"kind": "command", "run": "true", "undo": ""}}})
    assert list(load_levers(settings)) == ["ok"]


def test_levers_suggested_by_triage_report_come_first(db, tmp_path):
    levers = levers_for(
        {
            "restart": {"kind": "command", "run": "true", "undo": ""},
            "rollback": {
                "kind": "command",
                "run": "deploy {version}",
                "undo": "",
                "params": {"version": {"required": True}},
                "suggest_on": ["deploy"],
                "suspect_param": "version",
            },
        },
        tmp_path,
    )
    key = declare(db)
    assert [s.lever.name for s in mitigations.suggestions(db, key, levers=levers)] == [
        "restart",
        "rollback",
    ]
    report = {
        "onset": "2026-11-24T11:50:00+00:00",
        "suspects": [{"kind": "deploy", "ref": "v42", "summary": "deploy v42 at 11:48"}],
    }
    artifacts.attach(
        db,
        key,
        actor="ana",
        kind="triage-report",
        name="triage.json",
        content=json.dumps(report).encode(),
        media_type="application/json",
    )
    out = mitigations.suggestions(db, key, levers=levers)
    assert out[0].lever.name == "rollback" and out[0].suggested
    assert out[0].params == {"version": "v42"} and "deploy v42" in out[0].reason


def test_containment_steps_of_the_triage_report_suggest_levers(db, tmp_path):
    levers = levers_for(
        {
            "limit": {
                "kind": "http",
                "suggest_on": ["rate-limit"],
                "suspect_param": "route",
                "params": {"route": {"required": True, "pattern": r"/[\w/{}.-]*"}},
                "request": {"url": "http://admin/limits"},
                "undo": {},
            }
        },
        tmp_path,
    )
    key = declare(db)
    report = {
        "suspects": [{"id": "D-1", "score": 0.1, "change": {"kind": "deploy"}}],
        "containment": [
            {
                "action": "Rate-limit /api/inventory and shed duplicate retries",
                "evidence": "traffic 40 -> 400 requests/min",
                "target": "/api/inventory",
            }
        ],
    }
    artifacts.attach(
        db,
        key,
        actor="ana",
        kind="triage-report",
        name="t.json",
        content=json.dumps(report).encode(),
    )
    (s,) = mitigations.suggestions(db, key, levers=levers)
    assert s.suggested and s.params == {"route": "/api/inventory"}
    assert s.reason.startswith("triage suggests Rate-limit /api/inventory")


def test_unknown_lever_names_the_declared_ones_with_a_hint():
    declared = {"ok": parse_lever("ok", {"kind": "command", "run": "true", "undo": ""})}
    with pytest.raises(NotFound, match="no lever 'nope': levers are ok") as listed:
        get_lever(declared, "nope", incident="INC-3")
    assert listed.value.hint is not None and listed.value.hint.action == "list_levers"
    assert listed.value.hint.incident == "INC-3"
    with pytest.raises(NotFound, match="none are declared") as none:
        get_lever({}, "nope")
    assert none.value.hint is not None and none.value.hint.action == "declare_lever"
    with pytest.raises(InvalidInput) as bad:
        parse_lever("x", {"kind": "ssh"})
    assert bad.value.field == "levers" and bad.value.hint is not None
    assert bad.value.hint.action == "declare_lever"


def test_each_kind_is_its_own_class():
    assert {k: cls.__name__ for k, cls in KINDS.items()} == {
        "flag": "FlagLever",
        "command": "CommandLever",
        "http": "HttpLever",
    }
    lever = parse_lever("x", {"kind": "http", "request": {"url": "http://a/{p}"}, "undo": {}})
    assert isinstance(lever, HttpLever) and lever.undo_request is None


def test_flag_undo_needs_no_declaration_but_a_command_undo_does(db, tmp_path):
    path = tmp_path / "flags.json"
    path.write_bytes(FLAG_FILE)
    declared = levers_for(
        {
            "off": {"kind": "flag", "flag": "new-checkout", "variant": "off", "file": str(path)},
            "touch": {"kind": "command", "run": "true", "undo": "true"},
        },
        tmp_path,
    )
    key = declare(db)
    mitigations.apply(db, key, "off", actor="ana", levers=declared)
    mitigations.apply(db, key, "touch", actor="ana", levers=declared)
    # warroom.toml lost both tables: the flag is restored from the recorded bytes...
    assert mitigations.undo(db, key, "M1", actor="ana", levers={}).status == "undone"
    assert path.read_bytes() == FLAG_FILE
    # ... a command cannot be reversed without knowing its undo command.
    with pytest.raises(NotFound, match="no longer declared") as gone:
        mitigations.undo(db, key, "m2", actor="ana", levers={})
    assert gone.value.hint is not None and gone.value.hint.action == "declare_lever"
    assert mitigations.get(db, key, "M2").status == "applied"


def test_mitigation_references_are_parsed_once(db):
    key = declare(db)
    with pytest.raises(InvalidInput, match="not a mitigation"):
        mitigations.get(db, key, "M²")
    with pytest.raises(NotFound, match="has no mitigation M4") as missing:
        mitigations.get(db, key, "4")
    assert missing.value.hint is not None and missing.value.hint.action == "list_mitigations"


def test_closed_incident_refuses_levers_with_a_reopen_hint(db, tmp_path):
    declared = levers_for({"noop": {"kind": "command", "run": "true", "undo": ""}}, tmp_path)
    key = declare(db)
    for stage in ("contained", "root_caused", "fixed"):
        incidents.move(db, key, to=stage, actor="ana")
    incidents.move(db, key, to="closed", actor="ana", reason="drill over")
    with pytest.raises(InvalidTransition, match="closed") as closed:
        mitigations.apply(db, key, "noop", actor="ana", levers=declared)
    assert closed.value.hint is not None and closed.value.hint.action == "reopen"


def test_flag_lever_that_could_not_write_has_nothing_to_undo(tmp_path):
    path = tmp_path / "flags.json"
    path.write_bytes(FLAG_FILE)
    lever = levers_for(
        {"off": {"kind": "flag", "flag": "new-checkout", "variant": "off", "file": str(path)}},
        tmp_path,
    )["off"]
    failed = Recorded(
        "M1", {}, {}, {}, [{"step": 1, "status": "failed", "action": "write", "stderr": "EROFS"}]
    )
    assert lever.undo_plan(failed) == ["nothing to reverse"]
    outcome = lever.undo(failed, transport=None)
    assert outcome.ok and outcome.steps == []
    assert path.read_bytes() == FLAG_FILE
