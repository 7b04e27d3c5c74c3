"""Secrets are redacted before text is stored."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from warroom import incidents
from warroom.core import scrub
from warroom.core.config import load_settings
from warroom.core.db import Database
from warroom.core.errors import InvalidInput
from warroom.incidents import artifacts, timeline

MASK = scrub.MASK


def test_bearer_token_in_an_authorization_header() -> None:
    text, n = scrub.scrub_text("Authorization: Bearer abcDEF123456.xyz-_~+/=")
    assert text == f"Authorization: Bearer {MASK}"
    assert n == 1


def test_basic_credentials() -> None:
    assert scrub.scrub_text("Authorization: Basic dXNlcjpwYXNzd29yZA==") == (
        f"Authorization: Basic {MASK}",
        1,
    )


def test_jwt_anywhere_in_a_line() -> None:
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9P"
    text, n = scrub.scrub_text(f"cookie jwt={jwt}; path=/")
    assert jwt not in text and n == 1


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("GET /v1/pay?api_key=sk12345&q=shoes", f"GET /v1/pay?api_key={MASK}&q=shoes"),
        ("X-API-Key: 0123456789abcdef", f"X-API-Key: {MASK}"),
        ('{"password": "hunter2", "user": "ana"}', f'{{"password": "{MASK}", "user": "ana"}}'),
        ("client_secret=s3cr3t token=abc", f"client_secret={MASK} token={MASK}"),
        ("aws AKIAIOSFODNN7EXAMPLE key", f"aws {MASK} key"),
        ("slack xoxb-1234567890-abcdefghij", f"slack {MASK}"),
        ("gh ghp_" + "a" * 36, f"gh {MASK}"),
    ],
)
def test_api_keys_and_secret_assignments(line: str, expected: str) -> None:
    text, n = scrub.scrub_text(line)
    assert text == expected
    assert n == expected.count(MASK)


def test_password_in_a_url_keeps_user_and_host() -> None:
    text, n = scrub.scrub_text("connect postgresql://app:pa55:word@db.internal:5432/shop failed")
    assert text == f"connect postgresql://app:{MASK}@db.internal:5432/shop failed"
    assert n == 1


def test_urls_without_a_password_are_untouched() -> None:
    line = "GET https://shop.example/cart?id=7 via http://proxy:3128/"
    assert scrub.scrub_text(line) == (line, 0)


@pytest.mark.parametrize(
    "card", ["4111 1111 1111 1111", "5500-0000-0000-0004", "378282246310005", "4012888888881881"]
)
def test_card_numbers_that_pass_luhn_are_redacted(card: str) -> None:
    assert scrub.scrub_text(f"paid with {card} ok") == (f"paid with {MASK} ok", 1)


def test_sixteen_digit_order_id_failing_luhn_is_kept() -> None:
    line = "order 4111111111111112 shipped at 1732467890123"
    assert not scrub.luhn_ok("4111111111111112")
    assert scrub.scrub_text(line) == (line, 0)


def test_configured_patterns_from_warroom_toml(tmp_path: Path, monkeypatch: Any) -> None:
    config = tmp_path / "warroom.toml"
    config.write_text('[scrub]\npatterns = ["cust-[0-9]{6}", "sess=(?P<secret>[^;]+)"]\n')
    monkeypatch.setenv("WARROOM_CONFIG", str(config))
    settings = load_settings()  # what a shell does; the scrubber only receives the result
    text, n = scrub.scrub_text("user cust-123456 sess=zzz; path=/", settings=settings)
    assert text == f"user {MASK} sess={MASK}; path=/"
    assert n == 2
    assert scrub.scrub_text("user cust-123456") == ("user cust-123456", 0)  # built-ins only


def test_attach_scrubs_with_the_patterns_of_the_settings_it_is_given(
    db: Database, tmp_path: Path, clock: Any
) -> None:
    config = tmp_path / "warroom.toml"
    config.write_text('[scrub]\npatterns = ["cust-[0-9]{6}"]\n')
    key = incidents.declare(db, title="Orders leak ids", actor="ana").key
    art = artifacts.attach(
        db,
        key,
        actor="ana",
        kind="log_excerpt",
        name="orders.log",
        content=b"GET /orders?c=cust-123456 200\n",
        media_type="text/plain",
        settings=load_settings(config_path=config),
    )
    assert artifacts.content(db, art.sha256) == f"GET /orders?c={MASK} 200\n".encode()
    assert timeline.read(db, key)[-1].data["redacted"] == 1


def test_bad_configured_pattern_names_it() -> None:
    with pytest.raises(InvalidInput, match=r"pattern '\(unclosed'"):
        scrub.scrub_text("x", patterns=["(unclosed"])


def test_scrubbing_twice_changes_nothing_more() -> None:
    once, n = scrub.scrub_text("token=abc Authorization: Bearer abcdefghijk card 4111111111111111")
    assert n == 3
    assert scrub.scrub_text(once) == (once, 0)


def test_binary_content_is_left_alone() -> None:
    blob = b"\xff\xfe token=abc"
    assert scrub.scrub_bytes(blob) == (blob, 0)


def test_text_artifacts_are_stored_scrubbed_and_counted(db: Database, clock: Any) -> None:
    key = incidents.declare(db, title="Payments 500", actor="ana").key
    raw = b"10:01 POST /pay card=4111111111111111 Authorization: Bearer abcdefghijkl\n"
    art = artifacts.attach(
        db,
        key,
        actor="ana",
        kind="log_excerpt",
        name="pay.log",
        content=raw,
        media_type="text/plain; charset=utf-8",
    )
    stored = artifacts.content(db, art.sha256)
    assert b"4111111111111111" not in stored and b"abcdefghijkl" not in stored
    assert stored.count(MASK.encode()) == 2
    event = timeline.read(db, key)[-1]
    assert event.data["redacted"] == 2
    assert event.data["sha256"] == art.sha256


def test_binary_artifacts_are_stored_as_given(db: Database, clock: Any) -> None:
    key = incidents.declare(db, title="Core dump", actor="ana").key
    raw = b"\x7fELF password=hunter2"
    art = artifacts.attach(
        db,
        key,
        actor="ana",
        kind="evidence",
        name="core",
        content=raw,
        media_type="application/octet-stream",
    )
    assert artifacts.content(db, art.sha256) == raw
    assert "redacted" not in timeline.read(db, key)[-1].data


def test_json_stays_valid_json_when_a_secret_is_a_number() -> None:
    import json

    raw = json.dumps(
        {
            "token": 123456789,
            "card": 4111111111111111,
            "order": 4111111111111112,
            "samples": ["GET /x?api_key=abc123 200"],
            "count": 3,
        }
    ).encode()
    new, n = scrub.scrub_bytes(raw, media_type="application/json")
    doc = json.loads(new)
    assert n == 3
    assert doc == {
        "token": MASK,
        "card": MASK,
        "order": 4111111111111112,
        "samples": [f"GET /x?api_key={MASK} 200"],
        "count": 3,
    }


def test_json_scrubbed_as_text_keeps_its_bytes_when_still_valid() -> None:
    raw = b'{\n  "password": "hunter2",\n  "n": 1\n}'
    new, n = scrub.scrub_bytes(raw, media_type="application/json")
    assert new == raw.replace(b"hunter2", MASK.encode()) and n == 1
