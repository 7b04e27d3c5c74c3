"""Security incidents: types, private by default (404 to outsiders everywhere), the evidence
locker with its chain of custody, verifiable bundles, regulatory clocks. Both stores."""

from __future__ import annotations

import hashlib
import io
import json
import re
import tarfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from warroom import incidents
from warroom.access import accounts
from warroom.cli.main import app as cli_app
from warroom.comms import notify, statuspage, updates
from warroom.comms.tables import outbox
from warroom.contain.runbooks.matching import suggest
from warroom.core.config import Settings, load_settings
from warroom.core.db import Database
from warroom.core.errors import InvalidInput, NotFound
from warroom.incidents import desk, privacy, timeline
from warroom.learn import actions, export, postmortems, recurrence, reports
from warroom.security import bundle, clocks, evidence
from warroom.web.app import create_app

PASSWORD = "correct horse battery"
TITLE = "Leaked deploy key in public repo"
SECRET_LINE = "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"
RAW = b"2026-11-24 11:58 login from 203.0.113.9 user=deploy\n" + SECRET_LINE.encode()
BINARY = bytes(range(256)) * 4
runner = CliRunner()


@pytest.fixture
def database(db_url: str) -> Any:
    database = Database(db_url)
    yield database
    database.dispose()


def people(database: Database) -> None:
    """Accounts: an admin, a viewer, a responder outside the incident, a participant, and
    the commander (a responder account named commander of the incident)."""
    for name, role in (
        ("root", "admin"),
        ("vic", "viewer"),
        ("rita", "responder"),
        ("pat", "responder"),
        ("cora", "responder"),
    ):
        accounts.add_user(database, name, role=role, password=PASSWORD, actor="seed")


def session(db_url: str, database: Database, name: str) -> TestClient:
    c = TestClient(
        create_app(load_settings(database_url=db_url), database=database), follow_redirects=False
    )
    assert (
        c.post("/login", data={"name": name, "password": PASSWORD, "next": "/"}).status_code == 303
    )
    return c


def csrf(c: TestClient, page: str) -> str:
    m = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', c.get(page).text)
    assert m, "no csrf field on the page"
    return m.group(1)


def security_incident(database: Database) -> incidents.Incident:
    inc = incidents.declare(
        database, title=TITLE, actor="seed", severity="P1", type="security", commander="cora"
    )
    incidents.assign_role(database, inc.key, role="participant", person="pat", actor="cora")
    return inc


# --- types -----------------------------------------------------------------------------------


def test_a_security_incident_is_private_and_sets_the_security_factor(
    database: Database, clock: Any
) -> None:
    inc = incidents.declare(database, title="creds leaked", actor="ana", security=True)
    assert (inc.type, inc.private, inc.security) == ("security", True, True)
    assert inc.factors.security.value == "possible"
    plain = incidents.declare(database, title="slow", actor="ana")
    assert (plain.type, plain.private) == ("availability", False)
    with pytest.raises(InvalidInput, match="impact scope"):
        incidents.declare(database, title="rows gone", actor="ana", type="data-loss")
    loss = incidents.declare(
        database,
        title="rows gone",
        actor="ana",
        type="data-loss",
        impact_scope="orders of 2026-11-23",
    )
    assert (loss.type, loss.private) == ("data_loss", False)
    with pytest.raises(InvalidInput, match="unknown incident type"):
        incidents.declare(database, title="x", actor="ana", type="weather")
    custom = Settings(raw={"incident_types": {"fraud": {"private": True, "clocks": ["pci"]}}})
    fraud = incidents.declare(
        database, title="card testing", actor="ana", type="fraud", settings=custom
    )
    assert (fraud.type, fraud.private) == ("fraud", True)


def test_the_security_runbook_is_suggested_for_a_security_incident(
    database: Database, clock: Any
) -> None:
    inc = incidents.declare(
        database, title="Odd logins on the admin panel", actor="ana", type="security"
    )
    assert "security-incident" in [m.runbook.name for m in suggest(database, inc.key)]


# --- private: invisible to outsiders everywhere ---------------------------------------------


