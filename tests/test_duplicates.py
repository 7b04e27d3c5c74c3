"""Duplicate effects in logs: a payment retry storm with a known set of double-charged orders."""

from __future__ import annotations

import csv
import gzip
import io
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from warroom.cli.main import app
from warroom.core.errors import InvalidInput
from warroom.triage.duplicates import KeyRule, find_duplicates, parse_rules, shape
from warroom.triage.render import render_markdown
from warroom.triage.report import triage

START = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
runner = CliRunner()


def payment_logs(tmp: Path, *, orders: int = 3000, seed: int = 7) -> tuple[Path, Path, set[str]]:
    """An app log and an access log of a checkout whose payment retries charged some twice.

    Every order: an attempt, one charge succeeded, a receipt sent (another shape, not a
    duplicate). Some are declined first, then charged (one effect). Some see a webhook
    replayed and ignored (not an effect). The double-charged: the charge timed out from the
    caller's side, it retried, and both charges succeeded with two payment ids.
    """
    rng = random.Random(seed)
    doubled = set(rng.sample([f"ORD-{n:05d}" for n in range(orders)], 137))
    app: list[tuple[datetime, str]] = []
    access: list[tuple[datetime, str]] = []

    def charge(at: datetime, order: str, amount: str) -> None:
        pay = f"pi_{rng.getrandbits(48):012x}"
        app.append(
            (at, f"INFO [payments] charge succeeded order_id={order} payment_id={pay} "
                 f"amount={amount} currency=EUR")
        )  # fmt: skip
        access.append((at, f'POST /api/orders/{order}/pay HTTP/1.1" 201'))

    for n in range(orders):
        order = f"ORD-{n:05d}"
        at = START + timedelta(seconds=n * 0.8 + rng.random())
        amount = f"{rng.randint(5, 400)}.{rng.randint(0, 99):02d}"
        app.append((at, f"INFO [payments] charge attempt order_id={order} amount={amount}"))
        access.append((at, f'GET /api/orders/{order} HTTP/1.1" 200'))
        if n % 11 == 0:
            app.append((at, f"WARN [payments] charge declined order_id={order} code=insufficient"))
            access.append((at, f'POST /api/orders/{order}/pay HTTP/1.1" 402'))
            at += timedelta(seconds=2)
        if order in doubled:
            charge(at, order, amount)
            app.append((at, f"WARN [checkout] payment call timed out order_id={order}, retrying"))
            access.append((at, f'POST /api/orders/{order}/pay HTTP/1.1" 504'))
            at += timedelta(seconds=3)
        charge(at, order, amount)
        if n % 7 == 0:
            app.append((at, f"INFO [webhooks] charge.succeeded already processed order_id={order}"))
        app.append((at + timedelta(seconds=1), f"INFO [mailer] receipt sent order_id={order}"))
    app_log, access_log = tmp / "payments.log", tmp / "access.log.gz"
    with app_log.open("w") as f:
        for at, text in sorted(app, key=lambda x: x[0]):
            f.write(f"{at:%Y-%m-%d %H:%M:%S},{at.microsecond // 1000:03d} {text}\n")
    with gzip.open(access_log, "wt") as f:
        for at, text in sorted(access, key=lambda x: x[0]):
            f.write(f'10.0.0.{rng.randint(1, 250)} - - [{at:%d/%b/%Y:%H:%M:%S +0000}] "{text} '
                    f'512 "-" "okhttp/4.12" 0.120\n')  # fmt: skip
    return app_log, access_log, doubled


@pytest.fixture(scope="module")
def storm(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, set[str]]:
    return payment_logs(tmp_path_factory.mktemp("storm"))


def test_double_charged_orders_are_found_exactly_in_the_app_log_and_the_access_log(
    storm: tuple[Path, Path, set[str]],
) -> None:
    app_log, access_log, doubled = storm
    found = find_duplicates([app_log, access_log])
    by_source = {(g["source"], g["rule"]): g for g in found.groups() if g["duplicated_keys"]}
    assert set(by_source) == {("app", "order_id"), ("access", "order_id")}
    app_group = by_source["app", "order_id"]
    assert app_group["duplicated_keys"] == 137 and app_group["extra_effects"] == 137
    assert app_group["action"] == (
        "INFO [payments] charge succeeded order_id=<key> payment_id=<key> amount=<*> currency=EUR"
    )
    assert by_source["access", "order_id"]["action"] == "POST /api/orders/<key>/pay"
    for source in ("app", "access"):
        keys = {d.key for d in found.duplicates if d.source == source}
        assert keys == doubled
    d = next(d for d in found.duplicates if d.source == "app")
    assert d.count == 2 and d.first is not None and d.last is not None and d.first < d.last
    assert d.examples[0].startswith("payments.log:") and "charge succeeded" in d.examples[0]
    with app_log.open() as a, gzip.open(access_log, "rt") as b:
        assert found.lines == sum(1 for _ in a) + sum(1 for _ in b)
    assert found.headline().startswith("137 order_id keys took effect more than once")


