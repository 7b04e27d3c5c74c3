"""Mask the variable parts of a message: numbers, hex, UUIDs, IPs and IP:port, paths, URLs,
durations with units, key=value values and quoted strings become `<*>`.

Masking works token by token with a cache (real logs repeat their tokens), so a line costs
a split and a few dictionary look-ups. JSON and logfmt lines are reduced to their message
and the names of their other keys first (`structured`).
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from warroom.triage.lineparse import parse_timestamp

VAR = "<*>"
_DIGIT = re.compile(r"\d")
_QUOTED = re.compile(r'"[^"]{0,200}"')
_KEY_VALUE = re.compile(r"^([A-Za-z_][\w.-]{0,40})(=)(.+)$")
_WRAP = re.compile(r"^([(\[{<\"'`]*)(.*?)([)\]}>\"'`,;:.!?]*)$")
_HEX = re.compile(r"^(?:0x)?[0-9a-fA-F]{8,}$")
_CACHE_LIMIT = 200_000

_TIME_KEYS = ("time", "ts", "timestamp", "@timestamp", "t", "datetime", "date")
_MESSAGE_KEYS = ("msg", "message", "event", "log", "@message")
_LEVEL_KEYS = ("level", "lvl", "severity", "levelname", "log.level")
_LOGFMT = re.compile(r'([\w.@-]+)=("(?:[^"\\]|\\.)*"|\S*)')


class Masker:
    def __init__(self) -> None:
        self._cache: dict[str, str] = {}

    def tokens(self, message: str) -> list[str]:
        """The masked tokens of a message."""
        if '"' in message:
            message = _QUOTED.sub('"<*>"', message)
        cache = self._cache
        out = []
        for tok in message.split():
            masked = cache.get(tok)
            if masked is None:
                if len(cache) > _CACHE_LIMIT:
                    cache.clear()
                masked = cache[tok] = _mask(tok)
            out.append(masked)
        return out


def _mask(tok: str) -> str:
    kv = _KEY_VALUE.match(tok)
    if kv and kv[2] == "=":
        return f"{kv[1]}={VAR}"
    m = _WRAP.match(tok)
    assert m is not None  # the pattern matches any string
    core = m[2]
    if core and _variable(core):
        return f"{m[1]}{VAR}{m[3]}"
    return tok


def _variable(core: str) -> bool:
    return bool(
        _DIGIT.search(core)
        or (core.startswith("/") and len(core) > 1)
        or "://" in core
        or (len(core) >= 8 and _HEX.match(core))
        or core == VAR
    )


def structured(line: str) -> tuple[datetime | None, str] | None:
    """(time, message) of a JSON or logfmt line, None for other lines. The message keeps
    the names of the other fields, so events with different fields stay apart."""
    if line.startswith("{"):
        try:
            obj = json.loads(line)
        except ValueError:
            return None
        return _fields(obj) if isinstance(obj, dict) else None
    if "=" in line and (" msg=" in line or line.startswith(("time=", "ts=", "level="))):
        pairs = {k: v[1:-1] if v.startswith('"') else v for k, v in _LOGFMT.findall(line)}
        return _fields(pairs) if pairs else None
    return None


def _fields(obj: dict[str, Any]) -> tuple[datetime | None, str]:
    ts = None
    for key in _TIME_KEYS:
        if key in obj:
            try:
                ts = parse_timestamp(obj[key])
            except (ValueError, TypeError, OverflowError, OSError):
                ts = None
            break
    message = next((str(obj[k]) for k in _MESSAGE_KEYS if k in obj), "")
    skip = {*_TIME_KEYS, *_MESSAGE_KEYS, *_LEVEL_KEYS}
    rest = " ".join(f"{k}={VAR}" for k in obj if k not in skip)
    return ts, f"{message} {rest}".strip()
