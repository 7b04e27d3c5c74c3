"""`warroom backup`, `backup verify` and `restore` (optionally `--until TIME`)."""

from __future__ import annotations

import sqlite3
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from trust_scenarios import busy_history
from warroom import incidents
from warroom.cli.main import app
from warroom.comms import updates
from warroom.comms.tables import status_updates
from warroom.core.db import Database
from warroom.core.errors import InvalidInput, UnknownFormat
from warroom.incidents import artifacts, timeline
from warroom.trust import audit, backup, transfer


def _dump(db: Database) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    with db.read() as conn:
        for table, row in transfer.iter_rows(conn):
            out.setdefault(table.name, []).append(
                {k: transfer.encode(table.c[k], v) for k, v in row.items()}
            )
    return out


def test_backup_verify_restore_round_trip(db: Database, clock: Any, tmp_path: Path) -> None:
    busy_history(db, clock)
    result = backup.backup(db, tmp_path / "wr.bak")
    assert result.kind == ("sqlite" if db.is_sqlite else "export")
    assert backup.kind_of(tmp_path / "wr.bak") == result.kind
    assert result.tables["incidents"] == 3
    checked = backup.verify(tmp_path / "wr.bak")
    assert checked.ok, checked.to_dict()
    assert len(checked.audits) == 4  # three incidents and the ledger
    target = Database(f"sqlite:///{tmp_path / 'restored.db'}")
    try:
        restored = backup.restore(target, tmp_path / "wr.bak")
        assert restored.dropped_incidents == []
        assert _dump(target) == _dump(db)
    finally:
        target.dispose()


def test_sqlite_backup_is_consistent_while_writers_run(
    sqlite_url: str, clock: Any, tmp_path: Path
) -> None:
    db = Database(sqlite_url)
    key = incidents.declare(db, title="Busy", actor="ana").key
    stop = threading.Event()
    errors: list[BaseException] = []

    def write() -> None:
        writer = Database(sqlite_url)
        try:
            while not stop.is_set():
                incidents.add_note(writer, key, text="tick", actor="bot")
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            writer.dispose()

    thread = threading.Thread(target=write)
    thread.start()
    try:
        for i in range(3):
            path = tmp_path / f"b{i}.bak"
            backup.backup(db, path)
            checked = backup.verify(path)
            assert checked.ok, checked.to_dict()
    finally:
        stop.set()
        thread.join(10)
        db.dispose()
    assert errors == []


def test_verify_reports_an_event_edited_inside_the_backup(
    sqlite_url: str, clock: Any, tmp_path: Path
) -> None:
    db = Database(sqlite_url)
    busy_history(db, clock)
    backup.backup(db, tmp_path / "wr.bak")
    db.dispose()
    con = sqlite3.connect(tmp_path / "wr.bak")
    con.execute("DROP TRIGGER events_no_update")
    con.execute("UPDATE events SET actor = 'mallory' WHERE seq = 4 AND incident_id = 1")
    con.commit()
    con.close()
    checked = backup.verify(tmp_path / "wr.bak")
    assert not checked.ok
    broken = [r for r in checked.audits if not r.ok]
    assert [r.key for r in broken] == ["INC-1"]
    assert broken[0].first_broken_seq == 4


