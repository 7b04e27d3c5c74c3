"""Who is on call, computed without a database: handoffs across daylight-saving changes,
layers, restrictions, overrides, gaps, working hours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from warroom.core.errors import InvalidInput
from warroom.oncall.model import Override, Person, Urgency, parse_duration
from warroom.oncall.rotation import Schedule


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def daily(zone: str, handoff: str, members: list[str], **extra: object) -> Schedule:
    layer = {"name": "daily", "rotation": "daily", "handoff": handoff, "members": members}
    return Schedule.from_dict({"name": "l1", "timezone": zone, "layers": [{**layer, **extra}]})


def test_a_daily_handoff_keeps_its_local_time_when_summer_time_ends() -> None:
    # Berlin leaves summer time on 2026-10-25: 09:00 is 07:00 UTC before, 08:00 UTC after.
    s = daily("Europe/Berlin", "2026-10-20T09:00", ["ana", "bob"])
    assert s.who_at(utc(2026, 10, 24, 6, 59)).person == "bob"
    assert s.who_at(utc(2026, 10, 24, 7, 0)).person == "ana"  # 09:00 CEST
    # 07:30 UTC on the 25th is 08:30 in Berlin: still ana's shift (a 24 h UTC rotation
    # would have handed over to bob at 07:00 UTC)
    assert s.who_at(utc(2026, 10, 25, 7, 30)).person == "ana"
    assert s.who_at(utc(2026, 10, 25, 7, 59)).person == "ana"
    assert s.who_at(utc(2026, 10, 25, 8, 0)).person == "bob"  # 09:00 CET
    shifts = s.segments(utc(2026, 10, 24, 12), utc(2026, 10, 26, 12))
    assert [(g.person, g.start, g.end - g.start) for g in shifts[1:3]] == [
        ("bob", utc(2026, 10, 25, 8), timedelta(hours=24)),
        ("ana", utc(2026, 10, 26, 8), timedelta(hours=4)),  # cut at the end of the range
    ]
    assert shifts[0].end - utc(2026, 10, 24, 7) == timedelta(hours=25)  # ana's long shift


def test_a_daily_handoff_keeps_its_local_time_when_summer_time_starts() -> None:
    # New York springs forward on 2026-03-08: 09:00 is 14:00 UTC before, 13:00 UTC after.
    s = daily("America/New_York", "2026-03-01T09:00", ["ana", "bob", "carl"])
    before = s.who_at(utc(2026, 3, 7, 14, 0)).person
    assert s.who_at(utc(2026, 3, 8, 12, 59)).person == before
    after = s.who_at(utc(2026, 3, 8, 13, 0)).person  # 09:00 EDT
    assert after != before
    assert s.who_at(utc(2026, 3, 8, 13, 30)).person == after  # 24 h after would still be before
    [longest] = [
        g for g in s.segments(utc(2026, 3, 7, 15), utc(2026, 3, 8, 20)) if g.person == before
    ]
    assert longest.end == utc(2026, 3, 8, 13)  # a 23-hour shift


def test_a_handoff_inside_the_repeated_hour_happens_once() -> None:
    # 02:30 happens twice in Berlin on 2026-10-25; the handoff is the first one.
    s = daily("Europe/Berlin", "2026-10-23T02:30", ["ana", "bob"])
    assert s.who_at(utc(2026, 10, 25, 0, 29)).person == "bob"
    assert s.who_at(utc(2026, 10, 25, 0, 30)).person == "ana"  # 02:30 CEST
    assert s.who_at(utc(2026, 10, 25, 1, 30)).person == "ana"  # 02:30 CET: no second handoff
    assert s.who_at(utc(2026, 10, 26, 1, 30)).person == "bob"  # next day's 02:30 CET
    segs = s.segments(utc(2026, 10, 24, 1), utc(2026, 10, 27))
    assert (segs[1].start, segs[1].end - segs[1].start) == (
        utc(2026, 10, 25, 0, 30),
        timedelta(hours=25),
    )
    assert segs[2].start == utc(2026, 10, 26, 1, 30)


def test_a_weekly_rotation_across_the_change_hands_off_monday_nine_local() -> None:
    s = Schedule.from_dict(
        {
            "name": "l2",
            "timezone": "Europe/Lisbon",
            "layers": [
                {"rotation": "weekly", "handoff": "2026-10-19T09:00", "members": ["ana", "bob"]}
            ],
        }
    )
    assert s.who_at(utc(2026, 10, 26, 8, 59)).person == "ana"  # Monday 08:59 WET
    assert s.who_at(utc(2026, 10, 26, 9, 0)).person == "bob"  # Monday 09:00 WET


def test_custom_length_nights_layer_and_overrides_beat_the_base() -> None:
    base = {
        "name": "days",
        "rotation": "custom",
        "length": "12h",
        "handoff": "2026-11-23T08:00",
        "members": ["ana", "bob"],
    }
    nights = {
        "name": "nights",
        "rotation": "weekly",
        "handoff": "2026-11-23T00:00",
        "members": ["carl"],
        "restrict": [{"days": "mon-fri", "start": "20:00", "end": "06:00"}],
    }
    s = Schedule.from_dict({"name": "l1", "timezone": "UTC", "layers": [base, nights]})
    assert s.who_at(utc(2026, 11, 24, 9)).person == "ana"
    assert s.who_at(utc(2026, 11, 24, 21)).person == "carl"  # the nights layer wins
    assert s.who_at(utc(2026, 11, 24, 21)).source == "nights"
    assert s.who_at(utc(2026, 11, 28, 21)).person == "bob"  # Saturday: no nights layer
    covered = Schedule(
        s.name,
        s.timezone,
        s.layers,
        (
            Override(
                1, "dana", utc(2026, 11, 24, 18), utc(2026, 11, 25, 8), "I cover Tuesday night"
            ),
        ),
    )
    assert covered.who_at(utc(2026, 11, 24, 21)).person == "dana"
    assert covered.who_at(utc(2026, 11, 25, 8)).person != "dana"


def test_gaps_are_the_stretches_with_nobody() -> None:
    s = daily(
        "UTC",
        "2026-11-24T00:00",
        ["ana"],
        restrict=[{"days": "mon-fri", "start": "09:00", "end": "17:00"}],
    )
    gaps = s.gaps(utc(2026, 11, 24, 0), utc(2026, 11, 25, 0))
    assert [(g.start.hour, g.end.hour) for g in gaps] == [(0, 9), (17, 0)]
    assert s.who_at(utc(2026, 11, 23, 12)).person is None  # before the first handoff


def test_low_urgency_waits_for_working_hours_in_the_persons_zone() -> None:
    ana = Person.from_dict(
        {
            "name": "ana",
            "timezone": "Asia/Tokyo",
            "working_hours": {"days": "mon-fri", "start": "09:00", "end": "18:00"},
        }
    )
    friday_night = utc(2026, 11, 27, 14)  # 23:00 Friday in Tokyo
    assert ana.deliver_at(Urgency.HIGH, friday_night) == friday_night
    assert ana.deliver_at(Urgency.LOW, friday_night) == utc(2026, 11, 30, 0)  # Mon 09:00 JST
    monday_noon = utc(2026, 11, 30, 3)
    assert ana.deliver_at(Urgency.LOW, monday_noon) == monday_noon


@pytest.mark.parametrize("text", ["", "ten minutes", "5s", "0m", "400d", "1x"])
def test_bad_durations_are_refused_with_the_form_to_use(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_duration(text, where="policy p, level 1")


def test_a_handoff_with_an_offset_is_refused() -> None:
    with pytest.raises(InvalidInput, match="local time without an offset"):
        daily("Europe/Berlin", "2026-10-20T09:00+02:00", ["ana"])
