"""Changes (deploys, config, migrations, flags, infra) and ranking them as suspects.

A change is a suspect when it landed shortly before the onset; the score multiplies how close
in time it is (halving about every half hour), how far its reach covers the affected routes
(it names the most affected one, some of them, or it is infrastructure in front of every
route: CDN, DNS, load balancer, edge proxy), and how often its kind breaks things::

    rank_suspects(changes, onset=onset, affected_routes=["/checkout"])
"""

from __future__ import annotations

import json
import math
import re
import subprocess
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from warroom.core.errors import InvalidInput
from warroom.core.limits import check_json_depth
from warroom.triage.lineparse import parse_timestamp

KINDS = ("deploy", "config", "migration", "flag", "infra")
KIND_WEIGHT = {"deploy": 1.0, "config": 0.9, "flag": 0.9, "migration": 0.9, "infra": 0.75}
LOOKBACK = timedelta(hours=3)
CLOCK_SKEW = timedelta(minutes=2)  # a change logged just after the onset may still be the cause
TIME_SCALE_MIN = 45.0
MIN_SCORE = 0.15
# infrastructure in front of every route: a change to it reaches all the affected routes
ALL_SCOPES = frozenset({"*", "all", "global", "everything", "all routes", "site-wide"})
WIDE_WORDS = frozenset(
    {
        "cdn",
        "dns",
        "edge",
        "proxy",
        "lb",
        "alb",
        "elb",
        "ingress",
        "gateway",
        "envoy",
        "nginx",
        "haproxy",
        "waf",
        "firewall",
        "mesh",
        "network",
        "tls",
        "certificate",
        "certificates",
    }
)
WIDE_PHRASES = ("load balancer", "load-balancer", "loadbalancer", "service mesh", "api gateway")
_GENERIC_TOKENS = frozenset(
    {
        "src",
        "api",
        "v1",
        "v2",
        "services",
        "service",
        "app",
        "lib",
        "py",
        "js",
        "ts",
        "go",
        "java",
        "sql",
        "db",
        "migrations",
        "id",
        "main",
        "index",
        "www",
        "static",
        "internal",
    }
)


@dataclass(frozen=True)
class Change:
    id: str
    at: datetime
    kind: str
    service: str = ""
    paths: tuple[str, ...] = ()
    description: str = ""
    author: str = ""
    source: str = "changes"
    scope: str = ""  # what an infra change covers: "cdn", "dns", "all", a host group...
    hosts: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at.isoformat(),
            "kind": self.kind,
            "service": self.service,
            "paths": list(self.paths),
            "description": self.description,
            "author": self.author,
            "source": self.source,
            "scope": self.scope,
            "hosts": list(self.hosts),
        }


@dataclass
class Suspect:
    change: Change
    score: float
    reason: str
    minutes_before_onset: float
    matched_routes: list[str] = field(default_factory=list)
    reach: str = "none"  # "top_route", "routes", "all_routes" (infrastructure), "unknown", "none"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.change.id,
            "score": self.score,
            "reason": self.reason,
            "minutes_before_onset": round(self.minutes_before_onset, 1),
            "matched_routes": self.matched_routes,
            "reach": self.reach,
            "change": self.change.to_dict(),
        }


def load_changes(path: str | Path) -> list[Change]:
    """Read a JSON-lines change list; a bad line is an error naming its number."""
    p = Path(path)
    if not p.exists():
        raise InvalidInput(f"changes file {p} does not exist: check the path", field="changes")
    try:
        text = p.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"{p} is not a text file (byte {exc.start} is not UTF-8): give the changes as JSON "
            "lines (id, at, kind, ...)",
            field="changes",
        ) from None
    except OSError as exc:
        raise InvalidInput(f"cannot read {p}: {exc.strerror or exc}", field="changes") from None
    out: list[Change] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        check_json_depth(line, field=f"{p}:{number}")  # before the parser recurses into it
        try:
            obj = json.loads(line)
        except ValueError as exc:
            raise InvalidInput(f"{p}:{number}: not JSON ({exc}): {line[:80]!r}") from None
        out.append(_change_from(obj, f"{p}:{number}"))
    return out


def _change_from(obj: Any, where: str) -> Change:
    if not isinstance(obj, dict):
        raise InvalidInput(f"{where}: a change must be a JSON object")
    missing = [k for k in ("id", "at", "kind") if not obj.get(k)]
    if missing:
        raise InvalidInput(f"{where}: change has no {', '.join(missing)} (needs id, at, kind)")
    kind = str(obj["kind"]).lower()
    if kind not in KINDS:
        raise InvalidInput(f"{where}: unknown kind {obj['kind']!r}: use one of {', '.join(KINDS)}")
    try:
        at = parse_timestamp(obj["at"])
    except ValueError:
        raise InvalidInput(f"{where}: unreadable time {obj['at']!r}: use ISO-8601") from None
    paths = obj.get("paths") or []
    if isinstance(paths, str):
        paths = [paths]
    hosts = obj.get("hosts") or []
    if isinstance(hosts, str):
        hosts = [hosts]
    return Change(
        id=str(obj["id"]),
        at=at,
        kind=kind,
        service=str(obj.get("service") or ""),
        paths=tuple(str(x) for x in paths),
        description=str(obj.get("description") or ""),
        author=str(obj.get("author") or ""),
        scope=str(obj.get("scope") or ""),
        hosts=tuple(str(x) for x in hosts),
    )


