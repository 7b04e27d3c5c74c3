"""Alert intake: Alertmanager webhooks (version 4) and generic JSON monitors open incidents.

    result = receive_alertmanager(db, payload, routing=Routing.from_config(section))
    result.outcome, result.incident       # "opened", "INC-4"

A firing group opens an incident, or attaches to the open incident of the same group (or
of an alert with the same fingerprint). The same payload delivered twice changes nothing.
Resolved alerts become timeline events that ask the commander to verify recovery; they
never move or close an incident.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from warroom import incidents
from warroom.core.clock import ensure_utc, utcnow
from warroom.core.db import Database
from warroom.core.errors import Conflict, InvalidInput, NotFound
from warroom.core.severity import Severity
from warroom.detect.tables import alert_deliveries, alert_groups, alert_states
from warroom.incidents import timeline
from warroom.incidents.tables import incidents as incidents_t

FIRING = "firing"
RESOLVED = "resolved"
KIND_FIRING = "alert.firing"
KIND_RESOLVED = "alert.resolved"
VERIFY_PROMPT = "alerts resolved: verify recovery before moving to verified"
DEFAULT_ACTOR = "alertmanager"

_SEVERITY_WORDS = {
    "page": Severity.P1,
    "critical": Severity.P1,
    "error": Severity.P2,
    "high": Severity.P1,
    "ticket": Severity.P3,
    "warning": Severity.P3,
    "warn": Severity.P3,
    "info": Severity.P4,
    "low": Severity.P4,
}


# --- input ------------------------------------------------------------------------------------


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


@dataclass(frozen=True)
class Route:
    match: dict[str, str]
    service: str | None = None
    severity: Severity | None = None

    def matches(self, labels: dict[str, str]) -> bool:
        for key, want in self.match.items():
            have = labels.get(key, "")
            if want.startswith("~"):
                if not re.fullmatch(want[1:], have):
                    return False
            elif have != want:
                return False
        return True


@dataclass(frozen=True)
class Routing:
    """Alert labels to a service and a severity: first matching route wins.

    Config (warroom.toml)::

        [detect]
        default_severity = "P2"
        [[detect.routes]]
        match = { slo = "checkout-availability", severity = "page" }
        service = "checkout"
        severity = "P1"
    """

    routes: tuple[Route, ...] = ()
    default_severity: Severity = Severity.P2
    service_labels: tuple[str, ...] = ("service", "job")

    @classmethod
    def from_config(cls, section: dict[str, Any] | None) -> Routing:
        section = section or {}
        routes = []
        for i, raw in enumerate(section.get("routes") or []):
            where = f"[[detect.routes]] #{i + 1}"
            if not isinstance(raw, dict) or not isinstance(raw.get("match", {}), dict):
                raise InvalidInput(
                    f"{where}: needs match = {{label = value}}", field="detect.routes"
                )
            for value in (raw.get("match") or {}).values():
                if str(value).startswith("~"):
                    try:
                        re.compile(str(value)[1:])
                    except re.error as exc:
                        raise InvalidInput(
                            f"{where}: bad regex {value!r}: {exc}", field="detect.routes"
                        ) from None
            sev = raw.get("severity")
            routes.append(
                Route(
                    match={str(k): str(v) for k, v in (raw.get("match") or {}).items()},
                    service=str(raw["service"]) if raw.get("service") else None,
                    severity=Severity.parse(sev) if sev else None,
                )
            )
        default = section.get("default_severity")
        return cls(
            routes=tuple(routes),
            default_severity=Severity.parse(default) if default else Severity.P2,
        )

    def route(self, labels: dict[str, str]) -> tuple[str, Severity]:
        """(service, severity) for an alert's labels."""
        for r in self.routes:
            if r.matches(labels):
                service = r.service or self._service(labels)
                return service, r.severity or self._severity(labels)
        return self._service(labels), self._severity(labels)

    def _service(self, labels: dict[str, str]) -> str:
        for name in self.service_labels:
            if labels.get(name):
                return labels[name]
        return ""

    def _severity(self, labels: dict[str, str]) -> Severity:
        word = labels.get("severity", "").strip().lower()
        if word in _SEVERITY_WORDS:
            return _SEVERITY_WORDS[word]
        try:
            return Severity.parse(word) if word else self.default_severity
        except InvalidInput:
            return self.default_severity


# --- parsing --------------------------------------------------------------------------------------


