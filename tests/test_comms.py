"""Status updates, cadence rules, reminders and escalation, with a controllable clock."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from warroom import incidents
from warroom.cli import hints
from warroom.cli.main import app as cli_app
from warroom.comms import catalog, updates
from warroom.comms.heartbeat import (
    Beat,
    ReminderKind,
    due_reminders,
    heartbeat,
    punctuality,
    send_reminders,
)
from warroom.comms.notify import Channel, NotifyConfig
from warroom.comms.tables import outbox, reminders_sent
from warroom.comms.updates import CommsConfig
from warroom.core.config import Settings, load_settings
from warroom.core.db import Database
from warroom.core.errors import InvalidInput
from warroom.incidents import timeline
from warroom.web.app import create_app

OPS = Channel("ops", "json://127.0.0.1:9/ops", audiences=("internal",))
ESC = Channel("managers", "json://127.0.0.1:9/esc", audiences=("escalation",))
CFG = CommsConfig(
    notify=NotifyConfig(
        channels=(OPS, ESC),
        contacts={"ana": "json://127.0.0.1:9/ana", "carl": "json://127.0.0.1:9/carl"},
    )
)


def declare(db: Database, severity: str | None = "P0", commander: str | None = "ana") -> str:
    inc = incidents.declare(
        db,
        title="Payments down",
        actor="ana",
        severity=severity,
        commander=commander,
        business_impact="No orders are taken",
    )
    return inc.key


def kinds(reminders: list) -> list[str]:  # type: ignore[type-arg]
    return sorted(r.kind.value for r in reminders)


@pytest.mark.parametrize(("severity", "minutes"), [("P0", 15), ("P1", 30), ("P2", 60)])
def test_heartbeat_overdue_after_cadence_of_severity(
    db: Database, clock, severity: str, minutes: int
) -> None:
    key = declare(db, severity)
    assert heartbeat(db, key, config=CFG).state is Beat.OK
    clock.advance(minutes=minutes - 5)
    beat = heartbeat(db, key, config=CFG)
    assert beat.state is Beat.DUE and "due in 5 min" in beat.text
    clock.advance(minutes=5)
    beat = heartbeat(db, key, config=CFG)
    assert beat.state is Beat.OVERDUE and "OVERDUE" in beat.text
    clock.advance(minutes=10)
    assert heartbeat(db, key, config=CFG).state is Beat.ESCALATED


@pytest.mark.parametrize("severity", ["P3", "P4"])
def test_no_cadence_below_p2(db: Database, clock, severity: str) -> None:
    key = declare(db, severity)
    clock.advance(hours=5)
    beat = heartbeat(db, key, config=CFG)
    assert beat.state is Beat.NONE and beat.due_at is None
    assert not [r for r in due_reminders(db, config=CFG) if r.kind.value.startswith("update")]


def test_cadence_is_configurable(db: Database, clock) -> None:
    settings = load_settings()
    cfg = CommsConfig.from_settings(
        type(settings)(raw={"comms": {"cadence": {"P0": 5, "P2": 0, "P3": 120}}})
    )
    assert cfg.cadence == {"P0": 5, "P1": 30, "P3": 120}
    key = declare(db, "P0")
    clock.advance(minutes=5)
    assert heartbeat(db, key, config=cfg).state is Beat.OVERDUE


def test_update_resets_heartbeat_and_is_a_timeline_event(db: Database, clock) -> None:
    key = declare(db, "P1")
    clock.advance(minutes=25)
    u = updates.post_update(
        db,
        key,
        audience="stakeholder",
        kind="initial",
        actor="ana",
        conditions="Card payments fail for all users",
        actions="Failing over to the backup PSP",
        needs="Approval to pause the marketing email",
        config=CFG,
    )
    assert u.next_update_at == u.posted_at + timedelta(minutes=30)
    assert u.text.splitlines()[0] == "We are investigating: Payments down."
    assert "Business impact: No orders are taken" in u.text
    assert "What we need: Approval to pause the marketing email" in u.text
    assert f"Next update by {u.next_update_at:%H:%M} UTC" in u.text
    beat = heartbeat(db, key, config=CFG)
    assert beat.state is Beat.OK and beat.due_at == u.next_update_at
    events = timeline.read(db, key, kinds=[updates.UPDATE_POSTED])
    assert len(events) == 1
    assert events[0].data["audience"] == "stakeholder"
    assert "Initial assessment to stakeholder" in events[0].summary()


def test_internal_updates_do_not_reset_heartbeat(db: Database, clock) -> None:
    key = declare(db, "P0")
    clock.advance(minutes=10)
    updates.post_update(
        db, key, audience="internal", actor="ana", conditions="db cpu 100%", config=CFG
    )
    clock.advance(minutes=5)
    assert heartbeat(db, key, config=CFG).state is Beat.OVERDUE


def test_each_template_renders_its_moment(db: Database, clock) -> None:
    key = declare(db, "P1")
    eta = clock.now + timedelta(hours=1)
    u = updates.post_update(
        db,
        key,
        audience="stakeholder",
        kind="eta",
        actor="ana",
        conditions="Backlog draining",
        eta=eta,
        config=CFG,
    )
    assert u.text.startswith("Revised estimate for Payments down.")
    assert f"Expected resolution: {eta:%Y-%m-%d %H:%M} UTC." in u.text
    r = updates.post_update(
        db,
        key,
        audience="stakeholder",
        kind="resolution",
        actor="ana",
        conditions="Payments failed 40 min",
        actions="Rolled back",
        config=CFG,
    )
    assert r.text.startswith("Resolved: Payments down.")
    assert "What we did: Rolled back" in r.text and r.next_update_at is None
    clock.advance(hours=3)
    assert heartbeat(db, key, config=CFG).state is Beat.NONE  # resolution stops the cadence
    f = updates.post_update(
        db,
        key,
        audience="stakeholder",
        kind="followup",
        actor="ana",
        conditions="Expired certificate",
        prevention="Alert 30 days before expiry",
        config=CFG,
    )
    assert "Preventing a recurrence: Alert 30 days before expiry" in f.text
    with pytest.raises(InvalidInput, match="prevention recommendations") as refused:
        updates.post_update(
            db,
            key,
            audience="stakeholder",
            kind="followup",
            actor="ana",
            conditions="x",
            config=CFG,
        )
    assert refused.value.field == "prevention"
    with pytest.raises(InvalidInput, match="needs the new ETA") as refused:
        updates.post_update(
            db, key, audience="stakeholder", kind="eta", actor="ana", conditions="x", config=CFG
        )
    assert refused.value.field == "eta"


def test_promise_later_than_cadence_is_refused(db: Database, clock) -> None:
    key = declare(db, "P0")
    with pytest.raises(InvalidInput, match="every 15 min"):
        updates.post_update(
            db,
            key,
            audience="stakeholder",
            actor="ana",
            conditions="x",
            next_update_minutes=45,
            config=CFG,
        )
    u = updates.post_update(
        db,
        key,
        audience="stakeholder",
        actor="ana",
        conditions="x",
        next_update_minutes=10,
        config=CFG,
    )
    assert u.next_update_at == clock.now + timedelta(minutes=10)
    clock.advance(minutes=10)
    assert heartbeat(db, key, config=CFG).state is Beat.OVERDUE


def test_overdue_reminds_commander_once_then_escalates_after_grace(db: Database, clock) -> None:
    key = declare(db, "P0", commander="ana")
    incidents.assign_role(db, key, role="comms_lead", person="carl", actor="ana")
    clock.advance(minutes=12)
    listed = due_reminders(db, config=CFG)
    assert kinds(listed) == ["update_due"] and not send_reminders(db, config=CFG)
    clock.advance(minutes=3)  # due now: overdue
    sent = send_reminders(db, config=CFG, worker="w1")
    assert kinds(sent) == ["update_overdue"]
    assert sent[0].to_people == ["ana"]
    assert send_reminders(db, config=CFG) == []  # once per due slot
    clock.advance(minutes=9)
    assert send_reminders(db, config=CFG) == []  # still inside the grace period
    clock.advance(minutes=1)
    sent = send_reminders(db, config=CFG)
    assert kinds(sent) == ["update_escalation"]
    assert sent[0].to_people == ["carl"] and "Comms lead" in sent[0].message
    with db.read() as conn:
        rows = conn.execute(sa.select(outbox.c.channel, outbox.c.key).order_by(outbox.c.id)).all()
    assert [r.channel for r in rows] == ["@ana", "ops", "@carl", "managers"]
    # An update stops the nagging; the next slot starts from it.
    updates.post_update(
        db, key, audience="stakeholder", actor="carl", conditions="Still down", config=CFG
    )
    assert [r for r in due_reminders(db, config=CFG) if r.kind.value.startswith("update")] == []
    p = punctuality(db, key, config=CFG)
    assert p.updates == 1 and p.overdue_count == 1 and p.reminders_sent == 2
    assert p.longest_silence_minutes == pytest.approx(25)


def test_no_commander_reminded_every_five_minutes(db: Database, clock) -> None:
    key = declare(db, "P1", commander=None)
    assert send_reminders(db, config=CFG) == []
    clock.advance(minutes=5)
    first = send_reminders(db, config=CFG)
    assert kinds(first) == ["no_commander"] and "NO COMMANDER" in first[0].message
    clock.advance(minutes=3)
    assert send_reminders(db, config=CFG) == []
    clock.advance(minutes=2)
    assert kinds(send_reminders(db, config=CFG)) == ["no_commander"]
    incidents.assign_role(db, key, role="commander", person="ana", actor="ana")
    clock.advance(minutes=5)
    assert ReminderKind.NO_COMMANDER not in {r.kind for r in due_reminders(db, config=CFG)}


def test_no_severity_and_stale_task_are_reminded(db: Database, clock) -> None:
    key = declare(db, None, commander="ana")
    incidents.add_task(db, key, title="inspect DB logs", assignee="bo", actor="ana")
    clock.advance(minutes=15)
    assert kinds(send_reminders(db, config=CFG)) == ["no_severity"]
    clock.advance(minutes=15)
    sent = send_reminders(db, config=CFG)
    assert kinds(sent) == ["no_severity", "stale_task"]
    stale = next(r for r in sent if r.kind is ReminderKind.STALE_TASK)
    assert stale.to_people == ["bo"] and "T1" in stale.message
    incidents.update_task(db, key, 1, status="done", actor="bo")
    clock.advance(minutes=40)
    assert ReminderKind.STALE_TASK not in {r.kind for r in due_reminders(db, config=CFG)}


def test_closed_incident_has_no_reminders(db: Database, clock) -> None:
    key = declare(db, "P0", commander=None)
    incidents.move(db, key, to="contained", actor="ana")
    incidents.move(db, key, to="fixed", actor="ana")
    incidents.move(db, key, to="closed", actor="ana", reason="test: nothing to learn")
    clock.advance(hours=2)
    assert due_reminders(db, config=CFG) == []


def test_cli_update_heartbeat_and_reminders_json(db_url: str, clock) -> None:
    runner = CliRunner()
    r = runner.invoke(
        cli_app,
        [
            "declare",
            "Search slow",
            "-s",
            "P2",
            "--commander",
            "ana",
            "--db",
            db_url,
            "--as",
            "ana",
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    r = runner.invoke(
        cli_app,
        [
            "update",
            "INC-1",
            "--audience",
            "stakeholder",
            "--kind",
            "initial",
            "-c",
            "Search takes 8 s",
            "--actions",
            "Adding nodes",
            "--db",
            db_url,
            "--as",
            "ana",
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["audience"] == "stakeholder"
    r = runner.invoke(
        cli_app, ["update", "INC-1", "--audience", "everyone", "-c", "x", "--db", db_url]
    )
    assert r.exit_code == 2 and "internal, stakeholder, public" in r.output
    clock.advance(minutes=61)
    r = runner.invoke(cli_app, ["reminders", "--json", "--db", db_url])
    assert r.exit_code == 0, r.output
    items = json.loads(r.output)
    assert [(i["incident"], i["kind"], i["sent"]) for i in items] == [
        ("INC-1", "update_overdue", False)
    ]
    r = runner.invoke(cli_app, ["heartbeat", "INC-1", "--json", "--db", db_url])
    data = json.loads(r.output)
    assert data["heartbeat"]["state"] == "overdue" and data["punctuality"]["updates"] == 1
    r = runner.invoke(cli_app, ["updates", "INC-1", "--db", db_url])
    assert "Initial assessment" in r.output


def test_api_posts_update_and_reports_heartbeat(db_url: str, clock) -> None:
    client = TestClient(create_app(load_settings(database_url=db_url)))
    db = Database(db_url)
    key = declare(db, "P0")
    db.dispose()
    r = client.post(
        f"/api/v1/incidents/{key}/updates",
        json={
            "audience": "public",
            "conditions": "Checkout errors",
            "headline": "Checkout problems",
            "component_state": "major_outage",
        },
        headers={"X-Warroom-User": "ana"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["headline"] == "Checkout problems"
    r = client.post(
        f"/api/v1/incidents/{key}/updates",
        json={"audience": "internal", "conditions": "x", "component_state": "ok"},
    )
    assert r.status_code == 422 and "public" in r.json()["detail"]
    hb = client.get(f"/api/v1/incidents/{key}/heartbeat").json()
    assert hb["heartbeat"]["state"] == "ok" and hb["heartbeat"]["seconds_left"] == 15 * 60
    assert client.get("/api/v1/reminders").json() == []
    assert len(client.get(f"/api/v1/incidents/{key}/updates").json()) == 1


def test_reminders_sent_table_rejects_a_second_record_of_the_same_slot(db: Database, clock) -> None:
    key = declare(db, "P0", commander=None)
    clock.advance(minutes=5)
    send_reminders(db, config=CFG)
    with db.read() as conn:
        row = conn.execute(sa.select(reminders_sent)).one()
    assert row.kind == "no_commander"
    with pytest.raises(sa.exc.IntegrityError), db.transaction() as conn:
        conn.execute(
            reminders_sent.insert().values(
                incident_id=row.incident_id,
                kind=row.kind,
                slot=row.slot,
                message="dup",
                recipients=[],
                sent_at=clock.now,
                worker="other",
            )
        )
    assert key == "INC-1"


def test_serve_runs_the_reminder_scheduler_in_the_background(sqlite_url: str, clock) -> None:
    db = Database(sqlite_url)
    declare(db, "P1", commander=None)
    clock.advance(minutes=6)
    settings = Settings(database_url=sqlite_url, raw={"worker": {"interval_seconds": 0.05}})
    with TestClient(create_app(settings, database=db)) as client:
        assert client.get("/healthz").status_code == 200
        deadline = time.monotonic() + 20
        sent: list = []  # type: ignore[type-arg]
        while not sent and time.monotonic() < deadline:
            time.sleep(0.05)
            with db.read() as conn:
                sent = conn.execute(sa.select(reminders_sent.c.kind)).scalars().all()
    assert sent == ["no_commander"]
    off = Settings(database_url=sqlite_url, raw={"worker": {"in_serve": False}})
    app = create_app(off, database=db)
    with TestClient(app):
        assert app.state.scheduler.thread is None
    db.dispose()


def test_composer_form_posts_and_shows_refusals_on_the_incident_page(db_url: str, clock) -> None:
    client = TestClient(create_app(load_settings(database_url=db_url)))
    db = Database(db_url)
    key = declare(db, "P2")
    db.dispose()
    r = client.post(
        f"/incidents/{key}/updates",
        data={
            "audience": "stakeholder",
            "kind": "initial",
            "conditions": "Search is slow",
            "next_in": "20",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303 and "error" not in r.headers["location"]
    page = client.get(f"/incidents/{key}").text
    assert "Next update due in 20 min" in page and "Search is slow" in page
    r = client.post(
        f"/incidents/{key}/updates",
        data={"audience": "stakeholder", "conditions": "x", "next_in": "90"},
    )
    assert r.status_code == 200 and "every 60 min" in r.text


def test_channels_by_audience_and_min_severity_plus_service_owners(db: Database, clock) -> None:
    settings = Settings(
        raw={
            "comms": {
                "channels": [
                    {
                        "name": "execs",
                        "url": "json://127.0.0.1:9/x",
                        "audiences": ["stakeholder"],
                        "min_severity": "P1",
                    },
                    {
                        "name": "all",
                        "url": "json://127.0.0.1:9/a",
                        "audiences": ["stakeholder", "public"],
                    },
                ]
            }
        }
    )
    cfg = CommsConfig.from_settings(settings)
    catalog.add_service(
        db, name="search", owner="search-team", contact="json://127.0.0.1:9/search-team"
    )
    p2 = declare(db, "P2")
    p0 = declare(db, "P0")
    catalog.affect(db, p2, names=["search"], actor="ana")
    updates.post_update(db, p2, audience="stakeholder", actor="ana", conditions="x", config=cfg)
    updates.post_update(db, p0, audience="stakeholder", actor="ana", conditions="x", config=cfg)
    updates.post_update(db, p0, audience="public", actor="ana", conditions="x", config=cfg)
    with db.read() as conn:
        keys = sorted(conn.execute(sa.select(outbox.c.key)).scalars())
    assert keys == [
        "update:1:1:all",
        "update:1:1:owner:search",  # P2: not for execs (P1 and above)
        "update:2:1:all",
        "update:2:1:execs",
        "update:2:2:all",
    ]


def test_bad_channel_config_is_reported() -> None:
    bad = Settings(raw={"comms": {"channels": [{"url": "json://h/p", "audiences": ["ceo"]}]}})
    with pytest.raises(InvalidInput, match="unknown audience 'ceo'"):
        CommsConfig.from_settings(bad)
    with pytest.raises(InvalidInput, match="needs a url"):
        CommsConfig.from_settings(Settings(raw={"comms": {"channels": [{"name": "x"}]}}))


def test_reminders_speak_words_and_carry_their_next_step_as_a_hint(db: Database, clock) -> None:
    p0 = declare(db, "P0", commander=None)
    unsure = declare(db, None, commander="ana")
    incidents.add_task(db, unsure, title="read the logs", assignee="bo", actor="ana")
    clock.advance(minutes=31)
    due = {(r.incident, r.kind.value): r for r in due_reminders(db, config=CFG)}
    expected = {
        (p0, "update_overdue"): ("post_update", {"audience": "stakeholder"}),
        (p0, "update_escalation"): ("post_update", {"audience": "stakeholder"}),
        (p0, "no_commander"): ("assign_role", {"role": "commander"}),
        (unsure, "no_severity"): ("set_severity", {}),
        (unsure, "stale_task"): ("update_task", {"task": "T1"}),
    }
    assert set(due) == set(expected)
    for where, (action, params) in expected.items():
        r = due[where]
        assert r.hint is not None and r.hint.incident == where[0]
        assert (r.hint.action, dict(r.hint.params)) == (action, params)
        assert "warroom" not in r.message and "--" not in r.message
        assert r.to_dict()["hint"] == r.hint.to_dict() and r.to_dict()["message"] == r.message
    assert hints.command(due[(p0, "no_commander")].hint) == f"warroom role {p0} commander NAME"
    # what people receive says it in words too
    send_reminders(db, config=CFG)
    with db.read() as conn:
        bodies = conn.execute(sa.select(outbox.c.body)).scalars().all()
    assert bodies and not [b for b in bodies if "warroom" in b or "--" in b]


def test_cli_and_api_show_a_reminder_with_its_next_step(db_url: str, clock) -> None:
    db = Database(db_url)
    key = declare(db, "P1", commander=None)
    db.dispose()
    clock.advance(minutes=5)
    r = CliRunner().invoke(cli_app, ["reminders", "--db", db_url], env={"COLUMNS": "250"})
    assert r.exit_code == 0 and f"warroom role {key} commander NAME" in r.output, r.output
    client = TestClient(create_app(load_settings(database_url=db_url)))
    [reminder] = client.get("/api/v1/reminders").json()
    assert reminder["kind"] == "no_commander" and reminder["sent"] is False
    assert reminder["hint"] == {
        "action": "assign_role",
        "text": "name a commander",
        "incident": key,
        "params": {"role": "commander"},
    }


def test_comms_api_answers_keep_the_domain_shapes_and_are_documented(db_url: str, clock) -> None:
    client = TestClient(create_app(load_settings(database_url=db_url)))
    db = Database(db_url)
    key = declare(db, "P2")
    r = client.post("/api/v1/services", json={"name": "search", "depends_on": []})
    assert r.status_code == 201 and r.json() == catalog.list_services(db)[0].to_dict()
    r = client.post(f"/api/v1/incidents/{key}/services", json={"services": ["search"]})
    assert r.json() == catalog.impact(db, key).to_dict()
    assert client.get(f"/api/v1/incidents/{key}/impact").json() == r.json()
    assert client.get("/api/v1/services").json() == [s.to_dict() for s in catalog.list_services(db)]
    r = client.post(f"/api/v1/incidents/{key}/updates", json={"conditions": "slow search"})
    [posted] = updates.list_updates(db, key)
    assert r.status_code == 201 and r.json() == posted.to_dict()
    assert client.get(f"/api/v1/incidents/{key}/updates").json() == [posted.to_dict()]
    cfg = CommsConfig()
    assert client.get(f"/api/v1/incidents/{key}/heartbeat").json() == {
        "heartbeat": heartbeat(db, key, config=cfg).to_dict(),
        "punctuality": punctuality(db, key, config=cfg).to_dict(),
        "reminders_sent": [],
    }
    assert client.get(f"/api/v1/incidents/{key}/deliveries").json() == []
    r = client.post(
        "/api/v1/maintenance",
        json={
            "title": "DB upgrade",
            "starts_at": "2030-01-01T10:00Z",
            "ends_at": "2030-01-01T11:00Z",
        },
    )
    assert r.status_code == 201 and set(r.json()) == {
        "id",
        "title",
        "description",
        "components",
        "starts_at",
        "ends_at",
        "in_progress",
    }
    r = client.post("/api/v1/outbox/99/retry")
    assert r.status_code == 404 and r.json()["field"] == "id"
    db.dispose()
    doc = client.get("/api/v1/openapi.json").json()
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            if "comms" not in op.get("tags", []):
                continue
            answer = next(v for k, v in op["responses"].items() if k.startswith("2"))
            assert answer["content"]["application/json"]["schema"], (method, path)
            assert answer["content"]["application/json"]["schema"] != {}, (method, path)


def test_comms_config_defaults_are_the_defaults_of_empty_settings() -> None:
    assert CommsConfig() == CommsConfig.from_settings(Settings())
    with pytest.raises(InvalidInput, match="positive number of minutes") as refused:
        CommsConfig.from_settings(Settings(raw={"comms": {"grace_minutes": 0}}))
    assert refused.value.field == "comms.grace_minutes"


def test_composer_refuses_odd_minutes_and_times_without_a_server_error(db_url: str, clock) -> None:
    client = TestClient(create_app(load_settings(database_url=db_url)))
    db = Database(db_url)
    key = declare(db, "P3")
    db.dispose()
    for form, said in (
        ({"next_in": "²"}, "give whole minutes"),
        ({"next_in": "99999999"}, "too far away"),
        ({"eta": "next tuesday", "kind": "eta"}, "is not a time"),
    ):
        r = client.post(
            f"/incidents/{key}/updates",
            data={"audience": "stakeholder", "conditions": "x", **form},
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text
        assert r.headers["location"] == f"/incidents/{key}#comms"
        assert said in client.get(r.headers["location"]).text
    r = client.post(
        f"/api/v1/incidents/{key}/updates", json={"conditions": "x", "next_update_minutes": 10**9}
    )
    assert r.status_code == 422 and r.json()["field"] == "next"