def test_verify_refuses_files_that_are_not_backups(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(UnknownFormat):
        backup.verify(tmp_path / "notes.txt")
    damaged = tmp_path / "damaged.bak"
    damaged.write_bytes(backup.SQLITE_MAGIC + b"\x00" * 200)
    with pytest.raises(UnknownFormat, match="damaged|integrity"):
        backup.verify(damaged)


def test_restore_refuses_a_database_with_data(db: Database, clock: Any, tmp_path: Path) -> None:
    busy_history(db, clock)
    backup.backup(db, tmp_path / "wr.bak")
    with pytest.raises(InvalidInput, match="not empty"):
        backup.restore(db, tmp_path / "wr.bak")


def test_restore_until_rebuilds_the_state_at_that_moment(
    db: Database, clock: Any, tmp_path: Path
) -> None:
    a = incidents.declare(db, title="Checkout 500", actor="ana", severity="P2").key
    updates.post_update(db, a, audience="internal", actor="ana", conditions="errors at 30 %")
    clock.advance(minutes=1)
    incidents.assign_role(db, a, role="commander", person="ana", actor="ana")
    incidents.add_task(db, a, title="Roll back", actor="ana")
    incidents.move(db, a, to="contained", actor="ana")
    clock.advance(minutes=5)
    until: datetime = clock.now
    as_it_was = incidents.get(db, a).to_dict()
    events_then = len(timeline.read(db, a))

    clock.advance(minutes=5)
    incidents.set_severity(db, a, severity="P1", actor="bo")
    incidents.assign_role(db, a, role="commander", person="bo", actor="ana")
    incidents.update_task(db, a, 1, actor="bo", status="done")
    incidents.move(db, a, to="fixed", actor="bo")
    artifacts.attach(
        db,
        a,
        actor="bo",
        kind="evidence",
        name="after.txt",
        content=b"later",
        media_type="text/plain",
    )
    updates.post_update(db, a, audience="internal", actor="bo", conditions="recovered")
    b = incidents.declare(db, title="Later incident", actor="cy").key

    backup.backup(db, tmp_path / "wr.bak")
    target = Database(f"sqlite:///{tmp_path / 'then.db'}")
    try:
        result = backup.restore(target, tmp_path / "wr.bak", until=until)
        assert result.dropped_incidents == [b]
        assert incidents.get(target, a).to_dict() == as_it_was
        assert len(timeline.read(target, a)) == events_then
        assert [r.key for r in incidents.list_incidents(target)] == [a]
        assert artifacts.list_for(target, a) == []
        with target.read() as conn:
            texts = conn.execute(sa.select(status_updates.c.conditions)).scalars().all()
            assert list(texts) == ["errors at 30 %"]
            assert conn.exec_driver_sql("select count(*) from blobs").scalar_one() == 0
        assert all(r.ok for r in audit.audit_all(target))
        # The restored desk keeps working: the chain continues from the restored head.
        incidents.add_note(target, a, text="restored", actor="ana")
        assert audit.audit(target, a).ok
    finally:
        target.dispose()


def test_cli_backup_verify_and_restore(sqlite_url: str, clock: Any, tmp_path: Path) -> None:
    db = Database(sqlite_url)
    busy_history(db, clock)
    db.dispose()
    runner = CliRunner()
    bak = tmp_path / "wr.bak"
    r = runner.invoke(app, ["backup", str(bak), "--db", sqlite_url])
    assert r.exit_code == 0, r.output
    assert "backup verify" in r.output
    r = runner.invoke(app, ["backup", "verify", str(bak)])
    assert r.exit_code == 0, r.output
    assert "OK" in r.output and "3 incidents" in r.output
    new = f"sqlite:///{tmp_path / 'new.db'}"
    r = runner.invoke(app, ["restore", str(bak), "--db", new, "--until", "2026-11-24T12:30Z"])
    assert r.exit_code == 0, r.output
    assert "left out" in r.output and "INC-2, INC-3" in r.output
    r = runner.invoke(app, ["restore", str(bak), "--db", new])
    assert r.exit_code == 2 and "not empty" in r.output
    r = runner.invoke(app, ["backup", "verify", str(tmp_path / "missing.bak")])
    assert r.exit_code == 1 and "does not exist" in " ".join(r.output.split())


def test_restore_until_into_postgresql_continues_numbering(
    sqlite_url: str, pg_url: str, clock: Any, tmp_path: Path
) -> None:
    src = Database(sqlite_url)
    target = Database(pg_url)
    try:
        busy_history(src, clock)
        backup.backup(src, tmp_path / "wr.bak")
        until = datetime.fromisoformat("2026-11-24T12:10:00+00:00")
        result = backup.restore(target, tmp_path / "wr.bak", until=until)
        assert result.dropped_incidents == ["INC-2", "INC-3"]
        inc = incidents.get(target, "INC-1")
        assert inc.severity is not None and inc.severity.value == "P0"
        assert inc.stage.value == "detected" and inc.commander == "fay"
        assert all(r.ok for r in audit.audit_all(target))
        # Counters are kept: the numbers handed out after `until` are not reused.
        assert incidents.declare(target, title="New", actor="ana").key == "INC-4"
        incidents.add_task(target, "INC-1", title="after restore", actor="ana")
        assert audit.audit(target, "INC-1").ok
    finally:
        src.dispose()
        target.dispose()