_FRACTION = re.compile(r"(\.\d{6})\d+")


def parse_timestamp(value: Any, *, fieldname: str) -> datetime | None:
    """RFC 3339 with up to nanoseconds; Alertmanager's zero time (0001-01-01) is None."""
    if value in (None, ""):
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        from datetime import UTC

        seconds = value / 1000 if value > 1e11 else value
        return datetime.fromtimestamp(seconds, UTC)
    text = _FRACTION.sub(r"\1", str(value).strip()).replace("Z", "+00:00")
    try:
        when = ensure_utc(datetime.fromisoformat(text))
    except ValueError:
        raise InvalidInput(
            f"{fieldname}: {value!r} is not an RFC 3339 time", field=fieldname
        ) from None
    if when.year <= 1:
        return None
    return when


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
    raw_alerts = payload.get("alerts")
    if not isinstance(raw_alerts, list):
        raise InvalidInput("alerts must be a list", field="alerts")
    alerts = []
    for i, raw in enumerate(raw_alerts):
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
        alerts.append(
            AlertIn(
                fingerprint=str(raw.get("fingerprint") or label_fingerprint(labels))[:128],
                status=status,
                labels=labels,
                annotations=_str_map(raw.get("annotations"), fieldname=f"alerts[{i}].annotations"),
                starts_at=starts,
                ends_at=parse_timestamp(raw.get("endsAt"), fieldname=f"alerts[{i}].endsAt"),
            )
        )
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
    starts_at = "time"
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
    now = utcnow()
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
            parse_timestamp(_path(item, mapping.starts_at), fieldname=mapping.starts_at)
            if mapping.starts_at
            else None
        )
        alerts.append(
            AlertIn(
                fingerprint=str(fp) if fp is not None else label_fingerprint(labels),
                status=status,
                labels=labels,
                annotations=annotations,
                # without a start time, one alert per fingerprint: a fixed epoch keeps it stable
                starts_at=starts or datetime(1970, 1, 1, tzinfo=now.tzinfo),
            )
        )
    overall = FIRING if any(a.status == FIRING for a in alerts) else RESOLVED
    return Notification(
        source=mapping.source[:40], group_key=group_key[:500], status=overall, alerts=alerts
    )


# --- intake ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IntakeResult:
    outcome: str  # opened, attached, unchanged, duplicate, ignored
    incident: str | None
    firing: int = 0  # alerts newly firing
    resolved: int = 0  # alerts newly resolved

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "incident": self.incident,
            "firing": self.firing,
            "resolved": self.resolved,
        }


_SEEN = (
    sa.select(alert_deliveries.c.id, incidents_t.c.key)
    .select_from(
        alert_deliveries.outerjoin(incidents_t, incidents_t.c.id == alert_deliveries.c.incident_id)
    )
    .where(alert_deliveries.c.payload_hash == sa.bindparam("digest"))
)


def _seen(conn: Connection, digest: str) -> IntakeResult | None:
    row = conn.execute(_SEEN, {"digest": digest}).first()
    return None if row is None else IntakeResult("duplicate", row.key)


# Payloads this process has seen committed, per database: a delivery row never changes, so
# a re-delivery can be answered without a query. The database stays the source of truth
# (other processes, restarts); the cache only skips a read.
_CACHE_MAX = 100_000
_seen_cache: dict[tuple[str, str], IntakeResult] = {}


def _remember(db: Database, digest: str, incident: str | None) -> None:
    if len(_seen_cache) >= _CACHE_MAX:
        _seen_cache.clear()
    _seen_cache[(db.url, digest)] = IntakeResult("duplicate", incident)


def body_key(source: str, body: bytes) -> str:
    """A cache key for the exact bytes of a delivery (the same bytes are the same payload;
    equal payloads in other bytes still meet at `payload_hash`)."""
    return "raw:" + hashlib.sha256(source.encode() + b"\n" + body).hexdigest()


def remember_as(db: Database, key: str, taken: IntakeResult) -> None:
    """After a delivery was taken (committed), answer `key` from memory as its duplicate."""
    _remember(db, key, taken.incident)


def remembered(db: Database, digest: str) -> IntakeResult | None:
    """The duplicate result when this process committed this payload before (no I/O)."""
    return _seen_cache.get((db.url, digest))


