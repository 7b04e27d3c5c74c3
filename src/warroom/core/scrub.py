"""Redact secrets from text before it is stored (log excerpts, triage samples, artifacts).

    text, count = scrub_text("GET /?api_key=abc123 Authorization: Bearer eyJhbGc...")
    # -> "GET /?api_key=[REDACTED] Authorization: Bearer [REDACTED]", 2

What is found: bearer and basic credentials, `key=value` pairs whose key names a secret
(api_key, token, password, secret, ...), passwords in URLs (`scheme://user:PASS@host`),
well-known token formats (AWS access keys, GitHub/Slack/Stripe tokens, JWTs, private key
blocks) and card numbers that pass the Luhn check (so a 16-digit order id that fails it is
kept). Extra regular expressions come from warroom.toml, passed in as `Settings`::

    [scrub]
    patterns = ["cust-[0-9]{8}", "session=(?P<secret>[^;]+)"]

A pattern with a group named `secret` redacts only that group; otherwise the whole match.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from warroom.core.config import Settings
from warroom.core.errors import InvalidInput

MASK = "[REDACTED]"

# Key names whose value is a secret in `key=value`, `key: value` and JSON `"key": "value"`.
_SECRET_KEYS = (
    r"api[_-]?key|apikey|x-api-key|access[_-]?key(?:[_-]?id)?|secret[_-]?access[_-]?key|"
    r"access[_-]?token|refresh[_-]?token|id[_-]?token|auth[_-]?token|token|"
    r"client[_-]?secret|secret|password|passwd|pwd|passphrase|private[_-]?key|"
    r"session[_-]?id|sessionid|signature|sig"
)

_KEY_VALUE = re.compile(
    r"(?P<pre>(?<![A-Za-z0-9])[\"']?(?:" + _SECRET_KEYS + r")[\"']?\s*(?:=|:)\s*[\"']?)"
    r"(?P<secret>(?!\[REDACTED\])[^\s\"'&,;<>)\]}]+)",
    re.IGNORECASE,
)
_BEARER = re.compile(
    r"(?P<pre>\b(?:bearer|token)\s+)(?P<secret>(?!\[REDACTED\])[A-Za-z0-9\-._~+/]{8,}=*)",
    re.IGNORECASE,
)
_BASIC = re.compile(r"(?P<pre>\bbasic\s+)(?P<secret>[A-Za-z0-9+/]{8,}=*)", re.IGNORECASE)
_URL_PASSWORD = re.compile(
    r"(?P<pre>\b[a-z][a-z0-9+.\-]*://[^\s:/@]+:)(?P<secret>(?!\[REDACTED\])[^\s@/]+)(?=@)",
    re.IGNORECASE,
)
_KNOWN_TOKENS = re.compile(
    r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"  # AWS access key ids
    r"|\bgh[pousr]_[A-Za-z0-9]{36,}\b"  # GitHub tokens
    r"|\bgithub_pat_[A-Za-z0-9_]{22,}\b"
    r"|\bxox[abposr]-[A-Za-z0-9-]{10,}\b"  # Slack tokens
    r"|\b[sr]k_(?:live|test)_[A-Za-z0-9]{16,}\b"  # Stripe keys
    r"|\bglpat-[A-Za-z0-9_-]{20,}\b"  # GitLab tokens
    r"|\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}"  # JWTs
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----"
)
# 13-19 digits, optionally grouped by spaces or dashes, starting like a card issuer does
# (2-6: Mastercard, Amex, Visa, Discover...) so millisecond timestamps (1...) are left alone.
_CARD = re.compile(r"(?<![\d.\-])[2-6](?:[ -]?\d){12,18}(?![\d])")

TEXT_MEDIA_TYPES = (
    "application/json",
    "application/x-ndjson",
    "application/ndjson",
    "application/jsonl",
    "application/xml",
    "application/yaml",
    "application/x-yaml",
    "application/toml",
    "application/javascript",
)


def luhn_ok(digits: str) -> bool:
    """The Luhn checksum every payment card number satisfies."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


