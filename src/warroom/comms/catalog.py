"""The service catalog: owners, tiers, dependencies, status-page components, and which
services an incident affects (with the services downstream of them).

    add_service(db, name="checkout", owner="payments", tier=1, depends_on=["db"], public=True)
    affect(db, "INC-3", services=["db"], actor="ana")
    downstream(db, ["db"])   # -> ["checkout", ...]: what else feels it
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from warroom import incidents
from warroom.comms.tables import incident_services, services
from warroom.core.choices import Choice
from warroom.core.clock import utcnow
from warroom.core.db import Database
from warroom.core.errors import Hint, InvalidInput, InvalidTransition, NotFound
from warroom.core.limits import check_yaml_depth
from warroom.incidents import timeline
from warroom.incidents.tables import incidents as incidents_t

_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")
AFFECTED = "services.affected"


class ComponentState(Choice):
    """Status page states, from best to worst."""

    OPERATIONAL = "operational"
    DEGRADED_PERFORMANCE = "degraded_performance"
    PARTIAL_OUTAGE = "partial_outage"
    MAJOR_OUTAGE = "major_outage"
    UNDER_MAINTENANCE = "under_maintenance"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()

    @property
    def rank(self) -> int:
        return {
            "operational": 0,
            "under_maintenance": 1,
            "degraded_performance": 2,
            "partial_outage": 3,
            "major_outage": 4,
        }[self.value]

    @classmethod
    def aliases(cls) -> dict[str, str]:
        return {
            "degraded": "degraded_performance",
            "maintenance": "under_maintenance",
            "outage": "major_outage",
            "ok": "operational",
        }


@dataclass
class Service:
    id: int
    name: str
    display_name: str
    description: str
    owner: str
    contact: str
    tier: int
    public: bool
    depends_on: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "display_name": self.display_name,
            "description": self.description,
            "owner": self.owner,
            "has_contact": bool(self.contact),
            "tier": self.tier,
            "public": self.public,
            "depends_on": self.depends_on,
        }


def check_name(name: str) -> str:
    text = (name or "").strip().lower()
    if not _NAME_RE.match(text):
        raise InvalidInput(
            f"{name!r} is not a service name: use lowercase letters, digits, '.', '_' or '-' "
            "(e.g. checkout-api)",
            field="name",
        )
    return text


def _from_row(r: Any) -> Service:
    return Service(
        id=r.id,
        name=r.name,
        display_name=r.display_name,
        description=r.description,
        owner=r.owner,
        contact=r.contact,
        tier=r.tier,
        public=bool(r.public),
        depends_on=list(r.depends_on or []),
    )


def add_service(
    db: Database,
    *,
    name: str,
    display_name: str | None = None,
    description: str = "",
    owner: str = "",
    contact: str = "",
    tier: int = 2,
    public: bool = False,
    depends_on: list[str] | None = None,
    replace: bool = False,
) -> Service:
    """Add a service (or, with `replace`, update it). Dependencies may be added later."""
    n = check_name(name)
    deps = sorted({check_name(d) for d in depends_on or []})
    if n in deps:
        raise InvalidInput(f"service {n} cannot depend on itself", field="depends_on")
    if tier not in (1, 2, 3):
        raise InvalidInput(f"tier {tier} is not 1, 2 or 3 (1 = most critical)", field="tier")
    now = utcnow()
    values = {
        "display_name": (display_name or n).strip()[:200],
        "description": description.strip(),
        "owner": owner.strip()[:200],
        "contact": contact.strip(),
        "tier": tier,
        "public": bool(public),
        "depends_on": deps,
        "updated_at": now,
    }
    with db.transaction() as conn:
        existing = conn.execute(sa.select(services.c.id).where(services.c.name == n)).first()
        if existing is not None:
            if not replace:
                raise InvalidTransition(
                    f"service {n} already exists: replace its entry to change it",
                    field="name",
                    hint=Hint("replace_service", "replace its entry", params={"name": n}),
                )
            conn.execute(services.update().where(services.c.id == existing.id).values(**values))
        else:
            conn.execute(services.insert().values(name=n, created_at=now, **values))
        row = conn.execute(sa.select(services).where(services.c.name == n)).one()
    return _from_row(row)


def set_public(db: Database, name: str, *, public: bool) -> Service:
    """Show a service on the public status page as a component, or stop showing it."""
    n = check_name(name)
    with db.transaction() as conn:
        done = conn.execute(
            services.update()
            .where(services.c.name == n)
            .values(public=bool(public), updated_at=utcnow())
        )
        if done.rowcount == 0:
            raise NotFound(
                f"no service named {n}",
                field="name",
                hint=Hint("list_services", "see the services"),
            )
        row = conn.execute(sa.select(services).where(services.c.name == n)).one()
    return _from_row(row)


def list_services(db: Database) -> list[Service]:
    with db.read() as conn:
        rows = conn.execute(sa.select(services).order_by(services.c.tier, services.c.name))
        return [_from_row(r) for r in rows]


def import_yaml(db: Database, path: str | Path) -> list[Service]:
    """Load services from YAML: a list (or `services:` list) of mappings; existing ones are
    updated. Example::

        services:
          - name: checkout
            owner: payments
            tier: 1
            public: true
            depends_on: [payments-db]
    """
    import yaml  # lazy: the desk and `warroom list` import this module; few load YAML

    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
        check_yaml_depth(text, field="file")  # before the loader recurses into it
        doc = yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InvalidInput(f"cannot read {p}: {exc}", field="file") from exc
    items = doc.get("services") if isinstance(doc, dict) else doc
    if not isinstance(items, list):
        raise InvalidInput(
            f"{p}: expected a list of services (or a `services:` list)", field="file"
        )
    allowed = {
        "name",
        "display_name",
        "description",
        "owner",
        "contact",
        "tier",
        "public",
        "depends_on",
    }
    out = []
    for i, item in enumerate(items, start=1):
        if not isinstance(item, dict) or "name" not in item:
            raise InvalidInput(f"{p}: service {i} needs a `name`", field="name")
        unknown = set(item) - allowed
        if unknown:
            raise InvalidInput(
                f"{p}: service {item['name']}: unknown field {sorted(unknown)[0]!r}; allowed: "
                f"{', '.join(sorted(allowed))}",
                field=sorted(unknown)[0],
            )
        out.append(
            add_service(
                db,
                name=str(item["name"]),
                display_name=item.get("display_name"),
                description=str(item.get("description", "")),
                owner=str(item.get("owner", "")),
                contact=str(item.get("contact", "")),
                tier=int(item.get("tier", 2)),
                public=bool(item.get("public", False)),
                depends_on=[str(d) for d in item.get("depends_on", []) or []],
                replace=True,
            )
        )
    return out


def affect(db: Database, key: str, *, names: list[str], actor: str) -> list[str]:
    """Mark services as affected by the incident (one timeline event); returns them all."""
    names = [check_name(s) for s in names]
    if not names:
        raise InvalidInput("name at least one service", field="services")
    with db.transaction() as conn:
        row = incidents.lock(db, conn, key)
        found = {
            r.name: r.id
            for r in conn.execute(
                sa.select(services.c.id, services.c.name).where(services.c.name.in_(names))
            )
        }
        missing = [n for n in names if n not in found]
        if missing:
            raise NotFound(
                f"no service named {missing[0]}: add it to the catalog first",
                field="services",
                hint=Hint("add_service", "add it first", params={"name": missing[0]}),
            )
        have = {
            r.service_id
            for r in conn.execute(
                sa.select(incident_services.c.service_id).where(
                    incident_services.c.incident_id == row.id
                )
            )
        }
        added = [n for n in dict.fromkeys(names) if found[n] not in have]
        now = utcnow()
        for n in added:
            conn.execute(
                incident_services.insert().values(
                    incident_id=row.id, service_id=found[n], added_by=actor, added_at=now
                )
            )
        data = {"services": added, "summary": "Affected services: " + ", ".join(added)}
        if added:
            timeline.append(conn, row.id, actor=actor, kind=AFFECTED, data=data)
        result = _affected(conn, row.id)
    if added:
        incidents.announce_event(db, row.key, AFFECTED, data, actor)
    return result


def _affected(conn: sa.Connection, incident_id: int) -> list[str]:
    return [
        r.name
        for r in conn.execute(
            sa.select(services.c.name)
            .select_from(
                incident_services.join(services, services.c.id == incident_services.c.service_id)
            )
            .where(incident_services.c.incident_id == incident_id)
            .order_by(services.c.name)
        )
    ]


def affecting(name: str) -> Any:
    """An SQL condition on the incidents table: the incident affects service `name` (the
    incident list's service filter; indexed on incident_services)."""
    return incidents_t.c.id.in_(
        sa.select(incident_services.c.incident_id)
        .join(services, services.c.id == incident_services.c.service_id)
        .where(services.c.name == name.strip().lower())
    )


def affected(db: Database, key: str) -> list[Service]:
    """The services an incident affects."""
    with db.read() as conn:
        incident_id = incidents.get_id(conn, key)
        rows = conn.execute(
            sa.select(services)
            .select_from(
                incident_services.join(services, services.c.id == incident_services.c.service_id)
            )
            .where(incident_services.c.incident_id == incident_id)
            .order_by(services.c.tier, services.c.name)
        )
        return [_from_row(r) for r in rows]


def affected_by_incident(db: Database, ids: list[int] | None = None) -> dict[int, list[Service]]:
    """incident id -> affected services, of `ids` or of every incident (the status page)."""
    out: dict[int, list[Service]] = {}
    stmt = sa.select(incident_services.c.incident_id, services).select_from(
        incident_services.join(services, services.c.id == incident_services.c.service_id)
    )
    if ids is not None:
        stmt = stmt.where(incident_services.c.incident_id.in_(ids))
    with db.read() as conn:
        rows = conn.execute(stmt)
        for r in rows:
            out.setdefault(r.incident_id, []).append(_from_row(r))
    return out


def downstream(all_services: list[Service], names: list[str]) -> list[Service]:
    """Services that depend, directly or transitively, on any of `names` (not those)."""
    dependents: dict[str, list[str]] = {}
    for s in all_services:
        for d in s.depends_on:
            dependents.setdefault(d, []).append(s.name)
    seen: set[str] = set()
    queue = list(names)
    while queue:
        current = queue.pop()
        for dep in dependents.get(current, []):
            if dep not in seen and dep not in names:
                seen.add(dep)
                queue.append(dep)
    by_name = {s.name: s for s in all_services}
    return sorted((by_name[n] for n in seen), key=lambda s: (s.tier, s.name))


@dataclass
class Impact:
    affected: list[Service]
    downstream: list[Service]

    def to_dict(self) -> dict[str, Any]:
        return {
            "affected": [s.to_dict() for s in self.affected],
            "downstream": [s.to_dict() for s in self.downstream],
        }


def impact(db: Database, key: str) -> Impact:
    """Affected services and, through the dependencies, the ones downstream of them."""
    hit = affected(db, key)
    return Impact(affected=hit, downstream=downstream(list_services(db), [s.name for s in hit]))
