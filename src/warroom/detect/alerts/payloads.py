"""What monitors send, normalised: Alertmanager webhooks (version 4) and generic JSON.

    note = parse_alertmanager(payload)          # Notification(group_key=..., alerts=[...])
    note = parse_generic(body, FieldMapping.from_config("uptime", settings.section("detect")))

Every refusal is an `InvalidInput` naming the field (`alerts[0].startsAt`); nothing here
touches the database.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from warroom.core.clock import parse_time
from warroom.core.errors import InvalidInput, NotFound

FIRING = "firing"
RESOLVED = "resolved"

# without a start time, one alert per fingerprint: a fixed start keeps it stable
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# the last epoch second of year 9999: later numbers are not times a monitor sends
_EPOCH_MAX = 253_402_300_799
# One delivery's limits (Alertmanager groups far fewer; its webhook has max_alerts).
MAX_ALERTS = 1000
MAX_GROUP_KEY = 1024


@dataclass(frozen=True)
class AlertIn:
    fingerprint: str
    status: str
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime
    ends_at: datetime | None = None

    @property
    def name(self) -> str:
        return self.labels.get("alertname", "") or self.fingerprint[:12]


@dataclass(frozen=True)
class Notification:
    """One delivery from a monitor, normalised."""

    source: str
    group_key: str
    status: str
    alerts: list[AlertIn]
    common_labels: dict[str, str] = field(default_factory=dict)
    common_annotations: dict[str, str] = field(default_factory=dict)
    external_url: str = ""


# --- values -------------------------------------------------------------------------------------


_FRACTION = re.compile(r"(\.\d{6})\d+")


def parse_timestamp(value: Any, *, fieldname: str, epoch: bool = False) -> datetime | None:
    """RFC 3339 with up to nanoseconds; Alertmanager's zero time (0001-01-01) is None.

    With `epoch` (generic monitors), a number is Unix seconds, or milliseconds when large.
    Anything else that is not a string is refused, as is a time no calendar holds.
    """
    if value is None or value == "":
        return None
    if epoch and isinstance(value, int | float) and not isinstance(value, bool):
        return _from_epoch(value, fieldname=fieldname)
    if not isinstance(value, str):
        raise InvalidInput(
            f"{fieldname}: {value!r} is not an RFC 3339 time (a string like 2026-11-24T14:03:00Z)",
            field=fieldname,
        )
    try:
        when = parse_time(_FRACTION.sub(r"\1", value), field=fieldname)
    except InvalidInput:
        raise InvalidInput(
            f"{fieldname}: {value!r} is not an RFC 3339 time", field=fieldname
        ) from None
    if when is None or when.year <= 1:
        return None
    return when


def _from_epoch(value: float, *, fieldname: str) -> datetime:
    seconds = value / 1000 if value > 1e11 else value
    if not math.isfinite(seconds) or not 0 <= seconds <= _EPOCH_MAX:
        raise InvalidInput(
            f"{fieldname}: {value!r} is not a Unix time in seconds or milliseconds",
            field=fieldname,
        )
    return datetime.fromtimestamp(seconds, UTC)


def _str_map(value: Any, *, fieldname: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInput(f"{fieldname} must be an object of strings", field=fieldname)
    return {str(k): str(v) for k, v in value.items()}


def label_fingerprint(labels: dict[str, str]) -> str:
    body = json.dumps(labels, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()[:16]


def payload_hash(source: str, payload: Any) -> str:
    body = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{source}\n{body}".encode()).hexdigest()


# --- Alertmanager -------------------------------------------------------------------------------


def parse_alertmanager(payload: dict[str, Any]) -> Notification:
    """An Alertmanager webhook body (version 4) as a Notification."""
    if not isinstance(payload, dict):
        raise InvalidInput("the body must be an Alertmanager webhook object", field="body")
    version = str(payload.get("version", "4"))
    if version != "4":
        raise InvalidInput(f"webhook version {version!r}: warroom reads version 4", field="version")
    group_key = str(payload.get("groupKey") or "")
    if not group_key:
        raise InvalidInput(
            "groupKey is missing: is this an Alertmanager webhook?", field="groupKey"
        )
    if len(group_key) > MAX_GROUP_KEY:
        raise InvalidInput(
            f"groupKey is {len(group_key):,} characters: at most {MAX_GROUP_KEY:,}",
            field="groupKey",
        )
    raw_alerts = payload.get("alerts")
    if not isinstance(raw_alerts, list):
        raise InvalidInput("alerts must be a list", field="alerts")
    if len(raw_alerts) > MAX_ALERTS:
        raise InvalidInput(
            f"alerts: {len(raw_alerts):,} alerts in one delivery; at most {MAX_ALERTS:,} "
            "(set Alertmanager's max_alerts on the webhook receiver)",
            field="alerts",
        )
    alerts = [_alertmanager_alert(raw, i) for i, raw in enumerate(raw_alerts)]
    status = str(payload.get("status", FIRING)).lower()
    return Notification(
        source="alertmanager",
        group_key=group_key[:500],
        status=status if status in (FIRING, RESOLVED) else FIRING,
        alerts=alerts,
        common_labels=_str_map(payload.get("commonLabels"), fieldname="commonLabels"),
        common_annotations=_str_map(
            payload.get("commonAnnotations"), fieldname="commonAnnotations"
        ),
        external_url=str(payload.get("externalURL") or ""),
    )


def _alertmanager_alert(raw: Any, i: int) -> AlertIn:
    if not isinstance(raw, dict):
        raise InvalidInput(f"alerts[{i}] must be an object", field=f"alerts[{i}]")
    labels = _str_map(raw.get("labels"), fieldname=f"alerts[{i}].labels")
    status = str(raw.get("status", "")).lower()
    if status not in (FIRING, RESOLVED):
        raise InvalidInput(
            f"alerts[{i}].status {raw.get('status')!r}: use firing or resolved",
            field=f"alerts[{i}].status",
        )
    starts = parse_timestamp(raw.get("startsAt"), fieldname=f"alerts[{i}].startsAt")
    if starts is None:
        raise InvalidInput(f"alerts[{i}].startsAt is required", field=f"alerts[{i}].startsAt")
    return AlertIn(
        fingerprint=str(raw.get("fingerprint") or label_fingerprint(labels))[:128],
        status=status,
        labels=labels,
        annotations=_str_map(raw.get("annotations"), fieldname=f"alerts[{i}].annotations"),
        starts_at=starts,
        ends_at=parse_timestamp(raw.get("endsAt"), fieldname=f"alerts[{i}].endsAt"),
    )


# --- generic JSON monitors ----------------------------------------------------------------------


def _path(doc: Any, path: str) -> Any:
    if not path:
        return doc
    for part in path.split("."):
        if isinstance(doc, dict):
            doc = doc.get(part)
        elif isinstance(doc, list) and part.isdigit() and int(part) < len(doc):
            doc = doc[int(part)]
        else:
            return None
    return doc


@dataclass(frozen=True)
class FieldMapping:
    """Where a generic monitor's JSON keeps each field (dotted paths).

    [detect.webhooks.uptime]
    alerts = ""                      # path of a list of alerts; "" = the body is one alert
    group_key = "monitor.name"
    fingerprint = "monitor.id"       # default: a hash of the labels
    status = "state"
    firing = ["down", "alerting"]    # values of status meaning firing; others resolve
    starts_at = "time"               # RFC 3339, or Unix seconds / milliseconds
    labels = { alertname = "monitor.name", service = "monitor.service" }
    annotations = { summary = "message" }
    static_labels = { team = "web" }
    """

    source: str
    group_key: str
    status: str
    firing: tuple[str, ...] = ("firing", "alerting", "down", "critical", "error", "problem")
    alerts: str = ""
    fingerprint: str = ""
    starts_at: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    static_labels: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_config(cls, source: str, section: dict[str, Any] | None) -> FieldMapping:
        """The mapping `[detect.webhooks.<source>]` of the `[detect]` settings section."""
        webhooks = (section or {}).get("webhooks") or {}
        raw = webhooks.get(source)
        if not isinstance(raw, dict):
            known = ", ".join(sorted(webhooks)) or "none configured"
            raise NotFound(
                f"no webhook mapping named {source!r} ([detect.webhooks.{source}] in "
                f"warroom.toml); known: {known}",
                field="source",
            )
        for required in ("group_key", "status"):
            if not raw.get(required):
                raise InvalidInput(
                    f'[detect.webhooks.{source}] needs {required} = "path"', field=required
                )
        firing = raw.get("firing")
        return cls(
            source=source,
            group_key=str(raw["group_key"]),
            status=str(raw["status"]),
            firing=tuple(str(v).lower() for v in firing) if firing else cls.firing,
            alerts=str(raw.get("alerts") or ""),
            fingerprint=str(raw.get("fingerprint") or ""),
            starts_at=str(raw.get("starts_at") or ""),
            labels={str(k): str(v) for k, v in (raw.get("labels") or {}).items()},
            annotations={str(k): str(v) for k, v in (raw.get("annotations") or {}).items()},
            static_labels={str(k): str(v) for k, v in (raw.get("static_labels") or {}).items()},
        )


def parse_generic(payload: Any, mapping: FieldMapping) -> Notification:
    """A generic monitor's JSON as a Notification, through its field mapping."""
    items = _path(payload, mapping.alerts) if mapping.alerts else [payload]
    if not isinstance(items, list) or not items:
        raise InvalidInput(f"no alerts at {mapping.alerts or 'the body'}", field="alerts")
    alerts: list[AlertIn] = []
    group_key = ""
    for i, item in enumerate(items):
        labels = dict(mapping.static_labels)
        for name, path in mapping.labels.items():
            value = _path(item, path)
            if value is not None:
                labels[name] = str(value)
        annotations = {
            n: str(v) for n, p in mapping.annotations.items() if (v := _path(item, p)) is not None
        }
        raw_status = _path(item, mapping.status)
        if raw_status is None:
            raise InvalidInput(
                f"alert {i + 1}: no status at {mapping.status!r}", field=mapping.status
            )
        status = FIRING if str(raw_status).lower() in mapping.firing else RESOLVED
        key = _path(item, mapping.group_key)
        if key is None:
            raise InvalidInput(
                f"alert {i + 1}: no group key at {mapping.group_key!r}", field=mapping.group_key
            )
        group_key = group_key or str(key)
        fp = _path(item, mapping.fingerprint) if mapping.fingerprint else None
        starts = (
            parse_timestamp(_path(item, mapping.starts_at), fieldname=mapping.starts_at, epoch=True)
            if mapping.starts_at
            else None
        )
        alerts.append(
            AlertIn(
                fingerprint=str(fp) if fp is not None else label_fingerprint(labels),
                status=status,
                labels=labels,
                annotations=annotations,
                starts_at=starts or _EPOCH,
            )
        )
    overall = FIRING if any(a.status == FIRING for a in alerts) else RESOLVED
    return Notification(
        source=mapping.source[:40], group_key=group_key[:500], status=overall, alerts=alerts
    )
