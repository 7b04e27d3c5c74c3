"""Helpers for the triage tests: the real Apache sample and small hand-written logs."""

from __future__ import annotations

from pathlib import Path

APACHE_LOGS = Path(__file__).resolve().parents[2] / "shared" / "data" / "accesslogs" / "apache_logs"


def apache_logs() -> Path:
    """The 10,000-line real Apache log, read in place; skip when the shared data is absent."""
    from conftest import need

    need(APACHE_LOGS.exists(), f"shared sample {APACHE_LOGS} is absent (../shared beside the repo)")
    return APACHE_LOGS


def combined(ts: str, path: str, status: int, rt: str | None = None, ua: str = "curl/8") -> str:
    """One combined-format line; `ts` like 20/Nov/2026:12:00:01."""
    line = f'10.0.0.1 - - [{ts} +0000] "GET {path} HTTP/1.1" {status} 512 "-" "{ua}"'
    return f"{line} {rt}" if rt is not None else line


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines))
    return path