def test_the_refund_list_exports_as_csv_and_json(storm: tuple[Path, Path, set[str]]) -> None:
    app_log, _, doubled = storm
    found = find_duplicates([app_log])
    buf = io.StringIO()
    assert found.write_csv(buf) == 137
    rows = list(csv.DictReader(io.StringIO(buf.getvalue())))
    assert {r["key"] for r in rows} == doubled and {r["count"] for r in rows} == {"2"}
    data = found.to_dict(limit=5)
    assert data["total_duplicates"] == 137 and len(data["duplicates"]) == 5
    json.dumps(data)


def test_logs_duplicates_command_prints_counts_and_writes_the_export(
    storm: tuple[Path, Path, set[str]], tmp_path: Path
) -> None:
    app_log, access_log, doubled = storm
    out = tmp_path / "refunds.csv"
    result = runner.invoke(
        app, ["logs", "duplicates", str(app_log), str(access_log), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "137 order_id keys took effect more than once" in result.output
    assert "ORD-" in result.output
    keys = {r["key"] for r in csv.DictReader(out.open()) if r["source"] == "app"}
    assert keys == doubled
    result = runner.invoke(app, ["logs", "duplicates", str(app_log), "--format", "json"])
    assert json.loads(result.output)["total_duplicates"] == 137


def test_a_custom_key_rule_and_an_idempotency_key_in_json_access_lines(tmp_path: Path) -> None:
    log = tmp_path / "api.jsonl"
    lines = []
    for i, (key, status) in enumerate(
        [("k-aaaa01", 201), ("k-aaaa01", 201), ("k-bbbb02", 201), ("k-bbbb02", 409),
         ("k-cccc03", 201)]
    ):  # fmt: skip
        lines.append(
            json.dumps(
                {
                    "time": f"2026-11-20T12:00:0{i}Z",
                    "method": "POST",
                    "uri": f"/v1/transfers?idempotency_key={key}&invoice=inv-{40 + i % 2}",
                    "status": status,
                }
            )
        )
    log.write_text("\n".join(lines) + "\n")
    found = find_duplicates([log])
    assert [(d.rule, d.key, d.count) for d in found.duplicates] == [
        ("idempotency_key", "k-aaaa01", 2)
    ]
    rules = parse_rules([r"invoice=inv-(?P<key>\d+)"], defaults=False)
    assert rules == (KeyRule("invoice", r"inv-(?P<key>\d+)"),)
    found = find_duplicates([log], rules=rules)
    assert {d.key: d.count for d in found.duplicates} == {"40": 3}  # 41: once, then a 409


def test_bad_rules_are_refused_with_the_reason() -> None:
    with pytest.raises(InvalidInput, match="NAME=REGEX"):
        parse_rules(["no-equals-sign"])
    with pytest.raises(InvalidInput, match="group for the key"):
        find_duplicates([], rules=(KeyRule("x", r"order=\d+"),))
    with pytest.raises(InvalidInput, match="not a regular expression"):
        find_duplicates([], rules=(KeyRule("x", r"order=(\d+"),))


def test_shape_masks_the_key_and_every_token_holding_a_digit() -> None:
    text = "charge ok order_id=ORD-abc amount=12.50 user u-7 (retry 2)"
    start = text.index("ORD-abc")
    assert shape(text, [(start, start + 7)]) == (
        "charge ok order_id=<key> amount=<*> user <*> (retry <*>)"
    )


def test_the_triage_report_has_a_duplicate_effects_section_from_the_app_logs(
    storm: tuple[Path, Path, set[str]],
) -> None:
    app_log, access_log, doubled = storm
    report = triage([str(access_log)], app_logs=[app_log])
    assert report.duplicates is not None
    assert {d.key for d in report.duplicates.duplicates} == doubled
    data = report.to_dict()["duplicates"]
    assert data["total_duplicates"] == 137 and len(data["duplicates"]) == 50
    assert "### Duplicate effects\n- 137 order_id keys took effect more than once" in (
        render_markdown(report)
    )
    assert triage([str(access_log)]).to_dict()["duplicates"] is None  # no app log given