def test_a_private_incident_is_missing_for_a_viewer_and_a_non_participant(
    db_url: str, database: Database, clock: Any
) -> None:
    people(database)
    inc = security_incident(database)
    other = incidents.declare(database, title="Checkout slow", actor="seed", severity="P2")
    updates.post_update(
        database,
        inc.key,
        audience="public",
        kind="initial",
        conditions="We are looking into it",
        actor="cora",
    )
    actions.add(
        database, inc.key, title="Rotate the leaked deploy key", type="corrective", actor="cora"
    )
    k = inc.key
    reads = [
        f"/api/v1/incidents/{k}",
        f"/api/v1/incidents/{k}/timeline",
        f"/api/v1/incidents/{k}/artifacts",
        f"/api/v1/incidents/{k}/evidence",
        f"/api/v1/incidents/{k}/clocks",
        f"/api/v1/incidents/{k}/postmortem.md",
        f"/api/v1/incidents/{k}/recurrence",
        f"/incidents/{k}",
        f"/incidents/{k}/postmortem",
    ]
    for name in ("vic", "rita"):
        c = session(db_url, database, name)
        for url in reads:
            r = c.get(url)
            assert r.status_code == 404, (name, url, r.status_code)
            assert TITLE not in r.text
        listed = c.get("/api/v1/incidents").json()
        assert [i["key"] for i in listed] == [other.key]
        for page in ("/", "/api/v1/reports", "/actions", "/api/v1/actions"):
            text = c.get(page).text
            assert TITLE not in text and "leaked deploy key" not in text, (name, page)
        # Writes are missing too (a responder cannot note on what it cannot see).
        r = c.post(
            f"/api/v1/incidents/{k}/notes",
            json={"text": "hi"},
            headers={"X-CSRF-Token": csrf(c, "/")},
        )
        assert r.status_code in (403, 404) and TITLE not in r.text
    for name in ("pat", "cora", "root"):
        c = session(db_url, database, name)
        assert c.get(f"/api/v1/incidents/{k}").json()["title"] == TITLE, name
        assert TITLE in c.get(f"/incidents/{k}").text
        assert k in [i["key"] for i in c.get("/api/v1/incidents").json()]
        assert "leaked deploy key" in c.get("/api/v1/actions").text
    # Never on the public status page, whatever its updates say.
    anon = TestClient(create_app(load_settings(database_url=db_url), database=database))
    assert "We are looking into it" not in anon.get("/status").text
    assert statuspage.build(database).to_dict()["incidents"] == []


def test_reports_and_recurrence_leave_a_private_incident_out(
    database: Database, clock: Any
) -> None:
    inc = incidents.declare(database, title=TITLE, actor="cora", type="security")
    incidents.declare(database, title="Checkout slow", actor="seed")
    since = clock() - timedelta(days=1)
    clock.advance(minutes=5)
    with privacy.reading_as(privacy.Reader("rita")):
        assert reports.build(database, since=since).to_dict()["count"] == 1
        assert [e.incident.key for e in desk.page(database).entries] == ["INC-2"]
        with pytest.raises(NotFound):
            recurrence.find_similar(database, inc.key)
    with privacy.reading_as(privacy.Reader("cora")):
        assert reports.build(database, since=since).to_dict()["count"] == 2


def test_notifications_about_a_private_incident_carry_no_title(
    database: Database, clock: Any
) -> None:
    inc = incidents.declare(database, title=TITLE, actor="cora", type="security")
    channel = notify.Channel("ops", "json://localhost/hook")
    with database.transaction() as conn:
        notify.enqueue(
            conn,
            key="t1",
            incident_id=inc.id,
            channel=channel,
            title=f"{inc.key} {TITLE}",
            body=f"News about {TITLE}: contained",
        )
    with database.read() as conn:
        row = conn.execute(outbox.select()).one()
    assert TITLE not in row.title and TITLE not in row.body
    assert inc.key in row.title and "private incident" in row.body


def test_making_an_incident_private_and_back_is_on_the_timeline(
    database: Database, clock: Any, caplog: pytest.LogCaptureFixture
) -> None:
    inc = incidents.declare(database, title="slow", actor="ana")
    assert incidents.set_private(database, inc.key, private=True, actor="ana").private
    caplog.set_level("INFO", logger="warroom.access")
    with privacy.reading_as(privacy.Reader("bo")), pytest.raises(NotFound):
        incidents.get(database, inc.key)
    with privacy.reading_as(privacy.Reader("ana")):
        assert incidents.get(database, inc.key).private
    said = [r.getMessage() for r in caplog.records if r.name == "warroom.access"]
    assert said == [
        f"private incident id={inc.id} refused to bo",
        f"private incident id={inc.id} opened to ana",
    ]
    assert not incidents.set_private(database, inc.key, private=False, actor="ana").private
    kinds = [(e.kind, e.data) for e in timeline.read(database, inc.key)]
    assert kinds[-2:] == [
        ("incident.updated", {"fields": {"private": True}}),
        ("incident.updated", {"fields": {"private": False}}),
    ]


# --- evidence --------------------------------------------------------------------------------