@dataclass(frozen=True)
class Scrubber:
    """A compiled set of extra patterns on top of the built-in ones."""

    extra: tuple[re.Pattern[str], ...] = ()

    def scrub(self, text: str) -> tuple[str, int]:
        """`text` with every secret replaced by [REDACTED], and how many were replaced."""
        count = 0

        def masked(m: re.Match[str]) -> str:
            nonlocal count
            count += 1
            groups = m.groupdict()
            if groups.get("secret") is not None:
                start, end = m.span("secret")
                s0 = m.start()
                whole = m.group(0)
                return whole[: start - s0] + MASK + whole[end - s0 :]
            return MASK

        def card(m: re.Match[str]) -> str:
            nonlocal count
            digits = re.sub(r"[ -]", "", m.group(0))
            if not 13 <= len(digits) <= 19 or not luhn_ok(digits):
                return m.group(0)
            count += 1
            return MASK

        steps: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
            (_KNOWN_TOKENS, masked),
            (_URL_PASSWORD, masked),
            (_BEARER, masked),
            (_BASIC, masked),
            (_KEY_VALUE, masked),
            (_CARD, card),
        ]
        steps += [(p, masked) for p in self.extra]
        for pattern, repl in steps:
            text = pattern.sub(repl, text)
        return text, count


def compile_patterns(patterns: Iterable[str]) -> tuple[re.Pattern[str], ...]:
    """Compile configured patterns, refusing bad ones with the offending text."""
    out: list[re.Pattern[str]] = []
    for text in patterns:
        if not isinstance(text, str) or not text:
            raise InvalidInput(
                f"[scrub] patterns must be non-empty strings, got {text!r}", field="scrub"
            )
        try:
            out.append(re.compile(text))
        except re.error as exc:
            raise InvalidInput(
                f"[scrub] pattern {text!r} is not a valid regular expression: {exc}",
                field="scrub",
            ) from None
    return tuple(out)


_cache: dict[tuple[str, ...], Scrubber] = {}


def configured(settings: Settings | None = None) -> Scrubber:
    """The scrubber with the extra patterns of `settings` (warroom.toml `[scrub]`); the
    built-in patterns only when None. Compiled once per list of patterns."""
    section = (settings or Settings()).section("scrub")
    patterns = section.get("patterns", [])
    if not isinstance(patterns, list):
        raise InvalidInput("[scrub] patterns must be a list of strings", field="scrub")
    key = tuple(str(p) for p in patterns)
    cached = _cache.get(key)
    if cached is None:
        cached = Scrubber(compile_patterns(patterns))
        _cache.clear()
        _cache[key] = cached
    return cached


def scrub_text(
    text: str, *, patterns: Iterable[str] | None = None, settings: Settings | None = None
) -> tuple[str, int]:
    """Redact secrets in `text`; returns the new text and the number of secrets redacted.

    The extra patterns are `settings`' `[scrub]` ones, or `patterns` when given (tests,
    callers with their own list).
    """
    scrubber = configured(settings) if patterns is None else Scrubber(compile_patterns(patterns))
    return scrubber.scrub(text)


def is_text_media(media_type: str) -> bool:
    """Whether a media type holds text we can scrub (text/*, JSON, YAML, XML, ...)."""
    mt = media_type.split(";", 1)[0].strip().lower()
    return mt.startswith("text/") or mt in TEXT_MEDIA_TYPES or mt.endswith(("+json", "+xml"))


def is_json_media(media_type: str) -> bool:
    mt = media_type.split(";", 1)[0].strip().lower()
    return mt == "application/json" or mt.endswith("+json")


_SECRET_KEY = re.compile(r"(?:" + _SECRET_KEYS + r")", re.IGNORECASE)


