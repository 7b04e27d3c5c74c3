"""HTTP levers: one request to an admin endpoint, and the request that undoes it.

    [levers.rate-limit]
    kind = "http"
    request = { method = "PUT", url = "http://admin:9000/limits/{route}", body = { rps = 50 } }
    undo = { method = "DELETE", url = "http://admin:9000/limits/{route}" }   # {} = nothing

A status outside 2xx, or no answer within the timeout, is a failed step.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Self

import httpx

from warroom.contain.levers.base import Lever, Outcome, Recorded, config_error, fill_obj, tail


def run_http(
    req: dict[str, Any], *, timeout: float, transport: httpx.BaseTransport | None = None
) -> dict[str, Any]:
    """Send one request (JSON body); the step's record, done for a 2xx answer."""
    method = str(req.get("method", "POST")).upper()
    started = time.monotonic()
    try:
        with httpx.Client(transport=transport, timeout=timeout) as client:
            resp = client.request(
                method, str(req["url"]), json=req.get("body"), headers=req.get("headers")
            )
        ok = 200 <= resp.status_code < 300
        return {
            "request": f"{method} {req['url']}",
            "status": "done" if ok else "failed",
            "http_status": resp.status_code,
            "body": tail(resp.text),
            "seconds": round(time.monotonic() - started, 3),
        }
    except httpx.HTTPError as exc:
        return {
            "request": f"{method} {req['url']}",
            "status": "failed",
            "http_status": None,
            "body": f"{type(exc).__name__}: {exc}",
            "seconds": round(time.monotonic() - started, 3),
        }


def describe_request(req: dict[str, Any], timeout: float) -> str:
    method = str(req.get("method", "POST")).upper()
    body = f" body {json.dumps(req['body'])}" if req.get("body") is not None else ""
    return f"{method} {req['url']}{body} (timeout {timeout:g}s)"


@dataclass(frozen=True, kw_only=True)
class HttpLever(Lever):
    """Send `request`; undo sends `undo_request` (None when there is nothing to reverse)."""

    kind = "http"

    request: dict[str, Any]
    undo_request: dict[str, Any] | None = None

    @classmethod
    def from_table(cls, raw: dict[str, Any], *, flag_file: str | None, **common: Any) -> Self:
        name = common["name"]
        req = raw.get("request")
        if not isinstance(req, dict) or not req.get("url"):
            raise config_error(
                name, 'an http lever needs request = { method = "POST", url = "..." }'
            )
        undo_req = raw.get("undo")
        if undo_req is None:
            raise config_error(
                name,
                "an http lever needs undo = { method = ..., url = ... } (or undo = {} "
                "when there is nothing to reverse)",
            )
        return cls(**common, request=dict(req), undo_request=dict(undo_req) or None)

    def dry_run(self, values: dict[str, str]) -> tuple[list[str], list[str]]:
        action = describe_request(fill_obj(self.request, values), self.timeout)
        if not self.undo_request:
            return [action], ["nothing to reverse"]
        return [action], [describe_request(fill_obj(self.undo_request, values), self.timeout)]

    def apply(self, values: dict[str, str], *, transport: httpx.BaseTransport | None) -> Outcome:
        res = run_http(fill_obj(self.request, values), timeout=self.timeout, transport=transport)
        return Outcome(steps=[{"step": 1, **res}])

    def _undo_request(self, record: Recorded) -> dict[str, Any] | None:
        if not self.undo_request or not record.done(1):
            return None
        return dict(fill_obj(self.undo_request, record.values()))

    def undo_plan(self, record: Recorded) -> list[str]:
        req = self._undo_request(record)
        return [describe_request(req, self.timeout)] if req else ["nothing to reverse"]

    def undo(self, record: Recorded, *, transport: httpx.BaseTransport | None) -> Outcome:
        req = self._undo_request(record)
        if req is None:
            return Outcome()
        return Outcome(
            steps=[{"step": 1, **run_http(req, timeout=self.timeout, transport=transport)}]
        )