def test_evidence_round_trips_for_the_permitted_and_is_scrubbed_for_others(
    db_url: str, database: Database, clock: Any
) -> None:
    people(database)
    inc = security_incident(database)
    cora = session(db_url, database, "cora")
    token = csrf(cora, f"/incidents/{inc.key}")
    sealed = cora.post(
        f"/api/v1/incidents/{inc.key}/evidence",
        files={"file": ("auth.log", RAW, "text/plain")},
        data={"description": "from bastion-1"},
        headers={"X-CSRF-Token": token},
    )
    assert sealed.status_code == 201, sealed.text
    e1 = sealed.json()
    assert e1["sha256"] == hashlib.sha256(RAW).hexdigest() and e1["redacted"] >= 1
    evidence.seal(database, inc.key, name="mem.bin", content=BINARY, actor="cora")

    for name in ("cora", "root"):  # the commander and an admin: the original, byte for byte
        r = session(db_url, database, name).get(f"/api/v1/incidents/{inc.key}/evidence/E1")
        assert r.content == RAW and r.headers["x-evidence-copy"] == "original"
        b = session(db_url, database, name).get(f"/incidents/{inc.key}/evidence/E2")
        assert b.content == BINARY
    pat = session(db_url, database, "pat")  # a participant: the scrubbed copy
    r = pat.get(f"/api/v1/incidents/{inc.key}/evidence/E1")
    assert r.status_code == 200 and r.headers["x-evidence-copy"] == "scrubbed"
    assert b"wJalrXUtnFEMI" not in r.content and b"203.0.113.9" in r.content
    assert pat.get(f"/api/v1/incidents/{inc.key}/evidence/E2").status_code == 403
    for outsider in ("vic", "rita"):
        c = session(db_url, database, outsider)
        assert c.get(f"/api/v1/incidents/{inc.key}/evidence/E1").status_code == 404

    custody = [
        (e.actor, e.kind, e.data.get("copy"), e.data.get("sha256"))
        for e in timeline.read(database, inc.key)
        if e.kind.startswith("evidence.")
    ]
    scrubbed_sha = hashlib.sha256(r.content).hexdigest()
    assert custody[:2] == [
        ("cora", "evidence.sealed", None, e1["sha256"]),
        ("cora", "evidence.sealed", None, hashlib.sha256(BINARY).hexdigest()),
    ]
    assert ("pat", "evidence.read", "scrubbed", scrubbed_sha) in custody
    assert ("root", "evidence.read", "original", e1["sha256"]) in custody
    page = session(db_url, database, "pat").get(f"/incidents/{inc.key}")
    assert 'id="security"' in page.text and "auth.log" in page.text


def bundle_members(data: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers()}  # type: ignore[union-attr]


