"""The data commands as verbs: each does its work, then records it on the incident when given.

    report = check_readiness(db, cfg, incident="INC-7", actor="ana")
    side = restore_side(db, cfg, until=when, incident="INC-7", actor="ana")
    damage = diff_tables(db, cfg, ["accounts"], incident="INC-7", actor="ana")
    result = apply_repair(db, cfg, text, name="repair.sql", yes=False, incident="INC-7", ...)

The rule of the repair: a script is applied (`yes`) only on an incident, and only when the
same script (same sha256) has had a dry run recorded on that incident that met every
expected count. An edited script needs a new dry run. `db` may be None when no incident is
named: nothing is recorded then.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from warroom import incidents
from warroom.core.config import Settings
from warroom.core.db import Database
from warroom.core.errors import Hint, InvalidInput, InvalidTransition
from warroom.incidents import artifacts, timeline
from warroom.recover import readiness, side, sidestate
from warroom.recover.apply import ApplyResult, digest, run_script
from warroom.recover.config import DataConfig
from warroom.recover.diff import DamageReport, diff
from warroom.recover.side import RestoreProgress
from warroom.recover.sidestate import SideServer

CHECKED = "data.checked"
RESTORED = "data.restored"
DIFFED = "data.diffed"
REPAIR_CHECKED = "data.repair.checked"
REPAIR_APPLIED = "data.repair.applied"
REPAIR_REFUSED = "data.repair.refused"
SIDE_REMOVED = "data.side_removed"


def _record(
    db: Database | None, incident: str | None, kind: str, actor: str, data: dict[str, Any]
) -> None:
    if incident is not None:
        assert db is not None, "an incident is recorded in warroom's database"
        incidents.record(db, incident, kind=kind, actor=actor, data=data)


def _known(db: Database | None, incident: str | None) -> None:
    """An unknown incident is refused before the long work, not after it."""
    if incident is not None:
        assert db is not None, "an incident is recorded in warroom's database"
        incidents.get(db, incident)


def check_readiness(
    db: Database | None,
    cfg: DataConfig,
    *,
    incident: str | None = None,
    actor: str,
    verify_backup: bool = False,
) -> readiness.Readiness:
    """Can the product database be recovered to a point in time? Recorded on `incident`."""
    report = readiness.check(cfg, verify_backup=verify_backup)
    _record(
        db,
        incident,
        CHECKED,
        actor,
        {
            "verdict": report.verdict,
            "dsn": report.dsn,
            "summary": report.summary(),
            "findings": [f.to_dict() for f in report.findings if f.level != "ok"],
        },
    )
    return report


def restore_side(
    db: Database | None,
    cfg: DataConfig,
    *,
    until: datetime,
    incident: str | None = None,
    actor: str,
    backup: Path | None = None,
    action: str = "pause",
    port: int | None = None,
    progress: RestoreProgress | None = None,
) -> SideServer:
    """Start a side copy recovered to `until`; recorded on `incident`."""
    _known(db, incident)
    server = side.restore(
        cfg, until=until, backup=backup, action=action, port=port, progress=progress
    )
    _record(
        db,
        incident,
        RESTORED,
        actor,
        {
            "until": server.until,
            "backup": server.backup,
            "side_dir": server.side_dir,
            "port": server.port,
            "action": server.action,
            "recovered_to": server.recovered_to,
            "stopped_at": server.stopped_at,
            "summary": f"Side copy of the product database recovered to {server.until} "
            f"(port {server.port}, {server.action}d)",
        },
    )
    return server


def diff_tables(
    db: Database | None,
    cfg: DataConfig,
    tables: list[str],
    *,
    since: datetime | None = None,
    time_column: str | None = None,
    incident: str | None = None,
    actor: str,
    settings: Settings | None = None,
) -> DamageReport:
    """Rows changed since the recovery point; the report attached to `incident`."""
    if not tables:
        raise InvalidInput("name at least one table to compare", field="table")
    _known(db, incident)
    server = sidestate.require(cfg)
    report = diff(cfg.live_dsn(), server, tables, since=since, time_column=time_column)
    if incident is not None:
        assert db is not None
        art = artifacts.attach(
            db,
            incident,
            actor=actor,
            kind="data-diff",
            name="data-diff.json",
            content=json.dumps(report.to_dict(), indent=2).encode(),
            media_type="application/json",
            summary=report.summary(),
            settings=settings,
        )
        _record(
            db,
            incident,
            DIFFED,
            actor,
            {
                "until": server.until,
                "since": since.isoformat() if since else None,
                "total": report.total,
                "tables": {t.table: t.counts for t in report.tables},
                "artifact": art.sha256,
                "summary": report.summary(),
            },
        )
    return report


def _dry_run_passed(db: Database, incident: str, sha256: str) -> bool:
    return any(
        e.data.get("sha256") == sha256 and e.data.get("ok")
        for e in timeline.read(db, incident, kinds=[REPAIR_CHECKED])
    )


def apply_repair(
    db: Database | None,
    cfg: DataConfig,
    text: str,
    *,
    name: str,
    yes: bool,
    incident: str | None = None,
    actor: str,
    settings: Settings | None = None,
) -> ApplyResult:
    """A dry run of a repair script (rolled back), or with `yes` the real run (committed)."""
    sha = digest(text)
    if yes:
        if incident is None or db is None:
            raise InvalidInput(
                "a repair is applied on an incident, so that it is on its timeline: name "
                "the incident",
                field="incident",
            )
        if not _dry_run_passed(db, incident, sha):
            raise InvalidTransition(
                f"this script ({sha[:12]}) has no passing dry run on {incident}: run it "
                "without confirming first (an edited script needs a new dry run)",
                hint=Hint(
                    "data_dry_run",
                    "dry-run the script on the incident",
                    incident=incident,
                    params={"file": name},
                ),
            )
    result = run_script(cfg.live_dsn(), text, commit=yes)
    data = {
        "sha256": sha,
        "file": name,
        "ok": result.ok,
        "rows": result.rows,
        "mismatches": len(result.mismatches),
        "error": result.error,
        "summary": result.summary(),
    }
    if not yes:
        _record(db, incident, REPAIR_CHECKED, actor, data)
    elif not result.committed:
        _record(db, incident, REPAIR_REFUSED, actor, data)
    else:
        assert db is not None and incident is not None
        art = artifacts.attach(
            db,
            incident,
            actor=actor,
            kind="data-repair",
            name=Path(name).name or "repair.sql",
            content=text.encode(),
            media_type="text/x-sql",
            summary=result.summary(),
            settings=settings,
        )
        _record(db, incident, REPAIR_APPLIED, actor, {**data, "artifact": art.sha256})
    return result


def cleanup_side(
    db: Database | None, cfg: DataConfig, *, incident: str | None = None, actor: str
) -> dict[str, Any]:
    """Stop and remove the side server; recorded on `incident`."""
    done = sidestate.cleanup(cfg)
    _record(
        db,
        incident,
        SIDE_REMOVED,
        actor,
        {**done, "summary": f"Side copy (recovered to {done['until']}) stopped and removed"},
    )
    return done


KINDS = [CHECKED, RESTORED, DIFFED, REPAIR_CHECKED, REPAIR_APPLIED, REPAIR_REFUSED, SIDE_REMOVED]


def journal(db: Database, incident: str) -> dict[str, Any] | None:
    """What the data commands recorded on the incident, for its page; None when nothing.

    {"check": last readiness event, "side": last restore, "removed": bool, "diff": last
    diff, "repairs": [each dry run, refusal and application, in order]}
    """
    events = timeline.read(db, incident, kinds=KINDS)
    if not events:
        return None

    def last(kind: str) -> Any:
        found = [e for e in events if e.kind == kind]
        return found[-1] if found else None

    side, removed = last(RESTORED), last(SIDE_REMOVED)
    return {
        "check": last(CHECKED),
        "side": side,
        "removed": removed is not None and (side is None or removed.seq > side.seq),
        "diff": last(DIFFED),
        "repairs": [e for e in events if e.kind.startswith("data.repair.")],
    }
