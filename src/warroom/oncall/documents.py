"""On call as a YAML document teams keep in git: people, schedules (with overrides),
escalation policies and paging routes, imported in one transaction (all or nothing).

    people:
      - {name: ana, timezone: Europe/Lisbon, contacts: ["mailto://ana@example.com"]}
    schedules:
      - name: payments-l1
        timezone: Europe/Lisbon
        layers:
          - {rotation: weekly, handoff: "2026-11-02T09:00", members: [ana, bob]}
    policies:
      - name: payments
        levels: [{schedule: payments-l1, timeout: 10m}, {person: carl, timeout: 15m}]
    paging:
      - {service: checkout, severities: [P0, P1], policy: payments}

Names already in the database are replaced; what the document does not name is left alone.
Overrides in a document are added once (the same person and times again change nothing).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from warroom.core.db import Database
from warroom.core.errors import InvalidInput
from warroom.core.limits import check_yaml_depth
from warroom.oncall import people, policies, schedules
from warroom.oncall.model import Person, Policy, Route, check_person
from warroom.oncall.rotation import Schedule

SECTIONS = ("people", "schedules", "policies", "paging")


def read_text(path: str | Path) -> str:
    p = Path(path)
    try:
        return p.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"cannot read {p}: {exc.strerror or exc}", field="file") from exc


def parse(text: str) -> dict[str, list[Any]]:
    """The document's sections, each a list (unknown sections are refused)."""
    check_yaml_depth(text, field="file")  # before the loader recurses into it
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise InvalidInput(f"the on-call document is not valid YAML{where}", field="file") from exc
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise InvalidInput(
            f"the on-call document is a mapping with {', '.join(SECTIONS)}", field="file"
        )
    unknown = sorted(set(doc) - set(SECTIONS))
    if unknown:
        raise InvalidInput(
            f"unknown section {unknown[0]!r} in the on-call document: use {', '.join(SECTIONS)}",
            field=unknown[0],
        )
    out: dict[str, list[Any]] = {}
    for name in SECTIONS:
        items = doc.get(name) or []
        if not isinstance(items, list):
            raise InvalidInput(f"{name}: give a list", field=name)
        out[name] = items
    return out


def import_text(db: Database, text: str, *, actor: str) -> dict[str, int]:
    """Load a document (all or nothing); how many of each were saved."""
    doc = parse(text)
    people_ = [Person.from_dict(p) for p in doc["people"]]
    scheds = [(Schedule.from_dict(s), s) for s in doc["schedules"]]
    pols = [Policy.from_dict(p) for p in doc["policies"]]
    routes = [Route.from_dict(r) for r in doc["paging"]]
    overrides = 0
    with db.transaction() as conn:
        for person in people_:
            people.save_in(conn, person)
        for schedule, raw in scheds:
            schedules.save_in(conn, schedule)
            for i, o in enumerate(raw.get("overrides") or [], start=1):
                where = f"schedule {schedule.name}, override {i}"
                if not isinstance(o, dict):
                    raise InvalidInput(f"{where}: give person, start and end", field="overrides")
                schedules.add_override_in(
                    conn,
                    schedule.name,
                    person=check_person(o.get("person")),
                    start=str(o.get("start") or ""),
                    end=str(o.get("end") or ""),
                    actor=actor,
                    reason=str(o.get("reason") or ""),
                )
                overrides += 1
        for policy in pols:
            policies.save_in(conn, policy)
        for route in routes:
            policies.set_route_in(conn, route)
    return {
        "people": len(people_),
        "schedules": len(scheds),
        "overrides": overrides,
        "policies": len(pols),
        "paging": len(routes),
    }


def export(db: Database, *, secrets: bool = False, with_people: bool = True) -> dict[str, Any]:
    """Everything as one document. Contact URLs carry credentials: only with `secrets`
    (the CLI on the server); otherwise people are left out, so the document can be
    imported again without wiping their contact methods."""
    doc: dict[str, Any] = {}
    if with_people and secrets:
        doc["people"] = [p.to_dict(secrets=True) for p in people.list_people(db)]
    doc["schedules"] = []
    for s in schedules.list_schedules(db):
        raw = s.to_dict()
        tz = s.tz
        raw["overrides"] = [
            {
                "person": o.person,
                # local time with its offset: unambiguous in a repeated hour
                "start": o.starts_at.astimezone(tz).isoformat(timespec="minutes"),
                "end": o.ends_at.astimezone(tz).isoformat(timespec="minutes"),
                "reason": o.reason,
            }
            for o in s.overrides
        ]
        if not raw["overrides"]:
            del raw["overrides"]
        doc["schedules"].append(raw)
    doc["policies"] = [p.to_dict() for p in policies.list_policies(db)]
    doc["paging"] = [r.to_dict() for r in policies.list_routes(db)]
    return doc


def to_yaml(doc: dict[str, Any]) -> str:
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)
