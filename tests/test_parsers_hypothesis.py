"""Property tests for the parsers that read what people and machines hand us.

- access-log lines (triage): a generated combined-format line parses back to its fields;
  any mixture of garbage and good lines is accounted for (parsed + skipped = read) and
  never raises;
- SLO YAML (slo.spec): any text, and any YAML built from SLO-like keys, either parses or is
  refused with InvalidInput naming the problem, never another exception; generated valid
  native SLOs parse to their values;
- alert payloads (detect.alerts): any Alertmanager-shaped body and any generic start time
  either parses or is refused with InvalidInput naming the field;
- runbook Markdown (runbooks): any text either parses or is refused with InvalidInput;
  every generated checklist item becomes a step, in order, under its section.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from warroom.contain import runbooks
from warroom.core.errors import InvalidInput
from warroom.detect import alerts
from warroom.detect.slo import spec as slo_spec
from warroom.triage import parse as log_parse

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- access-log lines ------------------------------------------------------------------------

times = st.datetimes(
    min_value=datetime(2001, 1, 1), max_value=datetime(2036, 12, 31), timezones=st.just(UTC)
).map(lambda t: t.replace(microsecond=0))
paths = st.from_regex(r"/[A-Za-z0-9_.\-/]{0,30}(\?[a-z]{1,5}=[0-9]{1,4})?", fullmatch=True)


@st.composite
def access_lines(draw: Any) -> tuple[str, dict[str, Any]]:
    fields = {
        "client": str(draw(st.ip_addresses(v=4))),
        "user": draw(st.one_of(st.none(), st.from_regex(r"[a-z][a-z0-9]{0,7}", fullmatch=True))),
        "ts": draw(times),
        "method": draw(st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"])),
        "path": draw(paths),
        "status": draw(st.integers(100, 599)),
        "latency_ms": draw(st.one_of(st.none(), st.integers(0, 120_000))),
    }
    latency = "" if fields["latency_ms"] is None else f" {fields['latency_ms'] / 1000:.3f}"
    line = (
        f"{fields['client']} - {fields['user'] or '-'} "
        f"[{fields['ts']:%d/%b/%Y:%H:%M:%S} +0000] "
        f'"{fields["method"]} {fields["path"]} HTTP/1.1" {fields["status"]} '
        f'{draw(st.integers(0, 10**7))} "-" "agent/{draw(st.integers(1, 9))}.0"{latency}'
    )
    return line, fields


SPEC = log_parse.FileSpec(label="fuzz.log", log_format="combined", time_unit="s")


@SETTINGS
@given(st.lists(access_lines(), min_size=1, max_size=15))
def test_generated_access_lines_parse_back_to_their_fields(
    items: list[tuple[str, dict[str, Any]]],
) -> None:
    block = ("\n".join(line for line, _ in items) + "\n").encode()
    frame, stats = log_parse.parse_block(SPEC, block, 1)
    assert (stats.read, stats.parsed, stats.skipped) == (len(items), len(items), 0)
    rows = frame.to_dicts()
    for row, (_, want) in zip(rows, [i for i in items], strict=True):
        assert row["ts"] == want["ts"]
        assert row["client"] == want["client"]
        assert row["user"] == want["user"]
        assert row["method"] == want["method"]
        assert row["path"] == want["path"]
        assert row["status"] == want["status"]
        if want["latency_ms"] is None:
            assert row["latency_ms"] is None
        else:
            assert abs(row["latency_ms"] - want["latency_ms"]) < 1e-6


garbage = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\x0b\x0c"),
    max_size=200,
)


@SETTINGS
@given(st.lists(st.one_of(garbage, access_lines().map(lambda x: x[0])), max_size=25))
def test_any_mixture_of_lines_is_accounted_for_and_never_raises(lines: list[str]) -> None:
    block = ("\n".join(lines) + "\n").encode()
    frame, stats = log_parse.parse_block(SPEC, block, 1)
    assert stats.parsed + stats.skipped == stats.read
    assert frame.height == stats.parsed
    assert stats.read <= len(lines)
    assert len(stats.samples) <= log_parse.MAX_SAMPLES


# --- SLO YAML --------------------------------------------------------------------------------

SLO_KEYS = [
    "slos", "defaults", "name", "kind", "objective", "window", "threshold", "match", "good",
    "bad", "alerts", "service", "route", "status", "apiVersion", "spec", "metadata",
    "objectives", "target", "indicator", "timeWindow", "duration", "prometheus",
]  # fmt: skip
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["99.9%", "28d", "800ms", "latency", "ratio", "5xx", "openslo/v1", "x"]),
    st.text(max_size=20),
)
yaml_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(SLO_KEYS), inner, max_size=5),
    ),
    max_leaves=20,
)


def _parse_slos_or_refuse(text: str) -> list[Any] | None:
    try:
        return slo_spec.parse_slos(text, source="fuzz.yaml")
    except InvalidInput as exc:
        assert exc.message.startswith("fuzz.yaml"), exc.message
        return None


@SETTINGS
@given(st.text(max_size=300))
def test_slo_parser_takes_any_text_without_crashing(text: str) -> None:
    _parse_slos_or_refuse(text)


@SETTINGS
@given(st.dictionaries(st.sampled_from(SLO_KEYS), yaml_values, max_size=5))
def test_slo_parser_takes_any_slo_shaped_yaml_without_crashing(doc: dict[str, Any]) -> None:
    _parse_slos_or_refuse(yaml.safe_dump(doc))


@SETTINGS
@given(
    st.lists(
        st.tuples(
            st.from_regex(r"[a-z][a-z0-9_.\-]{0,20}", fullmatch=True),
            st.integers(900, 9999),  # objective in tenths of basis points: 90.0 % .. 99.99 %
            st.integers(1, 90),
        ),
        min_size=1,
        max_size=5,
        unique_by=lambda t: t[0],
    )
)
def test_generated_native_slos_parse_to_their_values(items: list[tuple[str, int, int]]) -> None:
    doc = {
        "slos": [
            {"name": n, "objective": f"{o / 100:.2f}%", "window": f"{d}d"} for n, o, d in items
        ]
    }
    slos = slo_spec.parse_slos(yaml.safe_dump(doc), source="gen.yaml")
    assert [s.name for s in slos] == [n for n, _, _ in items]
    for s, (_, o, d) in zip(slos, items, strict=True):
        assert abs(s.objective - o / 10_000) < 1e-9
        assert s.window.days == d


# --- alert payloads ---------------------------------------------------------------------------

AM_KEYS = [
    "version", "groupKey", "status", "alerts", "labels", "annotations", "startsAt", "endsAt",
    "fingerprint", "commonLabels", "commonAnnotations", "externalURL",
]  # fmt: skip
times_or_junk = st.one_of(
    scalars,
    st.integers(-(10**30), 10**30),
    st.sampled_from(["2026-11-24T11:55:00.123456789Z", "0001-01-01T00:00:00Z", "2026-13-40"]),
)
am_alerts = st.lists(
    st.fixed_dictionaries(
        {"status": st.sampled_from(["firing", "resolved", "x"]), "startsAt": times_or_junk},
        optional={
            "endsAt": times_or_junk,
            "labels": st.one_of(st.dictionaries(st.text(max_size=5), scalars), scalars),
            "fingerprint": scalars,
        },
    ),
    max_size=4,
)


@SETTINGS
@given(
    st.fixed_dictionaries(
        {"groupKey": st.one_of(st.just("g"), scalars), "alerts": st.one_of(am_alerts, scalars)},
        optional={k: yaml_values for k in AM_KEYS if k not in ("groupKey", "alerts")},
    )
)
def test_alertmanager_parser_takes_any_payload_without_crashing(payload: dict[str, Any]) -> None:
    """Numbers, junk and times no calendar holds are refused naming the field, never a crash."""
    try:
        note = alerts.parse_alertmanager(payload)
    except InvalidInput as exc:
        assert exc.field, exc.message
        return
    assert all(a.starts_at.tzinfo is not None for a in note.alerts)


@SETTINGS
@given(times_or_junk)
def test_generic_start_times_are_read_or_refused_naming_the_field(value: Any) -> None:
    mapping = alerts.FieldMapping("probe", group_key="id", status="state", starts_at="at")
    try:
        note = alerts.parse_generic({"id": 1, "state": "down", "at": value}, mapping)
    except InvalidInput as exc:
        assert exc.field == "at", exc.message
        return
    assert note.alerts[0].starts_at.tzinfo is not None


# --- runbook Markdown ------------------------------------------------------------------------


@SETTINGS
@given(st.text(max_size=400))
def test_runbook_parser_takes_any_text_without_crashing(text: str) -> None:
    try:
        book = runbooks.parse(text, name="fuzz")
    except InvalidInput:
        return
    assert book.steps and [s.number for s in book.steps] == list(range(1, len(book.steps) + 1))


step_text = st.from_regex(r"[A-Za-z][A-Za-z0-9 ,.'()-]{0,40}[A-Za-z0-9.]", fullmatch=True)


@SETTINGS
@given(
    st.lists(
        st.tuples(
            st.from_regex(r"[A-Z][a-z]{1,12}", fullmatch=True),
            st.lists(step_text, min_size=1, max_size=4),
        ),
        min_size=1,
        max_size=4,
    ),
    st.text(alphabet="abc def", min_size=1, max_size=20).filter(lambda t: t.strip() != ""),
)
def test_every_checklist_item_becomes_a_step_in_order(
    sections: list[tuple[str, list[str]]], title: str
) -> None:
    lines = ["---", f"title: {title.strip()!r}", "keywords: [fuzz]", "---", "Intro line."]
    for heading, items in sections:
        lines.append(f"## {heading}")
        lines += [f"- [ ] {item}" for item in items]
    book = runbooks.parse("\n".join(lines) + "\n", name="gen")
    want = [(heading, item.strip()) for heading, items in sections for item in items]
    assert [(s.section, s.text) for s in book.steps] == want
    assert all(s.kind == "manual" for s in book.steps)
    assert book.title == title.strip()
    assert book.keywords == ("fuzz",)
