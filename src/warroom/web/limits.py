"""Request limits, before any handler reads a body: size per route, JSON depth, allowed hosts.

`LimitsMiddleware` (outermost, see `create_app`):

* refuses a `Host` that is not one of the allowed hosts (the loopback names by default, plus
  the host of `[web] public_url`; `[web] allowed_hosts` to change): 400, before anything
  else, so a DNS-rebinding page cannot talk to a desk on loopback;
* refuses a body over its route's limit (413, `TooLarge`): from `Content-Length` at once,
  else while the body arrives;
* refuses a JSON body nested deeper than `[limits] json_depth` levels (422) before any JSON
  parser (FastAPI's, the Alertmanager intake's) meets it.

    [limits]
    body_bytes = 1048576               # every route without its own limit
    json_depth = 64
    [limits.routes]                    # fnmatch patterns of paths: bytes
    "/api/v1/alerts/alertmanager" = 4194304

    [web]
    allowed_hosts = ["localhost", "127.0.0.1", "::1", "warroom.example.com"]
    public_url = "https://warroom.example.com"   # links in feeds and notifications
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request

from warroom.core.config import Settings
from warroom.core.errors import InvalidInput, TooLarge, WarroomError
from warroom.core.limits import MAX_JSON_DEPTH, json_depth_over
from warroom.web import errors

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

MIB = 1024 * 1024
DEFAULT_BODY_BYTES = 1 * MIB
# Routes with their own default: the Alertmanager intake (a large group of alerts is a few
# hundred KiB; 4 MiB leaves room and refuses the 60 MB body), and the log uploads of triage
# and verify (an artifact may be up to 50 MiB).
DEFAULT_ROUTES: dict[str, int] = {
    "/api/v1/alerts/alertmanager": 4 * MIB,
    "/api/v1/alerts/webhook/*": 1 * MIB,
    "/incidents/*/triage": 64 * MIB,
    "/incidents/*/verify": 64 * MIB,
}
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
HOSTS_ENV = "WARROOM_ALLOWED_HOSTS"  # comma-separated; overrides [web] allowed_hosts


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise InvalidInput(f"[limits] {name} = {value!r}: use a positive whole number", field=name)
    return value


@dataclass(frozen=True)
class Limits:
    body_bytes: int = DEFAULT_BODY_BYTES
    routes: tuple[tuple[str, int], ...] = tuple(DEFAULT_ROUTES.items())
    json_depth: int = MAX_JSON_DEPTH
    allowed_hosts: tuple[str, ...] = LOOPBACK_HOSTS

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        raw = settings.section("limits")
        routes = dict(DEFAULT_ROUTES)
        extra = raw.get("routes", {})
        if not isinstance(extra, dict):
            raise InvalidInput("[limits.routes] must be a table of path: bytes", field="routes")
        routes.update({str(k): _int(v, f"routes.{k}") for k, v in extra.items()})
        web = settings.section("web")
        hosts = web.get("allowed_hosts", list(LOOPBACK_HOSTS))
        if os.environ.get(HOSTS_ENV):
            hosts = [h.strip() for h in os.environ[HOSTS_ENV].split(",") if h.strip()]
        if not isinstance(hosts, list) or not all(isinstance(h, str) for h in hosts):
            raise InvalidInput("[web] allowed_hosts must be a list of host names", field="hosts")
        public = public_url(settings)
        named = [h.lower().strip("[]") for h in hosts]
        if public_host := urlsplit(public).hostname:
            named.append(public_host.lower())
        # Longest pattern first: a route's own limit wins over a wider pattern.
        ordered = sorted(routes.items(), key=lambda kv: -len(kv[0]))
        return cls(
            body_bytes=_int(raw.get("body_bytes", DEFAULT_BODY_BYTES), "body_bytes"),
            routes=tuple(ordered),
            json_depth=_int(raw.get("json_depth", MAX_JSON_DEPTH), "json_depth"),
            allowed_hosts=tuple(named),
        )

    def body_limit(self, path: str) -> int:
        for pattern, limit in self.routes:
            if fnmatch.fnmatchcase(path, pattern):
                return limit
        return self.body_bytes

    def host_allowed(self, host_header: str) -> bool:
        if "*" in self.allowed_hosts:
            return True
        host = (urlsplit(f"//{host_header}").hostname or "").lower()
        return any(
            host == h or (h.startswith("*.") and host.endswith(h[1:])) for h in self.allowed_hosts
        )


DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"


def public_url(settings: Settings) -> str:
    """The desk's address for links sent away (feeds, notifications): `[web] public_url`,
    else `[oncall] url`, else the loopback default; never the request's Host."""
    url = settings.section("web").get("public_url") or settings.section("oncall").get("url")
    text = str(url or DEFAULT_PUBLIC_URL).strip().rstrip("/")
    if not text.startswith(("http://", "https://")) or not urlsplit(text).hostname:
        raise InvalidInput(
            f"[web] public_url {text!r} is the desk's address, like https://warroom.example.com",
            field="public_url",
        )
    return text


class LimitsMiddleware:
    """See the module docstring."""

    def __init__(self, app: Any, limits: Limits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            receive = await self._check(scope, receive)
        except WarroomError as exc:
            await errors.render(Request(scope), exc)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _check(self, scope: Scope, receive: Receive) -> Receive:
        request = Request(scope)
        host = request.headers.get("host", "")
        if not self.limits.host_allowed(host):
            raise InvalidInput(
                f"host {host[:100]!r} is not one this desk answers to: add it to [web] "
                "allowed_hosts in warroom.toml",
                field="host",
            )
        limit = self.limits.body_limit(scope["path"])
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > limit:
            raise _too_large(limit)
        ctype = request.headers.get("content-type", "").lower()
        if scope["method"] in ("GET", "HEAD", "OPTIONS") or ctype.startswith("multipart/"):
            return _counting(receive, limit)
        # Any other body is small (its route's limit): read it whole, check its nesting
        # when it is JSON (whatever its declared type: the intake parses text too), replay.
        body = await _read(receive, limit)
        if body.lstrip()[:1] in (b"[", b"{") and json_depth_over(body, self.limits.json_depth):
            raise InvalidInput(
                f"body: JSON nested deeper than {self.limits.json_depth} levels is not accepted",
                field="body",
            )
        return _replay(body, receive)


def _too_large(limit: int) -> TooLarge:
    return TooLarge(
        f"body: the request body is over this route's limit of {limit:,} bytes "
        "([limits] in warroom.toml)",
        field="body",
    )


async def _read(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _counting(receive: Receive, limit: int) -> Receive:
    """`receive` that raises TooLarge (answered 413 by the app's error handler) once the body
    passes `limit` bytes: an upload without Content-Length is cut off as it arrives."""
    size = 0

    async def counted() -> Message:
        nonlocal size
        message = await receive()
        if message["type"] == "http.request":
            size += len(message.get("body", b""))
            if size > limit:
                raise _too_large(limit)
        return message

    return counted
