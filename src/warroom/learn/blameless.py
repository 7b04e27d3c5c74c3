"""Blameless-language check: flag sentences that blame a person, suggest system wording.

    >>> [f.phrase for f in check("Bob was careless with the deploy.")]
    ['careless']

It warns and never blocks: the result is advice shown next to the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

# Blame phrase -> a system-focused rewording to suggest. Order matters: longer first.
_SUGGESTIONS: dict[str, str] = {
    "should have known": (
        "Say what information was missing or hard to find at the time, e.g. 'the runbook did "
        "not mention X, so the on-call could not know it'."
    ),
    "should have": (
        "Describe the guard that was missing, e.g. 'nothing in the pipeline checked X before "
        "the change reached production'."
    ),
    "human error": (
        "Ask what made the wrong action easy, e.g. 'the console allowed X on production "
        "without a confirmation'."
    ),
    "not paying attention": (
        "Describe the signal that was easy to miss, e.g. 'the alert looked like the usual "
        "noise and had no runbook link'."
    ),
    "fault": (
        "Name the condition, not the person, e.g. 'the change reached production without a "
        "review gate'."
    ),
    "blame": "Describe what the system allowed, not who is to blame.",
    "careless": (
        "Describe what the system allowed, e.g. 'the deploy tool let X run without a check'."
    ),
    "negligent": "Describe the missing safeguard instead of judging a person's care.",
    "sloppy": "Describe the missing check or review step instead of judging the work.",
    "lazy": "Describe the missing automation or time pressure instead of judging effort.",
    "incompetent": "Describe the knowledge gap and how the system could have filled it.",
    "forgot": (
        "Say the step was manual and nothing reminded us, e.g. 'the step is not in the "
        "checklist and is not automated'."
    ),
    "failed to": (
        "Say which step the process did not enforce, e.g. 'the release process has no check for X'."
    ),
    "mistake": ("Ask what guard would have caught it, e.g. 'the config change had no validation'."),
    "messed up": "Describe what happened to the system, not who did it.",
    "screwed up": "Describe what happened to the system, not who did it.",
    "caused by": (
        "Attribute the cause to the change or the condition, e.g. 'caused by the migration "
        "that ran without a lock timeout'."
    ),
}

_PHRASE_RE = re.compile(
    r"\b(" + "|".join(re.escape(p) for p in _SUGGESTIONS) + r")\b", re.IGNORECASE
)
# Uses of "fault" that are not blame.
_NOT_BLAME = re.compile(
    r"\bfault[- ](?:toleran\w*|injection|domain|line|isolation)|\bno one'?s fault|\bno fault",
    re.IGNORECASE,
)
_PRONOUNS = {"he", "she", "him", "her", "his", "hers", "himself", "herself"}
_PERSON_NOUNS = re.compile(
    r"\b(?:the|an?|our|that|this) (?:engineer|developer|dev|intern|operator|admin|"
    r"administrator|on-?call(?: engineer)?|sre|dba|new hire|contractor|reviewer|person)\b"
    r"|\bsomeone\b|\bsomebody\b|@[\w.-]+",
    re.IGNORECASE,
)
# Capitalised words that are not names of people.
_NOT_NAMES = {
    "the",
    "a",
    "an",
    "we",
    "our",
    "it",
    "its",
    "this",
    "that",
    "these",
    "those",
    "there",
    "they",
    "when",
    "while",
    "after",
    "before",
    "during",
    "because",
    "if",
    "then",
    "so",
    "but",
    "and",
    "or",
    "no",
    "not",
    "nobody",
    "i",
    "my",
    "us",
    "what",
    "which",
    "who",
    "why",
    "how",
    "where",
    "in",
    "on",
    "at",
    "to",
    "from",
    "by",
    "for",
    "with",
    "of",
    "as",
    "is",
    "was",
    "were",
    "be",
    "been",
    "all",
    "some",
    "any",
    "each",
    "every",
    "one",
    "also",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "utc",
    "api",
    "db",
    "sql",
    "http",
    "https",
    "dns",
    "cpu",
    "ram",
    "ci",
    "cd",
    "qa",
    "sre",
    "postgres",
    "postgresql",
    "mysql",
    "redis",
    "kafka",
    "kubernetes",
    "k8s",
    "aws",
    "gcp",
    "azure",
    "linux",
    "nginx",
    "jira",
    "github",
    "slack",
    "prometheus",
    "grafana",
    "alertmanager",
    "production",
    "staging",
    "root",
    "cause",
    "contributing",
    "lesson",
    "lessons",
    "impact",
    "timeline",
    "summary",
    "action",
    "actions",
    "note",
    "p0",
    "p1",
    "p2",
    "p3",
    "p4",
    "inc",
    "rollback",
    "deploy",
    "release",
    "service",
    "team",
    "ops",
}
_SENTENCE_RE = re.compile(r"[^.!?\n]+(?:[.!?]+|$)", re.MULTILINE)
_NAME_RE = re.compile(r"\b[A-Z][a-z]+(?:-[A-Z][a-z]+)?\b")
_WORD_RE = re.compile(r"[A-Za-z@][\w'.-]*")


@dataclass(frozen=True)
class Finding:
    """One sentence that reads as blaming a person."""

    sentence: str
    phrase: str
    person: str
    suggestion: str
    offset: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "sentence": self.sentence,
            "phrase": self.phrase,
            "person": self.person,
            "suggestion": self.suggestion,
            "offset": self.offset,
        }


# Phrases that systems also "do" ("the job failed to start"): a capitalised first word is
# not taken as a name for these, only names inside the sentence, pronouns and people nouns.
_WEAK = {"failed to", "should have", "caused by"}


def _person_in(sentence: str, people: set[str], *, initial_names: bool) -> str | None:
    """The first reference to a person in a sentence, or None."""
    lowered = sentence.lower()
    for name in people:
        if re.search(rf"\b{re.escape(name.lower())}\b", lowered):
            return name
    m = _PERSON_NOUNS.search(sentence)
    if m:
        return m.group(0)
    for word in _WORD_RE.findall(sentence):
        if word.lower() in _PRONOUNS:
            return word
    for m in _NAME_RE.finditer(sentence):
        if m.start() == 0 and not initial_names:
            continue
        if m.group(0).lower() not in _NOT_NAMES:
            return m.group(0)
    return None


def check(text: str, *, people: list[str] | tuple[str, ...] = ()) -> list[Finding]:
    """Sentences where a blame phrase stands next to a person (a name, pronoun, "the
    engineer", an @handle, or one of `people`), each with a system-focused suggestion."""
    known = {p.strip() for p in people if p and p.strip()}
    findings: list[Finding] = []
    for m in _SENTENCE_RE.finditer(text or ""):
        sentence = m.group(0).strip()
        if not sentence:
            continue
        cleaned = _NOT_BLAME.sub(" ", sentence)
        phrase_m = _PHRASE_RE.search(cleaned)
        if phrase_m is None:
            continue
        phrase = phrase_m.group(1).lower()
        rest = cleaned[: phrase_m.start()] + " " + cleaned[phrase_m.end() :]
        person = _person_in(rest, known, initial_names=phrase not in _WEAK)
        if person is None:
            continue
        findings.append(
            Finding(
                sentence=sentence,
                phrase=phrase,
                person=person,
                suggestion=_SUGGESTIONS[phrase],
                offset=m.start() + (len(m.group(0)) - len(m.group(0).lstrip())),
            )
        )
    return findings


def check_sections(
    sections: dict[str, str], *, people: list[str] | tuple[str, ...] = ()
) -> dict[str, list[Finding]]:
    """`check` over each named section; sections without findings are left out."""
    out: dict[str, list[Finding]] = {}
    for name, text in sections.items():
        found = check(text, people=people)
        if found:
            out[name] = found
    return out
