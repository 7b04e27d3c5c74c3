"""Faults warroom survives: SIGKILL mid-burst, the database going away, a full or read-only
SQLite file. Each ends with the data intact (audit, projection, PRAGMA integrity_check)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from conftest import need
from helpers import free_port
from warroom import incidents
from warroom.core.config import load_settings
from warroom.core.db import Database, create_db_engine
from warroom.core.errors import StorageUnavailable
from warroom.incidents import timeline
from warroom.trust import audit
from warroom.web.app import create_app

WARROOM = str(Path(sys.executable).parent / "warroom")


# --- SIGKILL during a burst of concurrent writes ---------------------------------------------


def _start_server(db_url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "WARROOM_DATABASE_URL": db_url, "WARROOM_USER": "server"}
    proc = subprocess.Popen(
        [WARROOM, "serve", "--port", str(port)],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError(f"server did not start: {log.read_text()[-2000:]}")


@pytest.mark.slow
def test_sigkill_mid_burst_keeps_every_acknowledged_write(db_url: str, tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}/api/v1"
    log = tmp_path / "server.log"
    server = _start_server(db_url, port, log)
    seed = httpx.post(f"{base}/incidents", json={"title": "seed"}, timeout=10)
    assert seed.status_code == 201
    declared: dict[str, str] = {seed.json()["key"]: "seed"}
    notes: list[tuple[str, int, str]] = []
    lock = threading.Lock()
    stop = threading.Event()

    def worker(n: int) -> None:
        with httpx.Client(timeout=5) as client:
            i = 0
            while not stop.is_set():
                i += 1
                try:
                    if i % 4 == 0:
                        title = f"w{n} incident {i}"
                        r = client.post(f"{base}/incidents", json={"title": title})
                        if r.status_code == 201:
                            with lock:
                                declared[r.json()["key"]] = title
                    else:
                        with lock:
                            key = sorted(declared)[i % len(declared)]
                        text = f"w{n} note {i}"
                        r = client.post(f"{base}/incidents/{key}/notes", json={"text": text})
                        if r.status_code == 201:
                            with lock:
                                notes.append((key, r.json()["seq"], text))
                except httpx.HTTPError:
                    return  # the server is gone: whatever was not acknowledged may be lost

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30
    while len(notes) < 40 and time.monotonic() < deadline:
        time.sleep(0.02)
    server.send_signal(signal.SIGKILL)  # mid-burst: requests are in flight right now
    server.wait(10)
    stop.set()
    for t in threads:
        t.join(10)
    assert len(notes) >= 40, log.read_text()[-2000:]

    server = _start_server(db_url, port, log)
    try:
        for key, title in declared.items():
            r = httpx.get(f"{base}/incidents/{key}", timeout=10)
            assert r.status_code == 200 and r.json()["title"] == title
        by_key: dict[str, dict[int, str]] = {}
        for key in declared:
            events = httpx.get(f"{base}/incidents/{key}/timeline", timeout=10).json()
            by_key[key] = {e["seq"]: e["data"].get("text", "") for e in events}
        for key, seq, text in notes:
            assert by_key[key].get(seq) == text, (key, seq, text)
    finally:
        server.terminate()
        server.wait(20)
    database = Database(db_url)
    try:
        reports = audit.audit_all(database)  # chains, heads and rows == replayed timelines
        assert len(reports) >= len(declared)
        assert [r.to_dict() for r in reports if not r.ok] == []
        if database.is_sqlite:
            with database.engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    finally:
        database.dispose()


# --- the database goes away and comes back ---------------------------------------------------


class Proxy:
    """A TCP forwarder to PostgreSQL that the test can take down and bring back."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._sockets: list[socket.socket] = []
        self._stop = threading.Event()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(32)
        listener.settimeout(0.1)
        self._listener = listener
        self._stop.clear()
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while not self._stop.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            upstream = socket.create_connection(self.target)
            self._sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        """The database "goes away": no new connections, open ones are cut."""
        self._stop.set()
        if self._listener is not None:
            self._listener.close()
        for s in self._sockets:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()
        self._sockets.clear()
        time.sleep(0.2)


@pytest.fixture
def proxy() -> Iterator[Proxy]:
    p = Proxy(("127.0.0.1", 5432))
    p.start()
    try:
        yield p
    finally:
        p.stop()


def test_api_answers_503_while_postgresql_is_away_and_recovers(pg_url: str, proxy: Proxy) -> None:
    url = pg_url.replace("@127.0.0.1:5432/", f"@127.0.0.1:{proxy.port}/")
    assert url != pg_url
    app = create_app(load_settings(database_url=url))
    with TestClient(app) as client:
        r = client.post("/api/v1/incidents", json={"title": "Before the outage"})
        assert r.status_code == 201
        key = r.json()["key"]

        proxy.stop()
        for request in (
            lambda: client.get("/api/v1/incidents"),
            lambda: client.post(f"/api/v1/incidents/{key}/notes", json={"text": "lost?"}),
        ):
            r = request()
            assert r.status_code == 503
            body = r.json()
            assert body["error"] == "StorageUnavailable"
            assert "is unavailable" in body["detail"] and "refused" in body["detail"]
        page = client.get(f"/incidents/{key}", headers={"accept": "text/html"})
        assert page.status_code == 503 and "unavailable" in page.text

        proxy.start()
        r = client.post(f"/api/v1/incidents/{key}/notes", json={"text": "back"})
        assert r.status_code == 201
        assert client.get("/api/v1/incidents").status_code == 200
    database = Database(pg_url)
    try:
        assert [e.data.get("text") for e in timeline.read(database, key)][1:] == ["back"]
        assert audit.audit(database, key).ok
    finally:
        database.dispose()
    app.state.db.dispose()


