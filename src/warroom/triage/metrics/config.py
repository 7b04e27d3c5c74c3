"""Where the metrics are and how they are named: `[sources.prometheus]` in warroom.toml.

    settings = MetricsSettings.from_config(toml["sources"]["prometheus"], url=cli_url)

Defaults fit the common instrumentation (client_golang promhttp, prometheus_client, Micrometer
with the Prometheus naming): a request counter `http_requests_total{route, code}` and a latency
histogram `http_request_duration_seconds_bucket{route, le}`. Every query can be replaced whole;
`{selector}`, `{step}`, `{route}` and `{status}` are filled in.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from warroom.core.errors import InvalidInput

REQUESTS_QUERY = "sum by ({route}, {status}) (increase({requests_metric}{{{selector}}}[{step}]))"
LATENCY_QUERY = "sum by ({route}, le) (increase({latency_metric}_bucket{{{selector}}}[{step}]))"
DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_SERIES = 2000
MAX_POINTS = 10_000  # per series and query (Prometheus refuses more than 11,000)


@dataclass(frozen=True)
class MetricsSettings:
    """How to reach a Prometheus-compatible query API and read the request metrics from it."""

    url: str
    selector: str = ""  # label matchers added to every metric, e.g. job="shop"
    route_label: str = "route"  # handler, path, uri
    status_label: str = "code"  # status, status_code
    requests_metric: str = "http_requests_total"
    latency_metric: str = "http_request_duration_seconds"  # a histogram: _bucket{le}
    latency_unit: str = "s"  # "s" or "ms": the unit of the `le` bounds
    requests_query: str = REQUESTS_QUERY
    latency_query: str = LATENCY_QUERY  # "" when there is no latency histogram
    changes_query: str = ""  # deploy/change markers, e.g. `max by (version) (app_build_info)`
    bearer_token: str = field(default="", repr=False)
    basic_user: str = ""
    basic_password: str = field(default="", repr=False)
    headers: dict[str, str] = field(default_factory=dict)  # X-Scope-OrgID for Mimir, ...
    ca_file: str = ""
    tls_verify: bool = True
    timeout: float = DEFAULT_TIMEOUT
    max_series: int = DEFAULT_MAX_SERIES

    @classmethod
    def from_config(
        cls, section: dict[str, Any] | None = None, *, url: str | None = None, **override: Any
    ) -> MetricsSettings:
        """Settings from a `[sources.prometheus]` table, the URL and options given on the
        command line winning. Secrets may come from the environment: `bearer_token_env`,
        `basic_password_env` name the variables."""
        raw = dict(section or {})
        where = "[sources.prometheus]"
        for key in ("bearer_token", "basic_password"):
            env = raw.pop(f"{key}_env", None)
            if env and raw.get(key):
                raise InvalidInput(
                    f"{where}: give {key} or {key}_env, not both", field=f"{key}_env"
                )
            if env:
                value = os.environ.get(str(env))
                if value is None:
                    raise InvalidInput(
                        f"{where} {key}_env names ${env}, which is not set", field=f"{key}_env"
                    )
                raw[key] = value
        token_file = raw.pop("bearer_token_file", None)
        if token_file:
            path = Path(str(token_file))
            if not path.is_file():
                raise InvalidInput(
                    f"{where} bearer_token_file {path} does not exist", field="bearer_token_file"
                )
            raw["bearer_token"] = path.read_text(encoding="utf-8").strip()
        raw.update({k: v for k, v in override.items() if v is not None})
        if url:
            raw["url"] = url
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise InvalidInput(
                f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}",
                field=unknown[0],
            )
        if not raw.get("url"):
            raise InvalidInput(
                "no Prometheus URL: pass --prometheus URL or set url in [sources.prometheus]",
                field="url",
            )
        settings = cls(**raw)
        settings.check()
        return settings

    def check(self) -> None:
        if not self.url.startswith(("http://", "https://")):
            raise InvalidInput(
                f"Prometheus URL {self.url!r} must start with http:// or https://", field="url"
            )
        if self.latency_unit not in ("s", "ms"):
            raise InvalidInput(
                f"latency_unit {self.latency_unit!r}: use s or ms", field="latency_unit"
            )
        if self.ca_file and not Path(self.ca_file).is_file():
            raise InvalidInput(f"ca_file {self.ca_file} does not exist", field="ca_file")
        if self.bearer_token and self.basic_user:
            raise InvalidInput("give a bearer token or basic auth, not both", field="bearer_token")
        if self.max_series < 1:
            raise InvalidInput("max_series must be at least 1", field="max_series")

    def fill(self, query: str, *, step: str, selector: str | None = None) -> str:
        """A configured query with its placeholders filled in."""
        return query.format(
            selector=self.selector if selector is None else selector,
            step=step,
            route=self.route_label,
            status=self.status_label,
            requests_metric=self.requests_metric,
            latency_metric=self.latency_metric,
        )

    @property
    def label(self) -> str:
        """Where the numbers came from, for the report (no credentials)."""
        return f"{self.url.rstrip('/')} (Prometheus query API)"
