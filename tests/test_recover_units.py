"""The parts of data recovery that need no PostgreSQL: scripts, SQL text, WAL names, config."""

from __future__ import annotations

import io
import tarfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from warroom import incidents
from warroom.contain import runbooks
from warroom.core.config import Settings
from warroom.core.errors import InvalidInput
from warroom.learn.rootcause import record_root_cause
from warroom.recover import wal
from warroom.recover.apply import parse_script, split
from warroom.recover.catalog import Column, qi
from warroom.recover.config import DataConfig, from_settings, redact, side_dsn
from warroom.recover.diff import DamageReport, RowChange, TableDiff
from warroom.recover.repair import literal, parse_include, script, select


def test_split_keeps_semicolons_inside_quotes_dollar_quotes_and_comments() -> None:
    text = (
        "-- expect: 1\nUPDATE t SET a = 'x;y''z' WHERE b = E'\\';';\n"
        '/* a /* nested */ comment; */ INSERT INTO "we;ird" VALUES ($q$a;b$q$);\n'
        "-- expect: 2\nDELETE FROM t WHERE c = $$;$$"
    )
    pieces = split(text)
    assert [p[1].split()[0] for p in pieces] == ["UPDATE", "INSERT", "DELETE"]
    assert pieces[0][1].endswith("E'\\';'") and pieces[2][1].endswith("$$;$$")
    statements = parse_script(text)
    assert [(s.line, s.verb, s.target, s.expect) for s in statements] == [
        (2, "UPDATE", "t", 1),
        (3, "INSERT", "we;ird", None),
        (5, "DELETE", "t", 2),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "UPDATE t SET a = 1; COMMIT;",
        "BEGIN; DELETE FROM t;",
        "DROP TABLE t;",
        "SET ROLE admin; DELETE FROM t;",
        "COPY t FROM '/etc/passwd';",
        "WITH x AS (DELETE FROM t RETURNING *) SELECT 1;",
    ],
)
def test_a_script_that_is_not_only_row_changes_is_refused_before_anything_runs(text: str) -> None:
    with pytest.raises(InvalidInput, match="not allowed|only SET"):
        parse_script(text)


def test_an_unterminated_value_or_an_empty_script_is_refused() -> None:
    with pytest.raises(InvalidInput, match="inside a quoted value"):
        parse_script("UPDATE t SET a = 'open;")
    with pytest.raises(InvalidInput, match="changes no row"):
        parse_script("SET TimeZone = 'UTC';\n-- nothing else\n")


def _report() -> DamageReport:
    cols = [
        Column("tenant", "integer"),
        Column("id", "bigint", identity="a"),
        Column("note", "text"),
        Column("total", "numeric(10,2)"),
        Column("doubled", "numeric", generated=True),
    ]
    key = {"tenant": "7", "id": "42"}
    side = {"tenant": "7", "id": "42", "note": "it's", "total": "10.00", "doubled": "20.00"}
    live = {**side, "note": None, "total": "0.00", "doubled": "0.00"}
    gone = {**side, "id": "43", "note": "line\ntwo"}
    new = {**side, "id": "44", "note": "new"}
    table = TableDiff(
        table="public.orders",
        name="orders",
        qualified='"public"."orders"',
        oid=1,
        key=["tenant", "id"],
        columns=cols,
        only_live=[],
        only_side=[],
        time_column=None,
        since_applied=False,
        side_rows=2,
        live_rows=2,
        changes=[
            RowChange("deleted", {**key, "id": "43"}, gone, None),
            RowChange("updated", key, side, live, ["note", "total", "doubled"]),
            RowChange("inserted", {**key, "id": "44"}, None, new),
        ],
    )
    return DamageReport(
        live="host=db dbname=shop",
        side={"until": "2026-11-30T10:00:00+00:00", "backup": "nightly"},
        since=None,
        taken_at=datetime(2026, 11, 30, 11, tzinfo=UTC),
        tables=[table],
        parents_first=["public.orders"],
    )