@pytest.mark.slow
def test_cli_says_in_one_line_that_the_database_is_down() -> None:
    dead = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/test"
    for args in (["list"], ["note", "INC-1", "hello"]):
        r = subprocess.run(
            [WARROOM, *args, "--db", dead], capture_output=True, text=True, timeout=60
        )
        assert r.returncode == 1, r.stderr
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1, r.stderr
        assert lines[0].startswith("error: the database postgresql+psycopg://")
        assert "is unavailable" in lines[0] and "Connection refused" in lines[0]


# --- SQLite: read-only and full --------------------------------------------------------------


def _integrity(path: Path) -> str:
    engine = sa.create_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            return str(conn.exec_driver_sql("PRAGMA integrity_check").scalar())
    finally:
        engine.dispose()


def _chattr(flag: str, path: Path) -> bool:
    return (
        subprocess.run(["chattr", flag, str(path)], capture_output=True, check=False).returncode
        == 0
    )


def test_read_only_sqlite_file_refuses_writes_clearly_and_stays_intact(
    sqlite_url: str, tmp_path: Path, clock: Any
) -> None:
    """Tests run as root, which ignores file modes, so the file is made immutable
    (`chattr +i`): the kernel then refuses every write to it, for root too — the same
    SQLITE_READONLY a read-only mount or a chmod'ed file gives a normal user."""
    path = Path(sa.engine.make_url(sqlite_url).database or "")
    db = Database(sqlite_url)
    key = incidents.declare(db, title="Before read-only", actor="ana").key
    db.dispose()  # checkpoints the WAL into the file
    need(_chattr("+i", path), "chattr +i is not supported on this file system")
    try:
        db = Database(sqlite_url)
        assert incidents.get(db, key).title == "Before read-only"  # reads still work
        with pytest.raises(StorageUnavailable, match="cannot be written .*readonly"):
            incidents.add_note(db, key, text="refused", actor="ana")
        app = create_app(load_settings(database_url=sqlite_url), database=db)
        with TestClient(app) as client:
            r = client.post(f"/api/v1/incidents/{key}/notes", json={"text": "refused"})
            assert r.status_code == 503
            assert "permissions" in r.json()["detail"]
            assert client.get(f"/api/v1/incidents/{key}").status_code == 200
        cli = subprocess.run(
            [WARROOM, "note", key, "refused", "--db", sqlite_url],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert cli.returncode == 1
        assert "cannot be written" in cli.stderr and "Traceback" not in cli.stderr
        db.dispose()
    finally:
        _chattr("-i", path)
    assert _integrity(path) == "ok"
    db = Database(sqlite_url)
    try:
        assert len(timeline.read(db, key)) == 1
        incidents.add_note(db, key, text="writable again", actor="ana")
        assert audit.audit(db, key).ok
    finally:
        db.dispose()


def test_full_sqlite_database_refuses_writes_clearly_and_stays_intact(
    sqlite_url: str, clock: Any
) -> None:
    """A full disk, simulated with PRAGMA max_page_count: SQLite answers SQLITE_FULL
    ("database or disk is full") exactly as when the file system has no space left."""
    path = Path(sa.engine.make_url(sqlite_url).database or "")
    db = Database(sqlite_url)
    key = incidents.declare(db, title="Before the disk fills", actor="ana").key
    with db.engine.connect() as conn:
        pages = int(conn.exec_driver_sql("PRAGMA page_count").scalar() or 0)
    db.dispose()

    engine = create_db_engine(sqlite_url)

    @sa.event.listens_for(engine, "connect")
    def _cap(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.execute(f"PRAGMA max_page_count = {pages + 8}")

    full = Database(sqlite_url, engine=engine)
    written = 0
    with pytest.raises(StorageUnavailable, match="cannot be written .*full.*free space"):
        for i in range(200):
            incidents.add_note(full, key, text=f"{i} " + "x" * 15_000, actor="ana")
            written += 1
    app = create_app(load_settings(database_url=sqlite_url), database=full)
    with TestClient(app) as client:
        r = client.post(f"/api/v1/incidents/{key}/notes", json={"text": "y" * 15_000})
        assert r.status_code == 503 and "free space" in r.json()["detail"]
        assert client.get(f"/api/v1/incidents/{key}/timeline").status_code == 200
    full.dispose()

    assert _integrity(path) == "ok"
    db = Database(sqlite_url)
    try:
        assert len(timeline.read(db, key)) == 1 + written  # every acknowledged note, no more
        report = audit.audit(db, key)
        assert report.ok, report.to_dict()
        incidents.add_note(db, key, text="space again", actor="ana")
    finally:
        db.dispose()