def rebuilt(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def test_the_bundle_verifies_and_a_changed_byte_fails(
    db_url: str, database: Database, clock: Any, tmp_path: Path
) -> None:
    inc = incidents.declare(database, title=TITLE, actor="cora", type="security")
    evidence.seal(
        database, inc.key, name="auth.log", content=RAW, media_type="text/plain", actor="cora"
    )
    evidence.seal(database, inc.key, name="mem.bin", content=BINARY, actor="cora")
    out = tmp_path / "bundle.tar"
    made = runner.invoke(
        cli_app,
        [
            "evidence",
            "export",
            inc.key,
            "--out",
            str(out),
            "--db",
            db_url,
            "--as",
            "cora",
            "--json",
        ],
    )
    assert made.exit_code == 0, made.output
    data = out.read_bytes()
    members = bundle_members(data)
    manifest = json.loads(members["manifest.json"])
    assert [(i["ref"], i["copy"]) for i in manifest["evidence"]] == [
        ("E1", "original"),
        ("E2", "original"),
    ]
    assert members[manifest["evidence"][0]["path"]] == RAW
    assert [c["kind"] for c in manifest["custody"]] == [
        "evidence.sealed",
        "evidence.sealed",
        "evidence.exported",
    ]
    assert manifest["head"]["hash"] == incidents.get(database, inc.key).last_hash
    ok = runner.invoke(cli_app, ["evidence", "verify", str(out), "--db", db_url])
    assert ok.exit_code == 0 and "OK INC-1" in ok.output, ok.output

    # One byte of the binary original changed (and the sums file fixed up to match).
    path = manifest["evidence"][1]["path"]
    forged = dict(members)
    forged[path] = bytes([members[path][0] ^ 1]) + members[path][1:]
    forged["SHA256SUMS"] = "".join(
        f"{hashlib.sha256(v).hexdigest()}  {k}\n" for k, v in forged.items() if k != "SHA256SUMS"
    ).encode()
    result = bundle.verify(rebuilt(forged))
    assert not result.ok and any("E2" in p for p in result.problems)
    bad = tmp_path / "forged.tar"
    bad.write_bytes(rebuilt(forged))
    refused = runner.invoke(cli_app, ["evidence", "verify", str(bad)])
    assert refused.exit_code == 1 and "FAIL" in refused.output
    # A changed byte in the timeline breaks the chain.
    lines = members["timeline.jsonl"].replace(b'"auth.log"', b'"auth.lo9"')
    assert not bundle.verify(rebuilt({**members, "timeline.jsonl": lines})).ok
    # A bundle that holds together but is not this database's record fails against it.
    incidents.declare(database, title="other", actor="cora")
    moved = json.loads(members["manifest.json"])
    moved["incident"] = "INC-2"
    other = {**members, "manifest.json": json.dumps(moved).encode()}
    other["SHA256SUMS"] = "".join(
        f"{hashlib.sha256(v).hexdigest()}  {k}\n" for k, v in other.items() if k != "SHA256SUMS"
    ).encode()
    assert bundle.verify(rebuilt(other)).ok
    assert not bundle.verify(rebuilt(other), db=database).ok


def test_a_participant_exports_scrubbed_copies_that_verify(database: Database, clock: Any) -> None:
    inc = incidents.declare(database, title=TITLE, actor="cora", type="security", commander="cora")
    incidents.assign_role(database, inc.key, role="participant", person="pat", actor="cora")
    evidence.seal(
        database, inc.key, name="auth.log", content=RAW, media_type="text/plain", actor="cora"
    )
    evidence.seal(database, inc.key, name="mem.bin", content=BINARY, actor="cora")
    with privacy.reading_as(privacy.Reader("pat")):
        data = bundle.export(database, inc.key, actor="pat")
    manifest = json.loads(bundle_members(data)["manifest.json"])
    assert [(i["ref"], i["copy"]) for i in manifest["evidence"]] == [
        ("E1", "scrubbed"),
        ("E2", "withheld"),
    ]
    assert SECRET_LINE.encode() not in data
    assert bundle.verify(data, db=database).ok


# --- regulatory clocks -----------------------------------------------------------------------


def test_a_clock_reminds_before_and_flags_after_its_deadline(
    database: Database, clock: Any
) -> None:
    settings = Settings(
        raw={
            "comms": {"channels": [{"name": "sec", "url": "json://localhost/sec"}]},
            "regulatory_clocks": {"pci": {"hours": 24, "authority": "card brands"}},
        }
    )
    inc = incidents.declare(database, title=TITLE, actor="cora", type="security", severity="P1")
    started = clocks.start(database, inc.key, actor="cora", settings=settings)
    assert [(c.name, c.due_at - c.aware_at) for c in started] == [("gdpr", timedelta(hours=72))]
    clocks.start(database, inc.key, name="pci", actor="cora", settings=settings)
    assert clocks.tick(database, settings, "w") == {"reminded": 0, "missed": 0}

    clock.advance(hours=20, minutes=1)  # pci: 4 h left, inside its reminder window
    assert clocks.tick(database, settings, "w") == {"reminded": 1, "missed": 0}
    assert clocks.tick(database, settings, "w") == {"reminded": 0, "missed": 0}  # once
    clocks.notified(database, inc.key, name="pci", to="Visa", actor="cora")

    clock.advance(hours=40)  # gdpr: 12 h left
    assert clocks.tick(database, settings, "w") == {"reminded": 1, "missed": 0}
    assert [c.state(clock()) for c in clocks.list_for(database, inc.key)] == [
        "notified",
        "due soon",
    ]
    clock.advance(hours=12, minutes=1)  # past 72 h
    assert clocks.tick(database, settings, "w") == {"reminded": 0, "missed": 1}
    assert clocks.tick(database, settings, "w") == {"reminded": 0, "missed": 0}
    entry = next(
        e for e in desk.page(database, settings=settings).entries if e.incident.key == inc.key
    )
    assert any("GDPR deadline MISSED" in w for w in entry.warnings)
    kinds = [e.kind for e in timeline.read(database, inc.key) if e.kind.startswith("clock.")]
    assert kinds == [
        "clock.started",
        "clock.started",
        "clock.reminder",
        "clock.notified",
        "clock.reminder",
        "clock.missed",
    ]
    with database.read() as conn:
        sent = [r.title for r in conn.execute(outbox.select().order_by(outbox.c.id))]
    assert len(sent) == 3 and all(TITLE not in t and inc.key in t for t in sent)
    late = clocks.notified(database, inc.key, name="gdpr", to="ICO", actor="cora")
    assert late.state(clock()) == "late"
    rep = reports.build(database, since=clock() - timedelta(days=30))
    assert [(m["incident"], m["clock"]) for m in rep.to_dict()["missed_deadlines"]] == [
        (inc.key, "gdpr")
    ]
    assert f"- {inc.key}: gdpr" in reports.render_markdown(rep)


def test_clock_commands_and_api(db_url: str, database: Database, clock: Any) -> None:
    inc = incidents.declare(database, title=TITLE, actor="cora", type="security")
    r = runner.invoke(cli_app, ["clock", "start", inc.key, "--db", db_url, "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)[0]["state"] == "running"
    c = TestClient(create_app(load_settings(database_url=db_url), database=database))
    got = c.get(f"/api/v1/incidents/{inc.key}/clocks", headers={"X-Warroom-User": "cora"})
    assert got.json()[0]["name"] == "gdpr" and got.json()[0]["seconds_left"] == 72 * 3600
    done = c.post(
        f"/api/v1/incidents/{inc.key}/clocks/gdpr/notified",
        json={"to": "ICO"},
        headers={"X-Warroom-User": "cora"},
    )
    assert done.status_code == 200 and done.json()["state"] == "notified"
    with pytest.raises(InvalidInput, match="unknown regulatory clock"):
        clocks.start(database, inc.key, name="hipaa", actor="cora")


# --- postmortem ------------------------------------------------------------------------------


def test_the_postmortem_of_a_security_incident_has_a_compliance_section(
    database: Database, clock: Any
) -> None:
    inc = incidents.declare(
        database, title=TITLE, actor="cora", type="security", impact_scope="412 EU customers"
    )
    item = evidence.seal(
        database, inc.key, name="auth.log", content=RAW, media_type="text/plain", actor="cora"
    )
    clocks.start(database, inc.key, actor="cora")
    clock.advance(hours=30)
    clocks.notified(database, inc.key, name="gdpr", to="ICO", actor="cora")
    pm = postmortems.draft(database, inc.key, actor="cora")
    text = export.render_markdown(pm)
    assert "## Compliance: data, notifications, evidence" in text
    assert "412 EU customers" in text and "notified ICO" in text and item.sha256 in text
    assert [s["name"] for s in pm.to_dict()["sections"]][-1] == "compliance"
    plain = incidents.declare(database, title="slow", actor="cora")
    other = postmortems.draft(database, plain.key, actor="cora")
    assert "compliance" not in [s["name"] for s in other.to_dict()["sections"]]


def test_the_desk_declares_a_typed_incident_and_its_panel_acts(
    db_url: str, database: Database, clock: Any
) -> None:
    c = TestClient(
        create_app(load_settings(database_url=db_url), database=database), follow_redirects=False
    )
    who = {"X-Warroom-User": "cora"}
    form = c.get("/incidents/new", headers=who).text
    assert 'value="security"' in form and 'value="data_loss"' in form
    made = c.post("/incidents/new", data={"title": TITLE, "type": "security"}, headers=who)
    assert made.status_code == 303 and made.headers["location"] == "/incidents/INC-1"
    inc = incidents.get(database, "INC-1")
    assert (inc.type, inc.private) == ("security", True)
    page = c.get("/incidents/INC-1", headers=who).text
    assert 'id="security"' in page and "Start clock" in page and ">private<" in page
    assert c.post("/incidents/INC-1/clocks", data={"name": ""}, headers=who).status_code == 303
    assert [k.name for k in clocks.list_for(database, "INC-1")] == ["gdpr"]
    sealed = c.post(
        "/incidents/INC-1/evidence",
        files={"file": ("auth.log", RAW, "text/plain")},
        headers=who,
    )
    assert sealed.status_code == 303
    got = c.get("/incidents/INC-1/evidence/E1", headers=who)  # loopback is admin: original
    assert got.content == RAW and got.headers["x-evidence-copy"] == "original"
    tar = c.get("/incidents/INC-1/evidence.tar", headers=who)
    assert bundle.verify(tar.content, db=database).ok
    shown = c.get("/incidents/INC-1", headers=who).text
    assert "Evidence E1 sealed: auth.log" in shown and "Clock gdpr started" in shown
    gdpr = "/incidents/INC-1/clocks/gdpr/notified"
    assert c.post(gdpr, data={"to": "ICO"}, headers=who).status_code == 303
    assert clocks.list_for(database, "INC-1")[0].notified_to == "ICO"
    assert (
        c.post("/incidents/INC-1/private", data={"private": "off"}, headers=who).status_code == 303
    )
    assert not incidents.get(database, "INC-1").private
