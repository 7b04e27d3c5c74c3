"""A small client of the Prometheus HTTP query API (`/api/v1/query_range`).

Prometheus, Thanos Query, Mimir/Cortex (under their `/prometheus` prefix) and VictoriaMetrics
all serve it. Long ranges are asked in chunks of at most `MAX_POINTS` steps; an unreachable
store, a refused query or too many series are errors as data, never a traceback::

    client = PromClient(settings)
    for labels, times, values in client.query_range(query, start, end, step):
        ...
"""

from __future__ import annotations

import math
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import numpy as np

from warroom.core.errors import InvalidInput, NotFound, WarroomError
from warroom.triage.metrics.config import MAX_POINTS, MetricsSettings


class StoreUnavailable(WarroomError):
    """The metrics store did not answer (connection refused, timeout, TLS, 5xx)."""

    code = "metrics_unavailable"


@dataclass(frozen=True)
class RangeSeries:
    """One series of a range query: its labels and its points (unix seconds, values)."""

    labels: dict[str, str]
    times: np.ndarray  # float64 unix seconds
    values: np.ndarray  # float64


def step_text(step: timedelta) -> str:
    """A PromQL duration for a step: `60s`."""
    return f"{int(step.total_seconds())}s"


class PromClient:
    def __init__(self, settings: MetricsSettings) -> None:
        self.settings = settings
        headers = dict(settings.headers)
        if settings.bearer_token:
            headers["Authorization"] = f"Bearer {settings.bearer_token}"
        auth = (
            httpx.BasicAuth(settings.basic_user, settings.basic_password)
            if settings.basic_user
            else None
        )
        verify: ssl.SSLContext | bool = settings.tls_verify
        if settings.ca_file:
            try:
                verify = ssl.create_default_context(cafile=settings.ca_file)
            except (OSError, ssl.SSLError) as exc:
                raise InvalidInput(
                    f"ca_file {settings.ca_file} is not a PEM certificate: {exc}", field="ca_file"
                ) from None
        self._http = httpx.Client(
            base_url=settings.url.rstrip("/"),
            headers=headers,
            auth=auth,
            verify=verify,
            timeout=settings.timeout,
        )
        self.queries = 0  # range requests made (for the report and the cost bound)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> PromClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def query_range(
        self, query: str, start: datetime, end: datetime, step: timedelta
    ) -> list[RangeSeries]:
        """The series of `query` at every `step` from `start` to `end` (both included), asked
        in chunks of at most MAX_POINTS steps and joined per label set."""
        seconds = step.total_seconds()
        if seconds <= 0 or end < start:
            raise InvalidInput("a range query needs a positive step and start <= end")
        joined: dict[tuple[tuple[str, str], ...], list[tuple[np.ndarray, np.ndarray]]] = {}
        chunk = step * MAX_POINTS
        at = start
        while at <= end:
            upto = min(end, at + chunk)
            for labels, t, v in self._range_once(query, at, upto, seconds):
                joined.setdefault(tuple(sorted(labels.items())), []).append((t, v))
                if len(joined) > self.settings.max_series:
                    raise InvalidInput(
                        f"{query!r} returns more than {self.settings.max_series} series: narrow "
                        "the selector (selector in [sources.prometheus]) or raise max_series",
                        field="max_series",
                    )
            at = upto + step
        out = []
        for key, parts in joined.items():
            t = np.concatenate([p[0] for p in parts])
            v = np.concatenate([p[1] for p in parts])
            t, first = np.unique(t, return_index=True)
            out.append(RangeSeries(dict(key), t, v[first]))
        return out

    def _range_once(
        self, query: str, start: datetime, end: datetime, step: float
    ) -> list[tuple[dict[str, str], np.ndarray, np.ndarray]]:
        params = {
            "query": query,
            "start": f"{start.timestamp():.3f}",
            "end": f"{end.timestamp():.3f}",
            "step": f"{step:g}",
        }
        data = self._get("/api/v1/query_range", params, query)
        if data.get("resultType") != "matrix":
            raise InvalidInput(
                f"{query!r} gives a {data.get('resultType')}, not a range vector: give an "
                "instant-vector expression (no [range] at the top level)",
                field="query",
            )
        out = []
        for item in data.get("result") or []:
            points = item.get("values") or []
            t = np.array([float(p[0]) for p in points], dtype=float)
            v = np.array([_number(p[1]) for p in points], dtype=float)
            out.append(({str(k): str(x) for k, x in (item.get("metric") or {}).items()}, t, v))
        return out

    def _get(self, path: str, params: dict[str, str], query: str) -> dict[str, Any]:
        url = self.settings.url.rstrip("/") + path
        self.queries += 1
        try:
            resp = self._http.get(path, params=params)
        except httpx.TimeoutException:
            raise StoreUnavailable(
                f"the metrics store at {url} did not answer within {self.settings.timeout:g} s: "
                "is it overloaded? narrow the window or raise timeout"
            ) from None
        except httpx.HTTPError as exc:
            raise StoreUnavailable(
                f"cannot reach the metrics store at {url}: {exc}; check the URL, the network "
                "and the TLS settings (ca_file)"
            ) from None
        if resp.status_code in (401, 403):
            raise StoreUnavailable(
                f"the metrics store at {url} refused the credentials (HTTP {resp.status_code}): "
                "check bearer_token or basic_user/basic_password in [sources.prometheus]"
            )
        if resp.status_code == 404:
            raise NotFound(
                f"{url} is not a Prometheus query API (HTTP 404): give the base URL that serves "
                "/api/v1/query_range (Mimir: .../prometheus)",
                field="url",
            )
        try:
            body = resp.json()
        except ValueError:
            raise StoreUnavailable(
                f"the metrics store at {url} answered HTTP {resp.status_code} with no JSON: "
                f"{resp.text[:200]!r}"
            ) from None
        if not isinstance(body, dict):
            raise StoreUnavailable(f"{url} answered {str(body)[:200]!r}, not a query result")
        if body.get("status") != "success":
            error = str(body.get("error") or body)[:300]
            if resp.status_code in (400, 422) or body.get("errorType") in ("bad_data", "execution"):
                raise InvalidInput(f"the metrics store refused {query!r}: {error}", field="query")
            raise StoreUnavailable(f"the metrics store at {url} failed: {error}")
        data = body.get("data")
        return data if isinstance(data, dict) else {}


def _number(text: Any) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return math.nan
    return value


def to_datetime(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)
