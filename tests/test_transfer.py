"""`warroom export` / `import` move everything between SQLite and PostgreSQL, nothing lost."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from trust_scenarios import busy_history
from warroom import incidents
from warroom.cli.main import app
from warroom.core.db import Database
from warroom.core.errors import InvalidInput, UnknownFormat
from warroom.trust import audit, transfer


def _dump(db: Database) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table, values encoded portably, for comparison across databases."""
    out: dict[str, list[dict[str, Any]]] = {}
    with db.read() as conn:
        for table, row in transfer.iter_rows(conn):
            out.setdefault(table.name, []).append(
                {k: transfer.encode(table.c[k], v) for k, v in row.items()}
            )
    return out


def test_round_trip_sqlite_postgresql_sqlite_keeps_every_row(
    sqlite_url: str, pg_url: str, tmp_path: Path, clock: Any
) -> None:
    src = Database(sqlite_url)
    pg = Database(pg_url)
    back = Database(f"sqlite:///{tmp_path / 'back.db'}")
    try:
        busy_history(src, clock)
        original = _dump(src)
        assert {"incidents", "events", "roles", "tasks", "blobs", "artifacts", "counters"} <= set(
            original
        )
        transfer.export(src, tmp_path / "one.jsonl")
        transfer.import_(pg, tmp_path / "one.jsonl")
        assert _dump(pg) == original
        transfer.export(pg, tmp_path / "two.jsonl")
        transfer.import_(back, tmp_path / "two.jsonl")
        assert _dump(back) == original
        for database in (pg, back):
            reports = audit.audit_all(database)
            assert len(reports) == 3 and all(r.ok for r in reports)
        # the planner knows the imported history at once (autovacuum may be off or late)
        with pg.read() as conn:
            analyzed = conn.execute(
                sa.text(
                    "SELECT relname FROM pg_stat_user_tables WHERE schemaname = current_schema()"
                    " AND last_analyze IS NOT NULL"
                )
            ).scalars()
            assert {"incidents", "events"} <= set(analyzed)
        with back.read() as conn:  # not on SQLite: average statistics hide the open few
            assert (
                conn.execute(
                    sa.text("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")
                ).scalar()
                == 0
            )
        # Sequences continue after the imported ids: new work gets new ids on PostgreSQL.
        key = incidents.declare(pg, title="After the move", actor="ana").key
        assert key == "INC-4"
        incidents.add_note(pg, "INC-1", text="still writable", actor="ana")
        assert audit.audit(pg, "INC-1").ok
    finally:
        for database in (src, pg, back):
            database.dispose()


def test_export_encodes_times_with_offset_and_bytes_as_base64(db: Database, clock: Any) -> None:
    busy_history(db, clock)
    lines = transfer.export_text(db).splitlines()
    head = json.loads(lines[0])
    assert head["format"] == "warroom-export" and head["revisions"]
    assert head["tables"]["incidents"] == 3
    rows = [json.loads(line) for line in lines[1:]]
    inc = next(r["row"] for r in rows if r["table"] == "incidents")
    assert inc["created_at"].endswith("+00:00")
    blob = next(r["row"] for r in rows if r["table"] == "blobs")
    import base64

    assert b"[REDACTED]" in base64.b64decode(blob["content"])
    tables = [r["table"] for r in rows]
    assert tables.index("incidents") < tables.index("events")


def test_import_refuses_a_database_that_is_not_empty(
    db: Database, clock: Any, tmp_path: Path
) -> None:
    incidents.declare(db, title="Existing", actor="ana")
    transfer.export(db, tmp_path / "x.jsonl")
    with pytest.raises(InvalidInput, match="not empty"):
        transfer.import_(db, tmp_path / "x.jsonl")


def test_import_of_a_cut_file_keeps_nothing(sqlite_url: str, tmp_path: Path, clock: Any) -> None:
    src = Database(sqlite_url)
    busy_history(src, clock)
    transfer.export(src, tmp_path / "x.jsonl")
    lines = (tmp_path / "x.jsonl").read_text().splitlines()
    (tmp_path / "cut.jsonl").write_text("\n".join(lines[: len(lines) // 2]) + "\n")
    target = Database(f"sqlite:///{tmp_path / 't.db'}")
    with pytest.raises(InvalidInput, match="cut short"):
        transfer.import_(target, tmp_path / "cut.jsonl")
    with target.read() as conn:
        assert transfer.is_empty(conn)
    src.dispose()
    target.dispose()


def test_not_an_export_is_refused_with_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "x.jsonl").write_text("hello\n")
    with pytest.raises(UnknownFormat, match="is not a warroom export"):
        transfer.read_header(tmp_path / "x.jsonl")


def test_cli_export_and_import(sqlite_url: str, tmp_path: Path, clock: Any) -> None:
    src = Database(sqlite_url)
    busy_history(src, clock)
    src.dispose()
    runner = CliRunner()
    out = tmp_path / "all.jsonl"
    r = runner.invoke(app, ["export", str(out), "--db", sqlite_url])
    assert r.exit_code == 0, r.output
    target_url = f"sqlite:///{tmp_path / 'new.db'}"
    r = runner.invoke(app, ["import", str(out), "--db", target_url, "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["tables"]["incidents"] == 3
    again = runner.invoke(app, ["import", str(out), "--db", target_url])
    assert again.exit_code == 2
    assert "not empty" in again.output
    with sa.create_engine(target_url).connect() as conn:
        assert conn.exec_driver_sql("select count(*) from events").scalar_one() > 20