def git_changes(repo: str | Path, since: datetime, until: datetime) -> list[Change]:
    """Commits in [since, until] of a git repository, as deploy-kind changes."""
    path = Path(repo)
    if not (path / ".git").exists() and not path.joinpath("HEAD").exists():
        raise InvalidInput(f"{repo} is not a git repository: pass the repository root to --git")
    cmd = [
        "git",
        "-C",
        str(path),
        "log",
        "--no-merges",
        f"--since={since.isoformat()}",
        f"--until={until.isoformat()}",
        "--format=%x1e%H%x1f%cI%x1f%an%x1f%s",
        "--name-only",
    ]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=60)
    except FileNotFoundError:
        raise InvalidInput("git is not installed: install it or pass --changes instead") from None
    except subprocess.CalledProcessError as exc:
        raise InvalidInput(f"git log failed in {repo}: {exc.stderr.strip()[:200]}") from None
    out = []
    for record in done.stdout.split("\x1e"):
        if not record.strip():
            continue
        head, _, files = record.partition("\n")
        sha, at, author, subject = (head.split("\x1f") + ["", "", "", ""])[:4]
        out.append(
            Change(
                id=sha[:10],
                at=parse_timestamp(at),
                kind="deploy",
                service=path.resolve().name,
                paths=tuple(f for f in files.splitlines() if f.strip()),
                description=subject,
                author=author,
                source="git",
            )
        )
    return out


def _tokens(text: str) -> set[str]:
    return {t for t in re.split(r"[^a-z0-9]+", text.lower()) if len(t) > 1} - _GENERIC_TOKENS


def wide_scope(ch: Change) -> str | None:
    """The infrastructure word that puts an infra or config change in front of every route
    (`"cdn"`, `"dns"`, `"load balancer"`...), or None for a change with a narrower reach."""
    if ch.scope.strip().lower() in ALL_SCOPES:
        return ch.scope.strip().lower()
    if ch.kind not in ("infra", "config"):
        return None
    text = " ".join([ch.scope, ch.service, *ch.paths, *ch.hosts, ch.description]).lower()
    words = set(re.split(r"[^a-z0-9]+", text))
    for phrase in WIDE_PHRASES:
        if phrase in text:
            return phrase
    hit = sorted(words & WIDE_WORDS)
    return hit[0] if hit else None


def _reach(
    ch: Change, affected_routes: list[str], route_tokens: list[tuple[str, set[str]]]
) -> tuple[float, str, str, list[str]]:
    """How far a change reaches into the affected routes: (overlap, reach, why, routes)."""
    touched = _tokens(" ".join([ch.service, *ch.paths, ch.scope, *ch.hosts]))
    named = set(re.findall(r"/[a-z0-9][a-z0-9/_-]*", ch.description.lower()))
    touched |= _tokens(" ".join(named))
    matched = [r for r, toks in route_tokens if toks and toks & touched]
    if matched and matched[0] == affected_routes[0]:
        return 1.0, "top_route", f"touches {matched[0]}, the most affected route", matched
    wide = wide_scope(ch)
    if wide is not None and affected_routes:
        n = len(affected_routes)
        every = "the affected route" if n == 1 else f"all {n} affected routes"
        return (
            0.9,
            "all_routes",
            f"{wide} change in front of every route: reaches {every}",
            list(affected_routes),
        )
    if matched:
        return 0.7, "routes", f"touches {', '.join(matched[:3])}", matched
    if not touched:
        return 0.5, "unknown", "does not say what it touches", []
    return 0.35, "none", "touches none of the affected routes", []


def rank_suspects(
    changes: list[Change],
    *,
    onset: datetime,
    affected_routes: list[str],
    symptom: str = "error_rate",
    first_signal: str = "",
) -> list[Suspect]:
    """Changes that may have caused an incident starting at `onset`, best first.

    `affected_routes` is ordered by impact; the first one is the most affected.
    `first_signal` names what moved first at `onset` (for the reason, e.g. "p95 of /search").
    """
    out: list[Suspect] = []
    route_tokens = [(r, _tokens(r.replace("{id}", ""))) for r in affected_routes]
    for ch in changes:
        before = onset - ch.at
        if before < -CLOCK_SKEW or before > LOOKBACK:
            continue
        minutes = before.total_seconds() / 60
        closeness = math.exp(-max(minutes, 0.0) / TIME_SCALE_MIN)
        overlap, reach, where, matched = _reach(ch, affected_routes, route_tokens)
        weight = KIND_WEIGHT[ch.kind]
        if ch.kind == "migration" and symptom == "p95_ms":
            weight = 1.0  # migrations are the classic cause of sudden slowness
        score = round(closeness * overlap * weight, 3)
        if score < MIN_SCORE:
            continue
        onset_of = f"the onset ({first_signal} moved first)" if first_signal else "the onset"
        when = (
            f"{minutes:.0f} min before {onset_of}"
            if minutes >= 0
            else f"{-minutes:.0f} min after {onset_of} (within clock skew)"
        )
        reason = f"{ch.kind} {when}; {where}"
        out.append(Suspect(ch, score, reason, minutes, matched, reach))
    out.sort(key=lambda s: -s.score)
    return out
