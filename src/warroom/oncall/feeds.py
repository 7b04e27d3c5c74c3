"""iCalendar feeds (RFC 5545, written with `icalendar`): a schedule's shifts and gaps, and a
person's shifts on every schedule, from a week back to eight weeks ahead.

    schedule_feed(get_schedule(db, "payments-l1"), now=utcnow())   # bytes, text/calendar
    person_feed("ana", list_schedules(db), now=utcnow())

Event UIDs are stable (schedule, person, start), so a calendar app updates a shift in place
when a rotation or an override moves it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import icalendar

from warroom.oncall.rotation import Schedule, Segment

BEFORE = timedelta(days=7)
AHEAD = timedelta(days=56)
PRODID = "-//warroom//on call//EN"


def _calendar(name: str) -> icalendar.Calendar:
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("x-wr-calname", name)
    return cal


def _event(schedule: Schedule, seg: Segment, now: datetime) -> icalendar.Event:
    ev = icalendar.Event()
    who = seg.person or "nobody"
    ev.add("uid", f"{schedule.name}-{who}-{seg.start:%Y%m%dT%H%M%SZ}@warroom")
    ev.add("dtstamp", now)
    ev.add("dtstart", seg.start)
    ev.add("dtend", seg.end)
    if seg.person is None:
        ev.add("summary", f"No one on call: {schedule.name}")
    else:
        ev.add("summary", f"On call: {seg.person} ({schedule.name})")
    ev.add("description", f"Schedule {schedule.name} ({schedule.timezone}); {seg.source or 'gap'}")
    return ev


def schedule_feed(schedule: Schedule, *, now: datetime) -> bytes:
    """Who is on call for one schedule, gaps included."""
    cal = _calendar(f"On call: {schedule.name}")
    for seg in schedule.segments(now - BEFORE, now + AHEAD):
        cal.add_component(_event(schedule, seg, now))
    return bytes(cal.to_ical())


def person_feed(person: str, schedules: list[Schedule], *, now: datetime) -> bytes:
    """One person's shifts on every schedule."""
    cal = _calendar(f"On call: {person}")
    for schedule in schedules:
        for seg in schedule.segments(now - BEFORE, now + AHEAD):
            if seg.person == person:
                cal.add_component(_event(schedule, seg, now))
    return bytes(cal.to_ical())
