"""Recover the product's data, end to end on a real PostgreSQL cluster of the test's own.

initdb with archiving on, a base backup, good writes, a bad UPDATE and DELETE at a known
time, more good writes; then the walk-through of docs/recover.md through the CLI: readiness,
side restore to just before the bad write, diff, repair script, dry run, apply, cleanup.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from pgcluster import Cluster, live_cluster
from warroom.cli.main import app
from warroom.core.config import load_settings
from warroom.core.db import Database
from warroom.incidents import timeline
from warroom.web.app import create_app

pytestmark = pytest.mark.slow
runner = CliRunner()

SCHEMA = (
    "CREATE TABLE accounts (id int PRIMARY KEY, owner text NOT NULL,"
    " balance numeric(12,2) NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())",
    "CREATE TABLE orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    " account_id int NOT NULL REFERENCES accounts, total numeric(10,2), note text,"
    " tags text[], meta jsonb)",
    "CREATE TABLE audit (id serial PRIMARY KEY, what text)",
    "INSERT INTO accounts SELECT g, 'owner ' || g, 100, now() FROM generate_series(1, 20) g",
    "INSERT INTO orders (account_id, total, note, tags, meta) SELECT g, g * 1.5,"
    " E'it''s; a \\\\ note\\nline two', ARRAY['a', 'b,c'], '{\"k\": [1, 2]}'"
    " FROM generate_series(1, 10) g",
)


def cli(*args: str, config: Path, code: int = 0) -> Any:
    result = runner.invoke(app, list(args), env={"WARROOM_CONFIG": str(config)})
    assert result.exit_code == code, result.output
    try:
        return json.loads(result.stdout)
    except json.JSONDecodeError:
        return result.output  # with the errors, for the tests that read them


def write_config(live: Cluster, tmp_path: Path) -> Path:
    config = tmp_path / "warroom.toml"
    config.write_text(
        f'[data]\ndsn = "{live.dsn}"\nbackup_dir = "{live.backups}"\n'
        f'wal_archive = "{live.archive}"\nside_dir = "{live.root / "side"}"\n'
        'bin_dir = "/usr/lib/postgresql/15/bin"\n'
    )
    return config


def balances(live: Cluster) -> dict[int, str]:
    return {int(i): str(b) for i, b in live.sql("SELECT id, balance FROM accounts")}


def test_side_restore_to_just_before_a_bad_write_diffs_and_repairs_exactly_the_damaged_rows(
    tmp_path: Path, sqlite_url: str
) -> None:
    with live_cluster() as live:
        live.sql(*SCHEMA)
        live.base_backup("nightly")
        live.sql("UPDATE accounts SET balance = 150, updated_at = now() WHERE id = 3")  # good
        time.sleep(0.3)
        before_bad = live.now()
        time.sleep(0.3)
        live.sql(  # the bad job: no WHERE clause review, no updated_at either
            "UPDATE accounts SET balance = 0 WHERE id BETWEEN 5 AND 8",
            "DELETE FROM orders WHERE id IN (3, 4)",
        )
        live.sql(  # good writes after the damage, which the repair must keep
            "INSERT INTO accounts (id, owner, balance) VALUES (31, 'late signup', 5)",
            "INSERT INTO orders (account_id, total) VALUES (31, 9)",
            "INSERT INTO audit (what) VALUES ('after the damage')",
        )
        live.archive_now()
        original_orders = live.sql("SELECT * FROM orders WHERE id IN (3, 4) ORDER BY id")
        assert original_orders == []
        config = write_config(live, tmp_path)
        db = ["--db", sqlite_url]
        cli("declare", "Balances zeroed by a batch job", "--severity", "P1", *db, config=config)

        check = cli("data", "check", "--incident", "INC-1", "--json", *db, config=config)
        assert check["verdict"] == "ready", check["findings"]

        side = cli(
            "data", "restore", "--until", before_bad.isoformat(), "--incident", "INC-1",
            "--json", *db, config=config,
        )  # fmt: skip
        assert side["state"] == "paused" and side["backup"]["label"] == "nightly"
        assert side["stopped_at"].startswith("before commit of transaction")
        assert not list(live.archive.glob("*.history")), "the side server wrote to the archive"

        damage = cli(
            "data", "diff", "accounts", "orders", "--incident", "INC-1", "--json", *db,
            config=config,
        )  # fmt: skip
        by_table = {t["table"]: t for t in damage["tables"]}
        changes = {
            (t, c["kind"], c["key"]["id"]) for t, d in by_table.items() for c in d["changes"]
        }
        assert changes == {
            ("public.accounts", "updated", "5"),
            ("public.accounts", "updated", "6"),
            ("public.accounts", "updated", "7"),
            ("public.accounts", "updated", "8"),
            ("public.orders", "deleted", "3"),
            ("public.orders", "deleted", "4"),
            ("public.accounts", "inserted", "31"),  # the good writes since, shown apart
            ("public.orders", "inserted", "11"),
        }
        five = next(c for c in by_table["public.accounts"]["changes"] if c["key"]["id"] == "5")
        assert five["changed"] == ["balance"]
        assert (five["side"]["balance"], five["live"]["balance"]) == ("100.00", "0.00")
        assert damage["parents_first"] == ["public.accounts", "public.orders"]

        script = tmp_path / "repair.sql"
        cli("data", "repair", "accounts", "orders", "--out", str(script), "--incident",
            "INC-1", *db, config=config)  # fmt: skip
        text = script.read_text()
        assert "--   live now: {" in text and '"balance": "0.00"' in text
        assert text.count("-- expect: 1") == 6 and "late signup" not in text

        refused = cli("data", "apply", str(script), "--yes", "--incident", "INC-1", *db,
                      config=config, code=2)  # fmt: skip
        assert "no passing dry run" in refused and f"data apply {script}" in refused

        dry = cli("data", "apply", str(script), "--incident", "INC-1", "--json", *db,
                  config=config)  # fmt: skip
        assert dry["ok"] and not dry["committed"]
        assert dry["rows"] == {"public.accounts": {"UPDATE": 4}, "public.orders": {"INSERT": 2}}
        assert balances(live)[5] == "0.00", "a dry run changed the live database"

        # someone changes a damaged row after the dry run: the whole script is refused
        live.sql("UPDATE accounts SET balance = 1 WHERE id = 6")
        stale = cli("data", "apply", str(script), "--yes", "--incident", "INC-1", "--json",
                    *db, config=config, code=1)  # fmt: skip
        assert not stale["committed"] and [m["line"] for m in stale["mismatches"]]
        assert balances(live)[5] == "0.00"
        live.sql("UPDATE accounts SET balance = 0 WHERE id = 6")

        done = cli("data", "apply", str(script), "--yes", "--incident", "INC-1", "--json",
                   *db, config=config)  # fmt: skip
        assert done["committed"]
        now = balances(live)
        assert [now[i] for i in (5, 6, 7, 8)] == ["100.00"] * 4
        assert now[3] == "150.00" and now[31] == "5.00"  # good writes before and after
        restored = live.sql(
            "SELECT id, note, tags::text, meta::text FROM orders WHERE id IN (3, 4) ORDER BY id"
        )
        assert restored == [
            (3, "it's; a \\ note\nline two", '{a,"b,c"}', '{"k": [1, 2]}'),
            (4, "it's; a \\ note\nline two", '{a,"b,c"}', '{"k": [1, 2]}'),
        ]
        assert live.sql("SELECT count(*) FROM audit") == [(1,)]
        after = cli("data", "diff", "accounts", "orders", "--json", config=config)
        assert after["total"] == {"deleted": 0, "updated": 0, "inserted": 2}

        cli("data", "cleanup", "--incident", "INC-1", *db, config=config)
        assert not (live.root / "side").exists()
        kinds = [e.kind for e in timeline.read(Database(sqlite_url), "INC-1")]
        data_kinds = [k for k in kinds if k.startswith("data.")]
        assert data_kinds == [
            "data.checked",
            "data.restored",
            "data.diffed",
            "data.repair.checked",
            "data.repair.refused",
            "data.repair.applied",
            "data.side_removed",
        ]
        assert kinds.count("artifact.attached") == 2  # the diff and the applied script
        app_ = create_app(load_settings(database_url=sqlite_url), database=Database(sqlite_url))
        page = TestClient(app_).get("/incidents/INC-1").text
        panel = page[page.index('aria-label="Data recovery"') :]
        for text in ("ready", "recovered to", "removed", "public.accounts: 0 deleted, 4 updated",
                     "dry run", "refused", "applied"):  # fmt: skip
            assert text in panel, text


def test_readiness_names_what_breaks_point_in_time_recovery(tmp_path: Path) -> None:
    with live_cluster(archive_timeout=0) as live:
        live.sql("CREATE TABLE t (id int PRIMARY KEY)")
        live.base_backup("weekly")
        for i in range(3):
            live.sql(f"INSERT INTO t VALUES ({i})")
            last = live.archive_now()
        config = write_config(live, tmp_path)
        report = cli("data", "check", "--json", config=config)
        assert report["verdict"] == "at risk"
        assert {f["check"] for f in report["findings"] if f["level"] == "warn"} == {
            "archive_timeout"
        }
        # a lost segment in the middle of the archive
        names = sorted(p.name for p in live.archive.iterdir() if len(p.name) == 24)
        (live.archive / names[-2]).unlink()
        report = cli("data", "check", "--json", config=config, code=1)
        gaps = [f for f in report["findings"] if f["check"] == "archive_gaps"]
        assert gaps[0]["level"] == "fail" and names[-2] in gaps[0]["message"]
        assert report["archive"]["gaps"] == [[names[-2], names[-2]]]
        # the archiver starts failing
        live.sql(
            "ALTER SYSTEM SET archive_command = 'false'", "SELECT pg_reload_conf()", autocommit=True
        )
        live.sql("INSERT INTO t VALUES (99)", "SELECT pg_switch_wal()")
        deadline = time.monotonic() + 30
        while not live.sql("SELECT failed_count FROM pg_stat_archiver")[0][0]:
            assert time.monotonic() < deadline, "the archiver never failed"
            time.sleep(0.2)
        report = cli("data", "check", "--json", config=config, code=1)
        failing = next(f for f in report["findings"] if f["check"] == "archiver")
        assert failing["level"] == "fail" and "failing" in failing["message"] and failing["fix"]
        assert last  # the last good one was archived before
        text = cli("data", "check", config=config, code=1)
        assert text.startswith("NOT RECOVERABLE") and "fix:" in text


def test_restore_refuses_an_impossible_target_and_explains_an_archive_that_ends_too_early(
    tmp_path: Path,
) -> None:
    with live_cluster() as live:
        live.sql("CREATE TABLE t (id int PRIMARY KEY)")
        too_early = live.now()
        # A backup's stop time is written to the whole second: start it in the next one, so
        # the target is before the backup however its stop time is rounded.
        time.sleep(1.1)
        live.base_backup("nightly")
        config = write_config(live, tmp_path)
        out = cli("data", "restore", "--until", too_early.isoformat(), config=config, code=1)
        assert "no base backup finished before" in out
        out = cli("data", "restore", "--until", "2999-01-01T00:00Z", config=config, code=2)
        assert "in the future" in out
        # nothing committed after the target has reached the archive: recovery cannot stop
        live.sql("INSERT INTO t VALUES (1)")
        time.sleep(0.2)
        target = live.now()
        out = cli("data", "restore", "--until", target.isoformat(), config=config, code=1)
        assert "WAL archive ends before the recovery target" in out
        assert "warroom data cleanup" in out
        status = cli("data", "status", "--json", config=config)
        assert status["state"] == "failed" and not status["running"]
        cli("data", "cleanup", config=config)
        # archived now: a promoted copy opens for writes and leaves the archive alone
        live.sql("INSERT INTO t VALUES (2)")
        live.archive_now()
        side = cli("data", "restore", "--until", target.isoformat(), "--promote", "--json",
                   config=config)  # fmt: skip
        assert side["state"] == "promoted"
        side_dsn = f"host={side['side_dir']} port={side['port']} user=postgres dbname=shop"
        with psycopg.connect(side_dsn) as conn:
            assert conn.execute("SELECT array_agg(id) FROM t").fetchone() == ([1],)
            conn.execute("INSERT INTO t VALUES (3)")
        assert not list(live.archive.glob("*.history"))
        cli("data", "cleanup", config=config)
