"""Outbox delivery through apprise to a real local HTTP receiver: once, retried after a 500,
no duplicate after a worker restart mid-delivery, and reminders sent exactly once by two
concurrent worker processes."""

from __future__ import annotations

import json
import multiprocessing
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from warroom import incidents
from warroom.comms import notify, updates
from warroom.comms.notify import Channel, NotifyConfig
from warroom.comms.tables import outbox, reminders_sent
from warroom.comms.updates import CommsConfig
from warroom.core.config import load_settings
from warroom.core.db import Database

WARROOM = str(Path(sys.executable).parent / "warroom")


class Receiver:
    """A real HTTP server that records POSTs, answers from a script of status codes, can hang
    on a request, and deduplicates by the X-Idempotency-Key header like a careful consumer."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.statuses: list[int] = []
        self.hang = threading.Event()
        self.release = threading.Event()
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.requests.append(
                        {
                            "path": self.path,
                            "key": self.headers.get("X-Idempotency-Key"),
                            "body": json.loads(body or b"{}"),
                        }
                    )
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                if receiver.hang.is_set():
                    receiver.release.wait(20)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"json://127.0.0.1:{self.port}/{path}"

    @property
    def unique(self) -> dict[str, dict[str, Any]]:
        """What a deduplicating consumer keeps: the first request per idempotency key."""
        out: dict[str, dict[str, Any]] = {}
        for r in self.requests:
            out.setdefault(r["key"], r)
        return out


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    r.thread.start()
    try:
        yield r
    finally:
        r.release.set()
        r.server.shutdown()
        r.server.server_close()


def config_for(receiver: Receiver, **kw: Any) -> CommsConfig:
    return CommsConfig(
        notify=NotifyConfig(
            channels=(Channel("stake", receiver.url("stake"), audiences=("stakeholder",)),),
            **kw,
        )
    )


def test_update_is_delivered_once_with_its_idempotency_key(
    db: Database, clock, receiver: Receiver
) -> None:
    cfg = config_for(receiver)
    inc = incidents.declare(db, title="Login fails", actor="ana", severity="P1")
    updates.post_update(
        db, inc.key, audience="stakeholder", actor="ana", conditions="Nobody can log in", config=cfg
    )
    updates.post_update(
        db, inc.key, audience="internal", actor="ana", conditions="internal only", config=cfg
    )  # no internal channel
    stats = notify.deliver_pending(db, config=cfg.notify)
    assert stats.to_dict() == {"sent": 1, "retried": 0, "failed": 0}
    assert notify.deliver_pending(db, config=cfg.notify).sent == 0
    assert len(receiver.requests) == 1
    req = receiver.requests[0]
    assert req["path"] == "/stake"
    assert req["key"] == "update:1:1:stake" == req["body"]["idempotency_key"]
    assert "Nobody can log in" in req["body"]["message"]
    [row] = notify.deliveries(db, inc.key)
    assert (row.status, row.attempts, row.sent_at is not None) == ("sent", 1, True)
    # The delivery state is visible on the incident (page panel and API).
    from fastapi.testclient import TestClient

    from warroom.web.app import create_app

    client = TestClient(create_app(load_settings(database_url=db.url), database=db))
    page = client.get(f"/incidents/{inc.key}").text
    assert '<span class="badge delivery-sent">sent</span> stake:' in page
    api = client.get(f"/api/v1/incidents/{inc.key}/deliveries").json()
    assert [(d["channel"], d["status"]) for d in api] == [("stake", "sent")]


def test_retried_with_backoff_after_the_receiver_answers_500(
    db: Database, clock, receiver: Receiver
) -> None:
    cfg = config_for(receiver, backoff_seconds=30, max_attempts=3)
    inc = incidents.declare(db, title="Login fails", actor="ana", severity="P1")
    updates.post_update(
        db, inc.key, audience="stakeholder", actor="ana", conditions="x", config=cfg
    )
    receiver.statuses = [500]
    assert notify.deliver_pending(db, config=cfg.notify).retried == 1
    [row] = notify.deliveries(db, inc.key)
    assert row.status == "pending" and row.attempts == 1 and row.last_error
    assert row.next_attempt_at == clock.now + timedelta(seconds=30)
    assert notify.deliver_pending(db, config=cfg.notify).sent == 0  # not due yet
    clock.advance(seconds=30)
    assert notify.deliver_pending(db, config=cfg.notify).sent == 1
    assert [r["key"] for r in receiver.requests] == ["update:1:1:stake"] * 2
    assert len(receiver.unique) == 1
    [row] = notify.deliveries(db, inc.key)
    assert row.status == "sent" and row.attempts == 2 and row.last_error == ""


def test_a_dead_channel_fails_after_max_attempts_without_blocking_changes(
    db: Database, clock, receiver: Receiver
) -> None:
    cfg = config_for(receiver, backoff_seconds=1, max_attempts=2)
    inc = incidents.declare(db, title="Login fails", actor="ana", severity="P1")
    updates.post_update(
        db, inc.key, audience="stakeholder", actor="ana", conditions="x", config=cfg
    )
    receiver.statuses = [500, 500]
    notify.deliver_pending(db, config=cfg.notify)
    clock.advance(seconds=5)
    assert notify.deliver_pending(db, config=cfg.notify).failed == 1
    [row] = notify.deliveries(db, inc.key)
    assert row.status == "failed" and row.attempts == 2
    # The incident moves on regardless, and the next update is queued normally.
    incidents.move(db, inc.key, to="contained", actor="ana")
    updates.post_update(
        db, inc.key, audience="stakeholder", actor="ana", conditions="y", config=cfg
    )
    assert notify.deliver_pending(db, config=cfg.notify).sent == 1
    notify.retry_now(db, row.id)
    assert notify.deliver_pending(db, config=cfg.notify).sent == 1


def write_config(tmp_path: Path, receiver: Receiver) -> Path:
    path = tmp_path / "warroom.toml"
    path.write_text(
        "[notify]\n"
        "backoff_seconds = 1\n"
        "[comms.contacts]\n"
        f'carl = "{receiver.url("carl")}"\n'
        "[[comms.channels]]\n"
        'name = "ops"\n'
        f'url = "{receiver.url("ops")}"\n'
        'audiences = ["internal", "stakeholder"]\n'
        "[[comms.channels]]\n"
        'name = "managers"\n'
        f'url = "{receiver.url("esc")}"\n'
        'audiences = ["escalation"]\n',
        encoding="utf-8",
    )
    return path


def _worker_process(url: str, config: str, out: Any) -> None:
    """What `warroom worker --once` does, in a separate process (the CLI itself imports the
    analytics stack and takes seconds to start, which would spread the workers apart)."""
    from warroom.comms import worker
    from warroom.core.config import load_settings

    db = Database(url)
    cfg = CommsConfig.from_settings(load_settings(config_path=config))
    result = worker.run_once(db, config=cfg)
    out.put(result.to_dict())
    db.dispose()


def start_workers(url: str, config: Path, n: int) -> tuple[list[Any], Any]:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_worker_process, args=(url, str(config), queue)) for _ in range(n)]
    for p in procs:
        p.start()
    return procs, queue


def test_no_duplicate_after_a_worker_is_killed_mid_delivery(
    db_url: str, tmp_path: Path, receiver: Receiver, clock
) -> None:
    config = write_config(tmp_path, receiver)
    cfg = CommsConfig.from_settings(load_settings(config_path=config))
    db = Database(db_url)
    clock.set(datetime.now(UTC))
    inc = incidents.declare(db, title="Login fails", actor="ana", severity="P1")
    updates.post_update(
        db, inc.key, audience="stakeholder", actor="ana", conditions="x", config=cfg
    )
    clock.set(datetime.now(UTC))
    receiver.hang.set()
    procs, _ = start_workers(db_url, config, 1)
    deadline = time.monotonic() + 30
    while not receiver.requests and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(receiver.requests) == 1
    procs[0].kill()  # dies after sending, before marking the row sent
    procs[0].join(10)
    receiver.hang.clear()
    receiver.release.set()
    [row] = notify.deliveries(db, inc.key)
    assert row.status == "sending"
    # A restarted worker leaves the leased row alone while the lease runs...
    clock.set(datetime.now(UTC))
    assert notify.deliver_pending(db, config=cfg.notify).sent == 0
    assert len(receiver.requests) == 1
    # ...and when it has expired, sends it again with the same key: the receiver drops it.
    with db.read() as conn:
        lease_until = conn.execute(sa.select(outbox.c.lease_until)).scalar_one()
    clock.set(lease_until + timedelta(seconds=1))
    assert notify.deliver_pending(db, config=cfg.notify).sent == 1
    assert [r["key"] for r in receiver.requests] == ["update:1:1:ops"] * 2
    assert len(receiver.unique) == 1
    # Once marked sent it is never sent again, however often workers restart.
    clock.advance(hours=1)
    procs, queue = start_workers(db_url, config, 2)
    for p in procs:
        p.join(60)
    assert [queue.get(timeout=5)["delivery"]["sent"] for _ in procs] == [0, 0]
    assert len(receiver.requests) == 2
    [row] = notify.deliveries(db, inc.key)
    assert row.status == "sent" and row.attempts == 2
    db.dispose()


def test_two_workers_send_each_reminder_exactly_once(
    db_url: str, tmp_path: Path, receiver: Receiver, clock
) -> None:
    """Incidents declared two hours ago with no update and no commander: both worker
    processes see the same overdue, escalation and no-commander reminders at the same time."""
    config = write_config(tmp_path, receiver)
    db = Database(db_url)
    clock.set(datetime.now(UTC) - timedelta(hours=2))
    for i in range(6):
        key = incidents.declare(db, title=f"Outage {i}", actor="ana", severity="P0").key
        incidents.assign_role(db, key, role="comms_lead", person="carl", actor="ana")
    clock.set(datetime.now(UTC))
    procs, queue = start_workers(db_url, config, 2)
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    results = [queue.get(timeout=5) for _ in procs]
    claimed = [len(r["reminders_sent"]) for r in results]
    with db.read() as conn:
        sent = conn.execute(sa.select(reminders_sent.c.kind)).scalars().all()
        rows = conn.execute(sa.select(outbox.c.key, outbox.c.status)).all()
    # Per incident: overdue (to ops), escalation (carl + managers), no commander (to ops).
    assert sorted(set(sent)) == ["no_commander", "update_escalation", "update_overdue"]
    assert len(sent) == 18 == sum(claimed)
    assert len(rows) == 6 * 4 and {r.status for r in rows} == {"sent"}
    keys = [r["key"] for r in receiver.requests]
    assert len(keys) == 24 and len(set(keys)) == 24  # each message once, no duplicates
    assert {r["path"] for r in receiver.requests} == {"/ops", "/carl", "/esc"}
    # `warroom worker --once` finds nothing left to send. (Imported here: worker processes
    # import this module, and the CLI pulls in the analytics stack, seconds to load.)
    from typer.testing import CliRunner

    from warroom.cli.main import app as cli_app

    again = CliRunner().invoke(
        cli_app, ["worker", "--once", "--json", "--db", db_url], env={"WARROOM_CONFIG": str(config)}
    )
    assert again.exit_code == 0, again.output
    assert json.loads(again.output)["reminders_sent"] == []
    assert len(receiver.requests) == 24
    db.dispose()


def test_threads_racing_send_reminders_on_postgres_record_each_once(pg_url: str, clock) -> None:
    from warroom.comms.heartbeat import send_reminders

    db = Database(pg_url)
    for i in range(5):
        incidents.declare(db, title=f"Outage {i}", actor="ana", severity="P1")
    clock.advance(minutes=31)
    results: list[int] = []
    barrier = threading.Barrier(4)

    def race() -> None:
        own = Database(pg_url)
        barrier.wait()
        results.append(len(send_reminders(own, config=CommsConfig(), worker="t")))
        own.dispose()

    threads = [threading.Thread(target=race) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    with db.read() as conn:
        count = conn.execute(sa.select(sa.func.count()).select_from(reminders_sent)).scalar()
    # Each P1 incident: overdue update and no commander (31 min > 5 min).
    assert sum(results) == count == 10
    db.dispose()
