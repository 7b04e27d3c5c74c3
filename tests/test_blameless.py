"""The blameless-language check: flags a person next to blame, suggests system wording."""

from __future__ import annotations

import pytest

from warroom.learn.blameless import check, check_sections


@pytest.mark.parametrize(
    ("text", "phrase", "person"),
    [
        ("Bob was careless with the deploy.", "careless", "Bob"),
        ("It was Alice's fault that the cache expired.", "fault", "Alice"),
        (
            "The on-call engineer should have known the queue was full.",
            "should have known",
            "The on-call engineer",
        ),
        ("Dave forgot to run the migration.", "forgot", "Dave"),
        ("He made a mistake in the config.", "mistake", "He"),
        ("The outage was caused by Priya's change.", "caused by", "Priya"),
        ("@sam should have checked the dashboard.", "should have", "@sam"),
    ],
)
def test_blaming_sentences_are_flagged_with_a_suggestion(text, phrase, person):
    found = check(text)
    assert len(found) == 1
    assert found[0].phrase == phrase
    assert found[0].person == person
    assert found[0].sentence == text
    assert found[0].suggestion


@pytest.mark.parametrize(
    "text",
    [
        "The job failed to start because the disk was full.",
        "Checkout failed to load for 12 minutes.",
        "The service is fault-tolerant across zones.",
        "Retries caused by the short timeout piled up on the database.",
        "The runbook did not mention the pool limit, so nobody could know it.",
        "It was no one's fault.",
    ],
)
def test_system_focused_sentences_are_not_flagged(text):
    assert check(text) == []


def test_known_people_are_found_even_in_lower_case_and_offsets_point_at_the_sentence():
    text = "The deploy went out at noon. then kim forgot the flag."
    found = check(text, people=["kim"])
    assert [(f.person, f.phrase) for f in found] == [("kim", "forgot")]
    assert text[found[0].offset :].startswith("then kim forgot")


def test_sections_without_findings_are_left_out():
    out = check_sections({"summary": "The cache expired.", "lessons": "Joe was sloppy."})
    assert list(out) == ["lessons"]
