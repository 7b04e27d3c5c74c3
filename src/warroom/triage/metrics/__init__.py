"""Triage, verify and SLOs from a Prometheus-compatible store (Prometheus, Thanos, Mimir,
VictoriaMetrics): the request metrics teams already keep, instead of access-log files.

* `config.MetricsSettings`: URL, auth, TLS, label and metric names, queries
  (`[sources.prometheus]` in warroom.toml)
* `client.PromClient`: `/api/v1/query_range`, chunked, errors as data
* `aggregates`: range-query results to the triage `Aggregates` (per minute, route, status and
  latency bucket), so the log analysis (onset, impact, suspects) runs on them unchanged
* `source.triage_prometheus(settings, since=..., until=...) -> TriageReport`,
  `source.read_metrics` (for verify and SLO checks), `source.marker_changes` (deploy markers)
"""