def already_received(db: Database, digest: str) -> IntakeResult | None:
    """The duplicate result when this payload was taken before (a read: takes no write lock)."""
    cached = remembered(db, digest)
    if cached is not None:
        return cached
    with db.connection() as conn:
        return _seen_outside(db, conn, digest)


def _seen_outside(db: Database, conn: Connection, digest: str) -> IntakeResult | None:
    row = db.read_once(conn, _SEEN, {"digest": digest})
    if row is None:
        return None
    _remember(db, digest, row.key)
    return IntakeResult("duplicate", row.key)


def receive_alertmanager(
    db: Database,
    payload: dict[str, Any],
    *,
    routing: Routing | None = None,
    actor: str = DEFAULT_ACTOR,
    digest: str | None = None,
) -> IntakeResult:
    """Take one Alertmanager webhook delivery (`digest`: its payload_hash, if known)."""
    return _take(
        db,
        digest or payload_hash("alertmanager", payload),
        lambda: parse_alertmanager(payload),
        routing=routing or Routing(),
        actor=actor,
    )


def receive_generic(
    db: Database,
    payload: Any,
    *,
    mapping: FieldMapping,
    routing: Routing | None = None,
    actor: str | None = None,
) -> IntakeResult:
    """Take one delivery of a generic JSON monitor through its field mapping."""
    return _take(
        db,
        payload_hash(mapping.source[:40], payload),
        lambda: parse_generic(payload, mapping),
        routing=routing or Routing(),
        actor=actor or mapping.source,
    )


def _take(
    db: Database,
    digest: str,
    parse: Callable[[], Notification],
    *,
    routing: Routing,
    actor: str,
) -> IntakeResult:
    seen = remembered(db, digest)
    if seen is not None:
        return seen
    opened: list[incidents.Incident] = []
    with db.connection() as conn:
        # Re-deliveries and repeat notifications are most of the traffic: those another
        # process took are answered by one read that takes no write lock (PostgreSQL: in
        # autocommit, no BEGIN/COMMIT), before parsing. The write transaction claims it.
        seen = _seen_outside(db, conn, digest)
        if seen is not None:
            return seen
        note = parse()
        out = _record(db, conn, note, digest=digest, routing=routing, actor=actor, opened=opened)
    return _committed(db, digest, out, opened, actor)


def _title(note: Notification, labels: dict[str, str], service: str) -> str:
    ann = note.common_annotations or note.alerts[0].annotations
    text = ann.get("summary") or ann.get("title")
    if not text:
        name = labels.get("alertname") or "alert"
        text = f"{name} firing" + (f" on {service}" if service else "")
    return text[:200]


def _description(note: Notification, firing: list[AlertIn]) -> str:
    lines = [f"Opened by {note.source} alert group {note.group_key}."]
    for a in firing[:20]:
        desc = a.annotations.get("description") or a.annotations.get("summary") or ""
        lines.append(f"- {a.name} {_fmt_labels(a.labels)}" + (f": {desc}" if desc else ""))
    if note.external_url:
        lines.append(f"Source: {note.external_url}")
    return "\n".join(lines)[:20_000]


def _fmt_labels(labels: dict[str, str]) -> str:
    shown = {k: v for k, v in labels.items() if k != "alertname"}
    return "{" + ", ".join(f"{k}={v}" for k, v in sorted(shown.items())) + "}"


def _alert_brief(a: AlertIn) -> dict[str, Any]:
    return {
        "name": a.name,
        "fingerprint": a.fingerprint,
        "labels": a.labels,
        "summary": a.annotations.get("summary", ""),
        "starts_at": a.starts_at.isoformat(),
        "ends_at": a.ends_at.isoformat() if a.ends_at else None,
    }