def test_the_repair_script_restores_chosen_rows_with_live_values_in_comments() -> None:
    report = _report()
    text = script(select(report, include=parse_include(None)), author="ana", incident="INC-7")
    assert "generated" in text and "by ana for INC-7" in text
    update = text[text.index("UPDATE") : text.index(";", text.index("UPDATE")) + 1]
    assert update == (
        'UPDATE "public"."orders" SET\n'
        "    \"note\" = 'it''s'::text,\n"
        "    \"total\" = '10.00'::numeric(10,2)\n"
        "  WHERE \"tenant\" = '7'::integer AND \"id\" = '42'::bigint\n"
        '    AND ROW("note"::text, "total"::text) IS NOT DISTINCT FROM ROW(NULL, \'0.00\');'
    )
    assert '--   live now: {"tenant": "7", "id": "42", "note": null' in text
    assert "not written (generated or identity): doubled" in text
    assert (
        'INSERT INTO "public"."orders" ("tenant", "id", "note", "total") OVERRIDING SYSTEM' in text
    )
    assert "'line\ntwo'::text" in text and "DELETE FROM" not in text
    assert [s.verb for s in parse_script(text) if s.verb != "SET"] == ["UPDATE", "INSERT"]
    assert text.index("UPDATE") < text.index("INSERT INTO")


def test_inserted_rows_are_deleted_only_when_asked_and_keys_choose_rows() -> None:
    report = _report()
    text = script(select(report, include=parse_include(["inserted"])), author="ana")
    assert text.count("DELETE FROM") == 1 and "'44'::bigint" in text
    one = select(report, include={"deleted", "updated"}, keys=["orders:7,43"])
    assert [c.key["id"] for t in one.tables for c in t.changes] == ["43"]
    with pytest.raises(InvalidInput, match="no changed row has the key"):
        select(report, include={"deleted"}, keys=["7,42"])
    with pytest.raises(InvalidInput, match="unknown kind"):
        parse_include(["removed"])


def test_literals_and_identifiers_are_quoted_the_postgres_way() -> None:
    assert literal(None, Column("a", "text")) == "NULL"
    assert literal("O'Brien", Column("a", "character varying(20)")) == (
        "'O''Brien'::character varying(20)"
    )
    assert qi('we"ird') == '"we""ird"'


def test_wal_segment_names_and_numbers_round_trip_for_any_segment_size() -> None:
    for size in (16 << 20, 1 << 30, 1 << 20):
        for n in (0, 1, 255, 256, 4097):
            name = wal.segment_name(3, n, size)
            assert wal.segment_number(name, size) == (3, n)
    assert wal.segment_number("0000000100000001000000FF") == (1, 511)


def test_an_archive_scan_finds_segments_gaps_and_backup_histories(tmp_path: Path) -> None:
    for n in (2, 3, 5, 6, 9):
        (tmp_path / wal.segment_name(1, n)).write_bytes(b"")
    (tmp_path / (wal.segment_name(1, 7) + ".gz")).write_bytes(b"")
    (tmp_path / (wal.segment_name(2, 9) + ".partial")).write_bytes(b"")
    (tmp_path / "00000002.history").write_text("1\t0/9000000\tno reason\n")
    (tmp_path / "000000010000000000000002.00000028.backup").write_text(
        "START WAL LOCATION: 0/2000028 (file 000000010000000000000002)\n"
        "START TIME: 2026-11-30 10:00:00 UTC\nLABEL: nightly\n"
        "STOP TIME: 2026-11-30 10:00:05 UTC\n"
    )
    archive = wal.scan_archive(tmp_path)
    assert (archive.first, archive.last, archive.partial) == (2, 9, 1)
    assert archive.gaps() == [(4, 4), (8, 8)]
    assert archive.gaps(from_segment=0) == [(0, 1), (4, 4), (8, 8)]
    assert archive.name_of(8) == "000000010000000000000008"
    (history,) = archive.histories
    assert history.label == "nightly" and history.stop_time == datetime(
        2026, 11, 30, 10, 0, 5, tzinfo=UTC
    )


