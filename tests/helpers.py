"""Plain helpers shared by tests (no fixtures here)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

import httpx


def append_notes(url: str, key: str, count: int, who: str) -> list[str]:
    """Append `count` notes as `who` from a fresh process; returns the errors seen."""
    from warroom import incidents
    from warroom.core.db import Database

    db = Database(url)
    errors: list[str] = []
    try:
        for i in range(count):
            try:
                incidents.add_note(db, key, text=f"{who} note {i}", actor=who)
            except Exception as exc:  # noqa: BLE001 - the test counts every failure
                errors.append(f"{type(exc).__name__}: {exc}")
    finally:
        db.dispose()
    return errors


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_server(app: Any, *, port: int | None = None) -> Iterator[str]:
    """Serve an ASGI app with uvicorn on a free loopback port (or `port`) in a thread; yields
    its URL."""
    import uvicorn

    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/healthz", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.05)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def say_who(page: Any, url: str, name: str = "ana") -> None:
    """Tell the desk who this browser's person is, as its name page does (a cookie): without
    accounts the desk asks once, before the first page."""
    page.context.add_cookies([{"name": "warroom_name", "value": quote(name, safe=""), "url": url}])