# Statements built once: the intake hot path should not pay for building SQL each time.
_GROUP = sa.select(alert_groups.c.id, alert_groups.c.incident_id).where(
    alert_groups.c.source == sa.bindparam("source"),
    alert_groups.c.group_key == sa.bindparam("group_key"),
)
_GROUP_LOCKED = _GROUP.with_for_update()
# first sight of a group, or of a payload: INSERT ... ON CONFLICT DO NOTHING. A concurrent
# insert of the same key waits for the other transaction and then inserts nothing, instead
# of failing at the end and running the whole delivery again.
_GROUP_CLAIM = {
    name: insert(alert_groups).on_conflict_do_nothing(index_elements=["source", "group_key"])
    for name, insert in (("sqlite", sqlite_insert), ("postgresql", pg_insert))
}
_GROUP_POINT = (
    alert_groups.update()
    .where(alert_groups.c.id == sa.bindparam("gid"))
    .values(incident_id=sa.bindparam("iid"), updated_at=sa.bindparam("now"))
)
# The incident with its timeline head: read under its row lock, the head is what the new
# events follow (no second read in timeline.append).
_INCIDENT = sa.select(
    incidents_t.c.id,
    incidents_t.c.key,
    incidents_t.c.stage,
    incidents_t.c.last_seq,
    incidents_t.c.last_hash,
).where(incidents_t.c.id == sa.bindparam("iid"))
_INCIDENT_LOCKED = _INCIDENT.with_for_update()
_BY_FINGERPRINT = (
    sa.select(incidents_t.c.id)
    .join(alert_states, alert_states.c.incident_id == incidents_t.c.id)
    .where(
        alert_states.c.fingerprint.in_(sa.bindparam("fps", expanding=True)),
        alert_states.c.status == FIRING,
        incidents_t.c.stage != incidents.Stage.CLOSED.value,
    )
    .order_by(incidents_t.c.id.desc())
    .limit(1)
)
_STATES = sa.select(
    alert_states.c.id, alert_states.c.fingerprint, alert_states.c.starts_at, alert_states.c.status
).where(
    alert_states.c.incident_id == sa.bindparam("iid"),
    alert_states.c.fingerprint.in_(sa.bindparam("fps", expanding=True)),
)
_STATE_INSERT = alert_states.insert()
_STATE_UPDATE = (
    alert_states.update()
    .where(alert_states.c.id == sa.bindparam("sid"))
    .values(
        status=sa.bindparam("new_status"),
        ends_at=sa.bindparam("new_ends_at"),
        updated_at=sa.bindparam("now"),
    )
)
_STILL_FIRING = (
    sa.select(sa.func.count())
    .select_from(alert_states)
    .where(alert_states.c.incident_id == sa.bindparam("iid"), alert_states.c.status == FIRING)
)
_DELIVERY_CLAIM = {
    name: insert(alert_deliveries)
    .on_conflict_do_nothing(index_elements=["payload_hash"])
    .returning(alert_deliveries.c.id)
    for name, insert in (("sqlite", sqlite_insert), ("postgresql", pg_insert))
}
_DELIVERY_DONE = (
    alert_deliveries.update()
    .where(alert_deliveries.c.id == sa.bindparam("did"))
    .values(outcome=sa.bindparam("outcome"), incident_id=sa.bindparam("iid"))
)


@dataclass(frozen=True)
class _Plan:
    """What a delivery would open, worked out before the write lock is taken."""

    firing: list[AlertIn]
    fingerprints: list[str]  # of all its alerts, sorted
    title: str = ""
    description: str = ""
    severity: Severity | None = None
    impact_scope: str = ""
    started_at: datetime | None = None


def _plan(note: Notification, routing: Routing, now: datetime) -> _Plan:
    firing = [a for a in note.alerts if a.status == FIRING]
    fingerprints = sorted({a.fingerprint for a in note.alerts})
    if not firing:
        return _Plan(firing, fingerprints)
    labels = {**firing[0].labels, **note.common_labels}
    service, severity = routing.route(labels)
    started = min(a.starts_at for a in firing)
    return _Plan(
        firing,
        fingerprints,
        title=_title(note, labels, service),
        description=_description(note, firing),
        severity=severity,
        impact_scope=f"service {service}" if service else "",
        started_at=min(started, now + timedelta(minutes=4)),
    )


def _group(db: Database, conn: Connection, note: Notification, now: datetime) -> tuple[int, Any]:
    """The group's (id, incident_id), locked for this transaction (created on first sight)."""
    params = {"source": note.source, "group_key": note.group_key}
    # SQLite holds the database lock; PostgreSQL locks the group's row
    select = _GROUP if db.is_sqlite else _GROUP_LOCKED
    row = conn.execute(select, params).first()
    if row is None:
        # first sight; a concurrent first delivery's row makes this insert nothing (after
        # that transaction ends), and the select below then locks that row
        conn.execute(
            _GROUP_CLAIM[db.dialect],
            {**params, "incident_id": None, "created_at": now, "updated_at": now},
        )
        row = conn.execute(select, params).one()
    return int(row.id), row.incident_id


