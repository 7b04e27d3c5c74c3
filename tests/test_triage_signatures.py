import json
from datetime import UTC, datetime

from typer.testing import CliRunner

from warroom.triage.signatures import mine_templates, signatures_since, split_timestamp


def test_timestamps_of_common_log_styles_are_taken_off():
    cases = {
        "2026-11-20T14:03:01.123Z ERROR x": datetime(2026, 11, 20, 14, 3, 1, 123000, UTC),
        "2026-11-20 14:03:01,500 INFO y": datetime(2026, 11, 20, 14, 3, 1, 500000, UTC),
        "Nov 20 14:03:01 host sshd[42]: z": datetime(2026, 11, 20, 14, 3, 1, tzinfo=UTC),
        "081109 203615 148 INFO dfs.DataNode": datetime(2008, 11, 9, 20, 36, 15, tzinfo=UTC),
        "[20/Nov/2026:14:03:01 +0100] GET": datetime(2026, 11, 20, 13, 3, 1, tzinfo=UTC),
    }
    for line, ts in cases.items():
        got, rest = split_timestamp(line, year=2026)
        assert got == ts, line
        assert rest.strip() and rest != line


def test_templates_mask_ids_across_java_python_syslog_and_hdfs(tmp_path):
    p = tmp_path / "app.log"
    p.write_text(
        "2026-11-20 12:00:01,000 ERROR [pool-1] OrderService - order 123 failed for user "
        "4f9a1c2e-0000-4000-8000-00000000abcd from 10.0.0.7\n"
        "2026-11-20 12:00:02,000 ERROR [pool-2] OrderService - order 456 failed for user "
        "9e8d7c6b-0000-4000-8000-00000000dcba from 10.0.0.9\n"
        "Nov 20 12:00:03 web1 kernel: oom killer pid 991 score 0x1f3\n"
        "Nov 20 12:00:04 web1 kernel: oom killer pid 1234 score 0x2a\n"
        "081109 203615 148 INFO dfs.DataNode: Receiving block blk_-160899 src: /10.250.1.2:50010\n"
        "081109 203616 149 INFO dfs.DataNode: Receiving block blk_77 src: /10.250.1.3:50010\n"
    )
    mined = mine_templates([p])
    assert len(mined.templates) == 3
    assert all(t.count == 2 for t in mined.templates)
    texts = " | ".join(t.template for t in mined.templates)
    assert "order <*> failed for user <*> from <*>" in texts
    assert "oom killer pid <*> score <*>" in texts and "block <*> src: <*>" in texts
    first = next(t for t in mined.templates if t.template.startswith("order <*> failed"))
    assert first.first == datetime(2026, 11, 20, 12, 0, 1, tzinfo=UTC)
    assert first.last == datetime(2026, 11, 20, 12, 0, 2, tzinfo=UTC)


def test_new_and_surging_signatures_since_the_onset(tmp_path):
    lines = [f"2026-11-20 12:{m:02d}:00 INFO heartbeat ok {m}" for m in range(60)]
    lines += [f"2026-11-20 12:{m:02d}:10 WARN cache miss key {m}" for m in range(0, 60, 10)]
    lines += [f"2026-11-20 12:{m:02d}:20 WARN cache miss key {m}" for m in range(40, 60)]
    lines += [f"2026-11-20 12:{m:02d}:30 ERROR db timeout after {m} ms" for m in range(41, 60)]
    p = tmp_path / "app.log"
    p.write_text("\n".join(sorted(lines)) + "\n")
    sigs = signatures_since([p], onset=datetime(2026, 11, 20, 12, 40, tzinfo=UTC))
    by_status = {s.status: s for s in sigs}
    assert "db timeout" in by_status["new"].template and by_status["new"].before == 0
    assert "cache miss" in by_status["surging"].template
    assert all("heartbeat" not in s.template for s in sigs)


def test_logs_templates_cli_json_with_assign(tmp_path):
    import typer

    from warroom.cli.triage import register

    app = typer.Typer()
    register(app)

    p = tmp_path / "a.log"
    p.write_text("user 1 logged in\nuser 2 logged in\ndisk /dev/sda full\nuser 3 logged in\n")
    result = CliRunner().invoke(app, ["logs", "templates", str(p), "--format", "json", "--assign"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    top = data["templates"][0]
    assert top["count"] == 3 and top["template"] == "user <*> logged in"
    disk = data["templates"][1]["id"]
    assert data["assignments"] == [top["id"], top["id"], disk, top["id"]]
