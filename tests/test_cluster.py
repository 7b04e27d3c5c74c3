"""Several instances on one PostgreSQL behind a proxy: real `warroom serve` processes (one
with `--workers 2`), two `warroom worker` processes, and a small TCP proxy in the test that
sends each new connection to the next instance in turn.

A session made on one instance works on the other; CSRF tokens and the login throttle hold
whichever answers; concurrent notes through both keep the timeline's seq gapless; each
reminder reaches the channel once.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from warroom.access import accounts
from warroom.comms.tables import reminders_sent
from warroom.core.clock import utcnow
from warroom.core.db import Database
from warroom.incidents.tables import incidents

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

WARROOM = str(Path(sys.executable).with_name("warroom"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Proxy:
    """Round robin over `backends`, one backend per client connection; counts them."""

    def __init__(self, backends: list[int]) -> None:
        self.backends = backends
        self.served: Counter[int] = Counter()
        self.turn = 0
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        assert self.ready.wait(10)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        port = self.backends[self.turn % len(self.backends)]
        self.turn += 1
        self.served[port] += 1
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", port)
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(
            asyncio.start_server(self._handle, "127.0.0.1", self.port)
        )
        self.ready.set()
        self.loop.run_forever()
        server.close()

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


class Sink:
    """The notification channel: a real HTTP server recording each POST's idempotency key."""

    def __init__(self) -> None:
        self.keys: list[str] = []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                sink.keys.append(str(self.headers.get("X-Idempotency-Key")))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def wait_healthy(port: int, proc: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"server on {port} exited: {proc.stdout and proc.stdout.read()}"
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.3)
    raise AssertionError(f"server on {port} did not start")


@pytest.fixture
def cluster(pg_url: str, tmp_path: Path) -> Iterator[dict[str, Any]]:
    sink = Sink()
    config = tmp_path / "warroom.toml"
    config.write_text(
        "[worker]\nin_serve = false\n"
        "[comms]\ncommander_every_minutes = 5\n"
        "[[comms.channels]]\n"
        'name = "ops"\n'
        f'url = "json://127.0.0.1:{sink.port}/ops"\n'
        'audiences = ["internal", "escalation"]\n',
        encoding="utf-8",
    )
    env = {**os.environ, "WARROOM_CONFIG": str(config), "WARROOM_DB_POOL_SIZE": "3"}
    db = Database(pg_url)
    accounts.add_user(db, "ana", role="admin", password="correct horse 42", actor="setup")
    accounts.add_user(db, "bo", role="viewer", password="battery staple 42", actor="setup")
    ports = [free_port(), free_port()]
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for port, workers in zip(ports, ("2", "1"), strict=True):
            cmd = [WARROOM, "serve", "--port", str(port), "--workers", workers, "--db", pg_url]
            procs.append(
                subprocess.Popen(
                    cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=tmp_path
                )
            )
        for _ in range(2):
            procs.append(
                subprocess.Popen(
                    [WARROOM, "worker", "--interval", "0.5", "--db", pg_url],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    cwd=tmp_path,
                )
            )
        for port, proc in zip(ports, procs, strict=False):
            wait_healthy(port, proc)
        proxy = Proxy(ports)
        yield {"db": db, "proxy": proxy, "sink": sink, "ports": ports}
        proxy.stop()
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        db.dispose()
        sink.server.shutdown()


def fresh(proxy: Proxy, cookies: dict[str, str] | None = None) -> httpx.Client:
    """A client that opens a new connection per request: each goes to the next instance."""
    return httpx.Client(
        base_url=f"http://127.0.0.1:{proxy.port}",
        cookies=cookies,
        limits=httpx.Limits(max_keepalive_connections=0),
        timeout=30,
    )


def test_two_instances_and_two_workers_behind_a_proxy(cluster: dict[str, Any]) -> None:
    proxy, db, sink = cluster["proxy"], cluster["db"], cluster["sink"]

    # A session made on one instance works on the other.
    with fresh(proxy) as web:
        login = web.post(
            "/login", data={"name": "ana", "password": "correct horse 42", "next": "/"}
        )
        assert login.status_code == 303, login.text
        cookie = login.cookies["warroom_session"]
    with fresh(proxy, {"warroom_session": cookie}) as web:
        pages = [web.get("/incidents/new") for _ in range(4)]
        assert all(p.status_code == 200 and "ana" in p.text for p in pages)
        token = re.search(r'name="csrf_token" value="([^"]+)"', pages[0].text)
        assert token is not None
        csrf = {"X-CSRF-Token": token.group(1)}
        declared = web.post("/api/v1/incidents", json={"title": "Checkout 500"}, headers=csrf)
        assert declared.status_code == 201, declared.text
        key = declared.json()["key"]
        # the same CSRF token, checked by whichever instance answers; none is refused
        severity = web.post(
            f"/api/v1/incidents/{key}/severity", json={"severity": "P1"}, headers=csrf
        )
        assert severity.status_code == 200, severity.text
        assert web.post(f"/api/v1/incidents/{key}/notes", json={"text": "x"}).status_code == 403
    assert min(proxy.served.values()) >= 3, proxy.served  # both instances answered

    # Concurrent notes through both keep seq gapless.
    def note(n: int) -> int:
        with fresh(proxy, {"warroom_session": cookie}) as web:
            r = web.post(f"/api/v1/incidents/{key}/notes", json={"text": f"n{n}"}, headers=csrf)
            assert r.status_code == 201, r.text
            return int(r.json()["seq"])

    with ThreadPoolExecutor(8) as pool:
        seqs = list(pool.map(note, range(40)))
    assert len(set(seqs)) == 40
    with fresh(proxy, {"warroom_session": cookie}) as web:
        events = web.get(f"/api/v1/incidents/{key}/timeline", params={"limit": 5000}).json()
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    notes = sorted(e["data"]["text"] for e in events if e["kind"] == "note.added")
    assert notes == sorted(f"n{n}" for n in range(40))

    # The login throttle counts failures on both instances together.
    with fresh(proxy) as web:
        codes = [
            web.post("/login", data={"name": "bo", "password": "wrong password 1"}).status_code
            for _ in range(6)
        ]
    assert codes == [401] * 5 + [429]

    # Each reminder is sent once although two workers tick every half second.
    with db.transaction() as conn:
        conn.execute(
            incidents.update()
            .where(incidents.c.key == key)
            .values(detected_at=utcnow() - timedelta(minutes=60))
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(set(sink.keys)) < 3:
        time.sleep(0.5)
    time.sleep(3)  # a few more ticks of both workers: nothing may come twice
    with db.read() as conn:
        sent = conn.execute(sa.select(reminders_sent.c.kind, reminders_sent.c.slot)).all()
    kinds = sorted(k for k, _ in sent)
    assert kinds == ["no_commander", "update_escalation", "update_overdue"], kinds
    assert sorted(sink.keys) == sorted(set(sink.keys)), json.dumps(sink.keys)
    assert len(sink.keys) == len(sent) == 3