def _open_incident(db: Database, conn: Connection, incident_id: int | None) -> Any:
    """The incident, locked, with its timeline head; None when there is none or it is closed."""
    if incident_id is None:
        return None
    row = conn.execute(_INCIDENT if db.is_sqlite else _INCIDENT_LOCKED, {"iid": incident_id})
    found = row.first()
    if found is None or found.stage == incidents.Stage.CLOSED.value:
        return None
    return found


def _incident_by_fingerprint(db: Database, conn: Connection, fingerprints: list[str]) -> Any:
    if not fingerprints:
        return None
    found = conn.execute(_BY_FINGERPRINT, {"fps": fingerprints}).first()
    return None if found is None else _open_incident(db, conn, int(found.id))


def receive(
    db: Database,
    note: Notification,
    *,
    digest: str,
    routing: Routing,
    actor: str,
) -> IntakeResult:
    """Record one normalised delivery: open or attach, record alert changes, once."""
    opened: list[incidents.Incident] = []
    with db.connection() as conn:
        out = _record(db, conn, note, digest=digest, routing=routing, actor=actor, opened=opened)
    return _committed(db, digest, out, opened, actor)


def _record(
    db: Database,
    conn: Connection,
    note: Notification,
    *,
    digest: str,
    routing: Routing,
    actor: str,
    opened: list[incidents.Incident],
) -> IntakeResult:
    """The write transaction of a delivery, on `conn`, retried on conflicts.

    It starts by claiming the payload (its unique payload_hash): a concurrent delivery of the
    same payload waits there for this one, and then answers "duplicate" without doing the
    work again (it used to fail at its final insert and run once more).
    """

    def run() -> IntakeResult:
        now = utcnow()
        plan = _plan(note, routing, now)  # pure work, before the lock
        opened.clear()  # a retried attempt starts over
        with db.transaction(on=conn):
            delivery_id = conn.execute(
                _DELIVERY_CLAIM[db.dialect],
                {
                    "payload_hash": digest,
                    "source": note.source,
                    "group_key": note.group_key,
                    "status": note.status,
                    "alerts": len(note.alerts),
                    "outcome": "pending",
                    "incident_id": None,
                    "received_at": now,
                },
            ).scalar()
            if delivery_id is None:
                seen = _seen(conn, digest)
                if seen is None:  # pragma: no cover - delivery rows are never deleted
                    raise Conflict(f"delivery {digest[:12]} was claimed but is not recorded")
                return seen
            result = _apply(db, conn, note, plan, now=now, actor=actor, opened=opened)
            conn.execute(
                _DELIVERY_DONE,
                {"did": delivery_id, "outcome": result[0].outcome, "iid": result[1]},
            )
            return result[0]

    out: IntakeResult = db.retrying(run)
    return out


def _committed(
    db: Database, digest: str, out: IntakeResult, opened: list[incidents.Incident], actor: str
) -> IntakeResult:
    _remember(db, digest, out.incident)
    for incident in opened:  # committed: run what other areas hook on a declaration
        incidents.announce_declared(db, incident, actor)
    return out


