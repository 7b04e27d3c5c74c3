"""Alertmanager webhook payloads (version 4) for intake tests and the bench."""

from __future__ import annotations

from typing import Any

ZERO = "0001-01-01T00:00:00Z"


def am_alert(
    fp: str,
    *,
    status: str = "firing",
    starts: str = "2026-11-24T11:55:00.123456789Z",
    ends: str = ZERO,
    name: str = "SLOErrorBudgetBurn",
    **labels: str,
) -> dict[str, Any]:
    return {
        "status": status,
        "labels": {"alertname": name, **labels},
        "annotations": {"summary": f"{name} {labels.get('slo', '')}".strip()},
        "startsAt": starts,
        "endsAt": ends,
        "generatorURL": "http://127.0.0.1:9090/graph",
        "fingerprint": fp,
    }


def am_payload(group: str, alerts: list[dict[str, Any]], **common: str) -> dict[str, Any]:
    status = "firing" if any(a["status"] == "firing" for a in alerts) else "resolved"
    return {
        "version": "4",
        "groupKey": f'{{}}:{{alertname="SLOErrorBudgetBurn", slo="{group}"}}',
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "warroom",
        "groupLabels": {"slo": group},
        "commonLabels": {"alertname": "SLOErrorBudgetBurn", "slo": group, **common},
        "commonAnnotations": {},
        "externalURL": "http://127.0.0.1:9093",
        "alerts": alerts,
    }