def test_base_backups_are_read_in_plain_and_tar_format(tmp_path: Path) -> None:
    label = (
        "START WAL LOCATION: 0/2000028 (file 000000010000000000000002)\n"
        "START TIME: 2026-11-30 10:00:00 UTC\nLABEL: plain one\n"
    )
    plain = tmp_path / "a"
    plain.mkdir()
    (plain / "backup_label").write_text(label)
    (plain / "PG_VERSION").write_text("15\n")
    tarred = tmp_path / "b"
    tarred.mkdir()
    with tarfile.open(tarred / "base.tar.gz", "w:gz") as tar:
        for name, body in (("backup_label", label.replace("plain one", "tar one")),
                           ("PG_VERSION", "16\n")):  # fmt: skip
            info = tarfile.TarInfo(name)
            info.size = len(body.encode())
            tar.addfile(info, io.BytesIO(body.encode()))
    found = wal.find_backups(tmp_path)
    assert sorted((b.label, b.format, b.version) for b in found) == [
        ("plain one", "plain", 15),
        ("tar one", "tar", 16),
    ]
    assert wal.find_backups(tmp_path, label="tar*")[0].label == "tar one"
    assert found[0].start_segment == "000000010000000000000002"


def test_the_data_table_of_warroom_toml_is_read_relative_to_the_file(tmp_path: Path) -> None:
    settings = Settings(
        config_path=tmp_path / "warroom.toml",
        raw={"data": {"dsn": "postgresql://app:s3cret@db/shop", "wal_archive": "wal",
                      "max_backup_age_hours": 6}},
    )  # fmt: skip
    cfg = from_settings(settings)
    assert cfg.wal_archive == tmp_path / "wal" and cfg.side_dir == tmp_path / "warroom-side"
    assert cfg.max_backup_age_hours == 6.0
    assert cfg.with_options(dsn=None, wal_archive="/x").wal_archive == Path("/x")
    assert "s3cret" not in redact(cfg.live_dsn()) and "dbname=shop" in redact(cfg.live_dsn())
    assert side_dsn(cfg.live_dsn(), socket_dir=Path("/side"), port=5499).endswith(
        "host=/side port=5499"
    )
    with pytest.raises(InvalidInput, match="no product database"):
        DataConfig().live_dsn()
    with pytest.raises(InvalidInput, match="positive number"):
        from_settings(Settings(raw={"data": {"max_archive_lag_minutes": "soon"}}))


def test_a_data_corruption_root_cause_suggests_the_data_recovery_runbook(db) -> None:
    key = incidents.declare(db, title="Checkout totals look wrong", actor="ana").key
    books = runbooks.load_all(Settings())
    assert "data-recovery" not in [
        m.runbook.name for m in runbooks.suggest(db, key, runbooks=books)
    ]
    record_root_cause(
        db, key, category="data_corruption", summary="a batch job zeroed balances", actor="ana"
    )
    matches = runbooks.suggest(db, key, runbooks=books)
    assert matches[0].runbook.name == "data-recovery"
    assert "data corruption" in " ".join(matches[0].reasons)


def test_the_incident_page_has_no_data_panel_until_a_data_command_is_recorded(
    db, web_client
) -> None:
    key = incidents.declare(db, title="Balances zeroed", actor="ana").key
    assert 'aria-label="Data recovery"' not in web_client.get(f"/incidents/{key}").text
    incidents.record(
        db,
        key,
        kind="data.checked",
        actor="ana",
        data={
            "verdict": "at risk",
            "summary": "Point-in-time recovery of dbname=shop: at risk",
            "findings": [
                {"check": "archive_timeout", "level": "warn", "message": "archive_timeout is 0",
                 "fix": "set archive_timeout = 60"}
            ],
        },
    )  # fmt: skip
    page = web_client.get(f"/incidents/{key}").text
    panel = page[page.index('aria-label="Data recovery"') :]
    assert "at risk" in panel and "Fix: set archive_timeout = 60" in panel