def _apply(
    db: Database,
    conn: Connection,
    note: Notification,
    plan: _Plan,
    *,
    now: datetime,
    actor: str,
    opened: list[incidents.Incident],
) -> tuple[IntakeResult, int | None]:
    group_id, group_incident = _group(db, conn, note, now)
    inc = _open_incident(db, conn, group_incident)
    if inc is None:
        inc = _incident_by_fingerprint(db, conn, [a.fingerprint for a in plan.firing])
    outcome = "attached"
    known: dict[tuple[str, datetime], Any] = {}
    if inc is None:
        if not plan.firing:
            return IntakeResult("ignored", None), None
        declared = incidents.declare(
            db,
            title=plan.title,
            actor=actor,
            description=plan.description,
            started_at=plan.started_at,
            severity=plan.severity,
            impact_scope=plan.impact_scope,
            reporter=actor,
            in_transaction=conn,
        )
        inc_id, inc_key = declared.id, declared.key
        head = timeline.Head(declared.last_seq, declared.last_hash)
        opened.append(declared)
        outcome = "opened"  # and a new incident has no alert states to read
    else:
        inc_id, inc_key = int(inc.id), str(inc.key)
        head = timeline.Head(int(inc.last_seq), str(inc.last_hash))
        known = {
            (r.fingerprint, ensure_utc(r.starts_at)): r
            for r in conn.execute(_STATES, {"iid": inc_id, "fps": plan.fingerprints})
        }
    if group_incident != inc_id:
        conn.execute(_GROUP_POINT, {"gid": group_id, "iid": inc_id, "now": now})
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    newly_firing: list[AlertIn] = []
    newly_resolved: list[AlertIn] = []
    handled: set[tuple[str, datetime]] = set()
    for a in note.alerts:
        if (a.fingerprint, a.starts_at) in handled:  # a payload listing an alert twice
            continue
        handled.add((a.fingerprint, a.starts_at))
        row = known.get((a.fingerprint, a.starts_at))
        if row is None:
            inserts.append(
                {
                    "incident_id": inc_id,
                    "fingerprint": a.fingerprint,
                    "starts_at": a.starts_at,
                    "ends_at": a.ends_at,
                    "status": a.status,
                    "name": a.name[:200],
                    "labels": a.labels,
                    "annotations": a.annotations,
                    "first_seen": now,
                    "updated_at": now,
                }
            )
        elif row.status != a.status:
            updates.append(
                {"sid": row.id, "new_status": a.status, "new_ends_at": a.ends_at, "now": now}
            )
        else:
            continue
        (newly_firing if a.status == FIRING else newly_resolved).append(a)
    if inserts:
        conn.execute(_STATE_INSERT, inserts)
    if updates:
        conn.execute(_STATE_UPDATE, updates)
    if not newly_firing and not newly_resolved:
        return IntakeResult("unchanged" if outcome == "attached" else outcome, inc_key), inc_id
    items: list[tuple[str, dict[str, Any] | None]] = []
    if newly_firing:
        names = sorted({a.name for a in newly_firing})
        items.append(
            (
                KIND_FIRING,
                {
                    "summary": f"{len(newly_firing)} alert(s) firing: {', '.join(names)[:300]}",
                    "source": note.source,
                    "group_key": note.group_key,
                    "alerts": [_alert_brief(a) for a in newly_firing[:50]],
                },
            )
        )
    if newly_resolved:
        still = conn.execute(_STILL_FIRING, {"iid": inc_id}).scalar_one()
        names = sorted({a.name for a in newly_resolved})
        summary = (
            f"{VERIFY_PROMPT} ({', '.join(names)[:300]})"
            if still == 0
            else f"{len(newly_resolved)} alert(s) resolved ({', '.join(names)[:300]}); "
            f"{still} still firing"
        )
        items.append(
            (
                KIND_RESOLVED,
                {
                    "summary": summary,
                    "source": note.source,
                    "group_key": note.group_key,
                    "still_firing": int(still),
                    "alerts": [_alert_brief(a) for a in newly_resolved[:50]],
                },
            )
        )
    # the incident row is locked (just inserted, or read FOR UPDATE above): `head` is current
    timeline.append_after(conn, inc_id, head, actor=actor, items=items)
    return IntakeResult(outcome, inc_key, len(newly_firing), len(newly_resolved)), inc_id


# --- reading ------------------------------------------------------------------------------------


def list_alerts(db: Database, key: str) -> list[dict[str, Any]]:
    """The alerts known on an incident, newest first."""
    with db.read() as conn:
        incident_id = incidents.get_id(conn, key)
        rows = conn.execute(
            sa.select(alert_states)
            .where(alert_states.c.incident_id == incident_id)
            .order_by(alert_states.c.starts_at.desc(), alert_states.c.id.desc())
        ).all()
    return [
        {
            "name": r.name,
            "fingerprint": r.fingerprint,
            "status": r.status,
            "labels": r.labels,
            "annotations": r.annotations,
            "starts_at": ensure_utc(r.starts_at).isoformat(),
            "ends_at": ensure_utc(r.ends_at).isoformat() if r.ends_at else None,
            "first_seen": ensure_utc(r.first_seen).isoformat(),
            "updated_at": ensure_utc(r.updated_at).isoformat(),
        }
        for r in rows
    ]


def delivery_counts(db: Database) -> dict[str, int]:
    """How many deliveries ended in each outcome."""
    with db.read() as conn:
        rows = conn.execute(
            sa.select(alert_deliveries.c.outcome, sa.func.count()).group_by(
                alert_deliveries.c.outcome
            )
        ).all()
    return {str(r[0]): int(r[1]) for r in rows}
