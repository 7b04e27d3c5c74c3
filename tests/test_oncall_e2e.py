"""Paging end to end with real local receivers, on SQLite and on PostgreSQL with two worker
processes: an Alertmanager webhook opens a P1 on checkout, whose policy pages schedule l1 by
email (a local aiosmtpd server) and, with no acknowledgement after the timeout, schedule l2
by webhook (a local HTTP server); l2 acknowledges through the link in the page; every page
is sent exactly once; the timeline and `warroom report` show the pages, the escalation and
MTTA."""

from __future__ import annotations

import email
import json
import multiprocessing
import re
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from typer.testing import CliRunner

from alert_payloads import am_alert, am_payload
from helpers import free_port, running_server
from oncall_helpers import set_up
from warroom.cli.main import app as cli
from warroom.core.config import load_settings
from warroom.core.db import Database
from warroom.incidents import timeline
from warroom.web.app import create_app

pytestmark = pytest.mark.slow
LINK = re.compile(r"(http://127\.0\.0\.1:\d+/ack/INC-\d+/[A-Za-z0-9_.-]+)")


class Mailbox:
    """A real SMTP server on loopback (aiosmtpd) that keeps every message."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        box = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
                box.messages.append(email.message_from_bytes(envelope.content))
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def url(self, to: str) -> str:
        return f"mailto://127.0.0.1:{self.port}?from=pager@example.com&to={to}"

    def text(self, message: Message) -> str:
        for part in message.walk():
            if part.get_content_type() == "text/plain":
                payload = part.get_payload(decode=True)
                assert isinstance(payload, bytes)
                return payload.decode()
        return ""


class Hooks:
    """A real HTTP server that records the JSON posted to it (apprise's json:// scheme)."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        hooks = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                hooks.posts.append(json.loads(body or b"{}"))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"json://127.0.0.1:{self.port}/{path}"


@pytest.fixture
def receivers() -> Iterator[tuple[Mailbox, Hooks]]:
    box, hooks = Mailbox(), Hooks()
    box.controller.start()
    try:
        yield box, hooks
    finally:
        box.controller.stop()
        hooks.server.shutdown()
        hooks.server.server_close()


def _worker(url: str, config: str, at: str, out: Any) -> None:
    """`warroom worker --once` at a given time, in its own process."""
    from warroom.core import clock, registry, worker
    from warroom.core.config import load_settings

    now = datetime.fromisoformat(at)
    clock.set_clock(lambda: now)
    db = Database(url)
    settings = load_settings(database_url=url, config_path=config)
    out.put(worker.run_once(db, settings, registry.active().jobs()))
    db.dispose()


def two_workers(url: str, config: Path, at: datetime) -> list[dict[str, Any]]:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [
        ctx.Process(target=_worker, args=(url, str(config), at.isoformat(), queue))
        for _ in range(2)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    return [queue.get(timeout=5) for _ in procs]


def test_an_alert_pages_l1_by_email_escalates_to_l2_by_webhook_and_the_link_acknowledges(
    db_url: str, tmp_path: Path, receivers: tuple[Mailbox, Hooks], clock: Any
) -> None:
    box, hooks = receivers
    db = Database(db_url)
    set_up(db, box.url("ana@example.com"), hooks.url("bob"), timeout="10m")
    port = free_port()
    config = tmp_path / "warroom.toml"
    config.write_text(
        f'[oncall]\nurl = "http://127.0.0.1:{port}"\n[worker]\nin_serve = false\n'
        "[notify]\nbackoff_seconds = 1\n",
        encoding="utf-8",
    )
    settings = load_settings(database_url=db_url, config_path=config)
    t0 = clock.now
    with running_server(create_app(settings, database=db), port=port) as url:
        payload = am_payload(
            "checkout-availability",
            [am_alert("fp-1", starts="2026-11-24T11:58:00Z", service="checkout")],
            severity="critical",
        )
        r = httpx.post(f"{url}/api/v1/alerts/alertmanager", json=payload, timeout=10)
        assert r.status_code == 200, r.text
        key = r.json()["incident"]
        assert key == "INC-1"

        # Two workers at once: L1 (ana) gets exactly one email, with a working link.
        results = two_workers(db_url, config, t0)
        assert sum(x["paging"]["pages"] for x in results) == 1
        assert len(box.messages) == 1 and hooks.posts == []
        mail = box.messages[0]
        assert mail["To"] == "ana@example.com" and mail["Subject"].startswith(f"[P1] {key}")
        ana_link = LINK.search(box.text(mail))
        assert ana_link is not None
        page = httpx.get(ana_link.group(1), timeout=10)
        assert page.status_code == 200 and "Page to <strong>ana</strong>" in page.text

        # Nobody acknowledges: ten minutes later L2 (bob) is paged by webhook, once.
        results = two_workers(db_url, config, t0 + timedelta(minutes=9))
        assert sum(x["paging"]["pages"] for x in results) == 0
        results = two_workers(db_url, config, t0 + timedelta(minutes=10))
        assert sum(x["paging"]["escalations"] for x in results) == 1
        assert len(box.messages) == 1 and len(hooks.posts) == 1
        body = hooks.posts[0]["message"]
        assert "level 2 of payments" in body
        bob_link = LINK.search(body)
        assert bob_link is not None

        # bob acknowledges through his link (a GET only shows it; the button posts).
        clock.set(t0 + timedelta(minutes=13))
        assert "Acknowledge: I have it" in httpx.get(bob_link.group(1), timeout=10).text
        done = httpx.post(bob_link.group(1), timeout=10)
        assert done.status_code == 200 and "Escalation stopped" in done.text
        again = httpx.post(bob_link.group(1), timeout=10)
        assert again.status_code == 409 and "already used" in again.text

    # The pager has stopped: later ticks send nothing.
    results = two_workers(db_url, config, t0 + timedelta(minutes=40))
    assert sum(x["paging"]["pages"] for x in results) == 0
    assert len(box.messages) == 1 and len(hooks.posts) == 1

    events = [(e.kind, e.actor) for e in timeline.read(db, key) if e.kind.startswith("page.")]
    assert events == [
        ("page.sent", "pager"),
        ("page.escalated", "pager"),
        ("page.sent", "pager"),
        ("page.acknowledged", "bob"),
    ]
    report = CliRunner().invoke(cli, ["report", "--since", "2026-11-01", "--json", "--db", db_url])
    assert report.exit_code == 0, report.output
    mtta = json.loads(report.output)["durations_seconds"]["mtta"]["all"]
    assert mtta == {"n": 1, "median": 13 * 60.0, "p90": 13 * 60.0}
    timeline_cmd = CliRunner().invoke(cli, ["timeline", key, "--db", db_url])
    assert "Paged bob (level 2 of payments" in timeline_cmd.output
    assert "bob acknowledged the page (payments, link)" in timeline_cmd.output
    db.dispose()
