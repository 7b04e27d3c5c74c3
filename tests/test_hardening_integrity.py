"""Database-wide integrity: the ledger of incident heads finds a deleted or rolled-back
incident; `backup verify` checks every table's content and every attachment blob; damaged
files are clear errors, never tracebacks."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from trust_scenarios import busy_history
from warroom import incidents
from warroom.cli.main import app
from warroom.core.db import Database
from warroom.core.errors import UnknownFormat
from warroom.incidents.tables import events, incident_ledger
from warroom.incidents.tables import incidents as incidents_t
from warroom.trust import audit, backup, transfer


def _as_attacker(conn: sa.Connection, db: Database) -> None:
    """Switch the append-only guard off, as someone with database access would."""
    if db.is_sqlite:
        conn.exec_driver_sql("DROP TRIGGER IF EXISTS events_no_update")
        conn.exec_driver_sql("DROP TRIGGER IF EXISTS events_no_delete")
    else:
        conn.exec_driver_sql("ALTER TABLE events DISABLE TRIGGER events_append_only")


def _ledger(db: Database) -> audit.Report:
    reports = audit.audit_all(db, rows=False, ledger_too=True)
    assert reports[-1].key == audit.LEDGER
    return reports[-1]


def test_the_ledger_follows_every_head_and_finds_a_deleted_incident(
    db: Database, clock: Any
) -> None:
    keys = busy_history(db, clock)
    ledger = _ledger(db)
    assert ledger.ok and ledger.events > len(keys)
    result = CliRunner().invoke(app, ["audit", "--db", db.url])
    assert result.exit_code == 0 and "ledger: intact" in result.output
    with db.transaction() as conn:
        _as_attacker(conn, db)
        victim = conn.execute(sa.select(incidents_t.c.id).where(incidents_t.c.key == keys[1]))
        vid = victim.scalar_one()
        for table in reversed(transfer.load_all_tables()):  # children first
            if "incident_id" in table.c and table is not incident_ledger:
                conn.execute(sa.delete(table).where(table.c.incident_id == vid))
        conn.execute(sa.delete(incidents_t).where(incidents_t.c.id == vid))
    # Every remaining incident's own chain holds: only the ledger sees it.
    reports = audit.audit_all(db, ledger_too=True)
    assert all(r.ok for r in reports if r.key != audit.LEDGER)
    assert not reports[-1].ok
    assert any(f"{keys[1]} is gone" in p.message for p in reports[-1].problems)
    result = CliRunner().invoke(app, ["audit", "--db", db.url])
    assert result.exit_code == 1 and f"{keys[1]} is gone" in result.output
    # Removing its ledger entries too breaks the ledger's own chain.
    with db.transaction() as conn:
        conn.execute(sa.delete(incident_ledger).where(incident_ledger.c.incident_id == vid))
    problems = " ".join(p.message for p in _ledger(db).problems)
    assert "is missing" in problems or "does not follow" in problems, problems


def test_the_ledger_finds_an_incident_rolled_back_to_an_earlier_head(
    db: Database, clock: Any
) -> None:
    key = busy_history(db, clock)[0]
    with db.transaction() as conn:
        _as_attacker(conn, db)
        row = conn.execute(sa.select(incidents_t).where(incidents_t.c.key == key)).one()
        keep = row.last_seq - 3
        head = conn.execute(
            sa.select(events.c.hash).where(events.c.incident_id == row.id, events.c.seq == keep)
        ).scalar_one()
        conn.execute(sa.delete(events).where(events.c.incident_id == row.id, events.c.seq > keep))
        conn.execute(
            sa.update(incidents_t)
            .where(incidents_t.c.id == row.id)
            .values(last_seq=keep, last_hash=head)
        )
    assert audit.audit(db, key, rows=False).ok  # its own chain is whole, just shorter
    problems = [p.message for p in _ledger(db).problems]
    assert any(f"{key} ends at event" in p and "rolled back" in p for p in problems), problems


def test_a_failed_transaction_leaves_nothing_in_the_ledger(db: Database, clock: Any) -> None:
    incidents.declare(db, title="db slow", actor="ana")
    before = _ledger(db).events
    with pytest.raises(Exception, match="boom"), db.transaction() as conn:
        row = incidents.lock(db, conn, "INC-1")
        incidents.timeline.append(conn, row.id, actor="ana", kind="note.added", data={"text": "x"})
        raise RuntimeError("boom")
    incidents.add_note(db, "INC-1", text="after", actor="ana")
    ledger = _ledger(db)
    assert ledger.ok and ledger.events == before + 1


def _export(db: Database, tmp_path: Path) -> Path:
    path = tmp_path / "wr.export"
    transfer.export(db, path)
    return path


def _rewrite(path: Path, change: Any) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    out = [lines[0]]
    for line in lines[1:]:
        item = json.loads(line)
        new = change(item)
        if new is not None:
            out.append(json.dumps(new))
    path.write_text("\n".join(out) + "\n", encoding="utf-8")


def test_verify_checks_every_table_and_every_blob_of_an_export(
    db: Database, clock: Any, tmp_path: Path
) -> None:
    busy_history(db, clock)
    from warroom.comms import updates

    updates.post_update(db, "INC-1", audience="internal", actor="ana", conditions="all good")
    path = _export(db, tmp_path)
    assert backup.verify(path).ok

    def edit_update(item: dict[str, Any]) -> dict[str, Any]:
        if item["table"] == "status_updates":
            item["row"]["text"] = "nothing happened"
        return item

    _rewrite(path, edit_update)
    found = backup.verify(path)
    assert not found.ok and any("table status_updates" in p for p in found.problems)

    path = _export(db, tmp_path)
    other = b"not the attachment"

    def replace_blob(item: dict[str, Any]) -> dict[str, Any]:
        if item["table"] == "blobs":
            import base64

            item["row"]["content"] = base64.b64encode(other).decode()
        return item

    _rewrite(path, replace_blob)
    found = backup.verify(path)
    assert any("does not match its sha256" in p for p in found.problems), found.problems

    # A whole incident removed (and the header's counts edited to match): the ledger and
    # the digests both say so.
    path = _export(db, tmp_path)
    head = json.loads(path.read_text().splitlines()[0])

    def drop_incident(item: dict[str, Any]) -> dict[str, Any] | None:
        row = item["row"]
        if item["table"] == "incidents" and row["key"] == "INC-2":
            return None
        if row.get("incident_id") == 2:
            return None
        return item

    _rewrite(path, drop_incident)
    lines = path.read_text().splitlines()
    counts: dict[str, int] = {}
    for line in lines[1:]:
        t = json.loads(line)["table"]
        counts[t] = counts.get(t, 0) + 1
    head["tables"] = {k: counts.get(k, 0) for k in head["tables"]}
    path.write_text("\n".join([json.dumps(head), *lines[1:]]) + "\n")
    found = backup.verify(path)
    assert not found.ok
    ledger = [r for r in found.audits if r.key == audit.LEDGER][0]
    assert not ledger.ok  # its entries for INC-2 went too: the ledger's chain is cut
    assert any("table incidents" in p for p in found.problems)


def test_verify_finds_a_row_edited_inside_a_sqlite_backup(
    sqlite_url: str, clock: Any, tmp_path: Path
) -> None:
    db = Database(sqlite_url)
    busy_history(db, clock)
    backup.backup(db, tmp_path / "wr.bak")
    db.dispose()
    assert backup.verify(tmp_path / "wr.bak").ok
    con = sqlite3.connect(tmp_path / "wr.bak")
    con.execute("UPDATE tasks SET title = 'nothing to see' WHERE id = 1")
    con.execute("UPDATE blobs SET content = X'00'")
    con.commit()
    con.close()
    found = backup.verify(tmp_path / "wr.bak")
    assert any("table tasks" in p for p in found.problems), found.problems
    assert any("sha256" in p for p in found.problems)


def test_damaged_exports_are_clear_errors_in_verify_and_restore(
    db: Database, clock: Any, tmp_path: Path
) -> None:
    busy_history(db, clock)
    good = _export(db, tmp_path).read_bytes()
    damages = {
        "flipped": good[:400] + bytes([good[400] ^ 0xFF]) + good[401:],
        "cut": good[: len(good) // 2],
        "garbage row": good + b'{"table": "events", "row": {"id": "x"}}\n',
        "bad json": good + b"{not json\n",
        "wrong type": good.replace(b'"seq":1,', b'"seq":"one",', 1),
    }
    runner = CliRunner()
    target = tmp_path / "target.db"
    for what, content in damages.items():
        path = tmp_path / f"{what}.export"
        path.write_bytes(content)
        try:
            result = backup.verify(path)
            assert not result.ok, what
        except UnknownFormat as exc:
            assert str(path) in exc.message
        except Exception as exc:  # noqa: BLE001 - any other error is the bug
            pytest.fail(f"{what}: {type(exc).__name__}: {exc}")
        for args in (["backup", "verify", str(path)], ["restore", str(path)]):
            out = runner.invoke(app, [*args, "--db", f"sqlite:///{target}"])
            assert out.exit_code in (1, 2), (what, args, out.output[-300:])
            assert (
                "Traceback" not in out.output
                and out.exception is None
                or isinstance(out.exception, SystemExit)
            ), (what, args, repr(out.exception))
            target.unlink(missing_ok=True)
    assert hashlib.sha256(good).hexdigest()  # the good file itself was never changed