def scrub_json(value: Any, scrubber: Scrubber | None = None) -> tuple[Any, int]:
    """Redact secrets inside decoded JSON: string values, values of secret-named keys, and
    card numbers written as JSON numbers. The result is still JSON."""
    scrubber = scrubber or configured()
    if isinstance(value, str):
        return scrubber.scrub(value)
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return value, 0
    if isinstance(value, int):
        digits = str(abs(value))
        if 13 <= len(digits) <= 19 and digits[0] in "23456" and luhn_ok(digits):
            return MASK, 1
        return value, 0
    total = 0
    if isinstance(value, list):
        out_list = []
        for item in value:
            new, n = scrub_json(item, scrubber)
            out_list.append(new)
            total += n
        return out_list, total
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if (
                isinstance(item, str | int | float)
                and not isinstance(item, bool)
                and item != MASK
                and _SECRET_KEY.fullmatch(str(key))
            ):
                out[key], n = MASK, 1
            else:
                out[key], n = scrub_json(item, scrubber)
            total += n
        return out, total
    return value, 0


def scrub_bytes(
    content: bytes,
    *,
    media_type: str = "text/plain",
    encoding: str = "utf-8",
    settings: Settings | None = None,
) -> tuple[bytes, int]:
    """Redact secrets in UTF-8 bytes; bytes that are not valid text are returned unchanged.

    JSON stays valid JSON: when redacting as text would break it (a secret written as a
    number), the document is scrubbed value by value and written out again. `settings`: whose
    `[scrub]` patterns to add (the built-in ones only when None).
    """
    try:
        text = content.decode(encoding)
    except UnicodeDecodeError:
        return content, 0
    scrubber = configured(settings)
    new, count = scrubber.scrub(text)
    if count == 0:
        return content, 0
    if is_json_media(media_type):
        try:
            original = json.loads(text)
        except ValueError:
            return new.encode(encoding), count  # was not JSON to begin with
        try:
            json.loads(new)
        except ValueError:
            doc, count = scrub_json(original, scrubber)
            return json.dumps(doc, ensure_ascii=False).encode(encoding), count
    return new.encode(encoding), count


# Keys whose values are machine-made (hashes, fingerprints, ids): never scrubbed, so a hex
# digest that happens to hold a Luhn-valid run of digits stays the digest it is.
_MACHINE_KEY = re.compile(r"(?:^|_)(?:sha256|hash|digest|fingerprint|id)$", re.IGNORECASE)


def scrub_data(value: Any, scrubber: Scrubber | None = None, *, key: str = "") -> tuple[Any, int]:
    """Redact secrets in the text values of JSON-like data (a timeline event's, a row's),
    key by key; machine-made values (`*_id`, `sha256`, `fingerprint`, ...) are left alone.
    Returns the new data and how many secrets were redacted."""
    scrubber = scrubber or configured()
    if isinstance(value, str):
        return (value, 0) if _MACHINE_KEY.search(key) else scrubber.scrub(value)
    total = 0
    if isinstance(value, list):
        items = []
        for item in value:
            new, n = scrub_data(item, scrubber, key=key)
            items.append(new)
            total += n
        return items, total
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, item in value.items():
            out[k], n = scrub_data(item, scrubber, key=str(k))
            total += n
        return out, total
    return value, 0


def looks_like_text(content: bytes, *, sample: int = 8192) -> bool:
    """Whether bytes are text by their content (whatever the file's name or declared type):
    valid UTF-8 (or UTF-16 with a BOM) without NUL bytes or other control characters
    beyond tab, newline, carriage return and form feed in the first `sample` bytes."""
    head = content[:sample]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    if b"\x00" in head:
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the sample's end
            return False
        text = head[: exc.start].decode("utf-8")
    controls = sum(1 for ch in text if (ord(ch) < 32 or ch == "\x7f") and ch not in "\t\n\r\f\x1b")
    return controls <= len(text) // 100
