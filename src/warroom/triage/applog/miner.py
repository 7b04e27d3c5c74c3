"""Group app-log events into templates: a Drain-like search over masked tokens.

Events with the same masked tokens share a template at once (one dictionary look-up).
Others are compared with the templates of the same length and first token; the most
similar one at or above `threshold` takes the event, its differing tokens becoming `<*>`;
otherwise the event starts a template. Template ids never change, so counts, first and
last times accumulate in one pass without keeping the lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from warroom.triage.applog.mask import VAR

THRESHOLD = 0.5
EXACT_LIMIT = 200_000  # masked shapes remembered for the exact look-up (memory stays bounded)


@dataclass
class Cluster:
    id: int
    tokens: list[str]
    count: int = 0
    first: datetime | None = None
    last: datetime | None = None
    example: str = ""

    @property
    def template(self) -> str:
        return " ".join(self.tokens)

    def seen(self, ts: datetime | None, raw: str) -> None:
        self.count += 1
        if not self.example:
            self.example = raw
        if ts is not None:
            if self.first is None or ts < self.first:
                self.first = ts
            if self.last is None or ts > self.last:
                self.last = ts


class Miner:
    def __init__(self, threshold: float = THRESHOLD) -> None:
        self.threshold = threshold
        self.clusters: list[Cluster] = []
        self._exact: dict[tuple[str, ...], Cluster] = {}
        self._groups: dict[tuple[int, str], list[Cluster]] = {}

    def add(self, tokens: list[str]) -> Cluster:
        """The template of an event's masked tokens (created or widened as needed)."""
        key = tuple(tokens)
        found = self._exact.get(key)
        if found is not None:
            return found
        n = len(tokens)
        first = tokens[0] if tokens and VAR not in tokens[0] else VAR
        group = self._groups.setdefault((n, first), [])
        best, best_score = None, -1.0
        for c in group:
            score = _similarity(c.tokens, tokens)
            if score > best_score:
                best, best_score = c, score
        if best is not None and n and best_score >= self.threshold:
            best.tokens = [a if a == b else VAR for a, b in zip(best.tokens, tokens, strict=True)]
        else:
            best = Cluster(len(self.clusters) + 1, list(tokens))
            self.clusters.append(best)
            group.append(best)
        if len(self._exact) >= EXACT_LIMIT:
            self._exact.clear()  # only a shortcut: the search finds a template again
        self._exact[key] = best
        return best


def _similarity(template: list[str], tokens: list[str]) -> float:
    """Share of the template's constant tokens the event repeats; a variable counts half."""
    same = 0.0
    for a, b in zip(template, tokens, strict=True):
        if a == b:
            same += 0.5 if a == VAR else 1.0
        elif a == VAR:
            same += 0.5
    return same / len(template)
