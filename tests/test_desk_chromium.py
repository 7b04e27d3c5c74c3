"""Acceptance: a whole incident from the web desk only, in a real Chromium, on a laptop and a
phone: declare, take command, stakeholder and public updates, a lever pulled and undone,
recovery verified from an uploaded log, closed, postmortem drafted. Every page is free of
sideways scrolling, and every event on the timeline names the person who acted.

Screenshots of each step land in test-artifacts/ (git-ignored): desk-<width>-<step>.png.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conftest import Pages
from helpers import running_server
from warroom.comms import statuspage
from warroom.core.config import load_settings
from warroom.core.db import Database
from warroom.incidents import timeline
from warroom.web.app import create_app

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
T0 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
ONSET = T0 + timedelta(minutes=60)
PERSON = "Ana Ruiz"
LAPTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}

CONFIG = """
[contain]
flag_file = "flags.json"

[levers.checkout-v2-off]
kind = "flag"
description = "Serve the old checkout"
flag = "new-checkout"
variant = "off"
"""


def write_log(path: Path) -> Path:
    """A combined access log from 10:00 to 12:00: an hour of health, 20 minutes with 10% of
    5xx and slow answers from 11:00, then health again."""
    rng = np.random.default_rng(11)
    lines = []
    t = T0
    for minutes, err, median in ((60, 0.003, 80.0), (20, 0.10, 260.0), (40, 0.003, 80.0)):
        n = minutes * 60
        offsets = np.sort(rng.random(n) * minutes * 60)
        statuses = np.where(rng.random(n) < err, 500, 200)
        latency = rng.lognormal(np.log(median), 0.4, n) / 1000
        for off, status, lat in zip(offsets, statuses, latency, strict=True):
            ts = t + timedelta(seconds=float(off))
            lines.append(
                f"10.0.0.{int(rng.integers(1, 250))} - - [{ts:%d/%b/%Y:%H:%M:%S} +0000] "
                f'"GET /checkout HTTP/1.1" {status} 512 "-" "curl/8.4.0" {lat:.3f}\n'
            )
        t += timedelta(minutes=minutes)
    path.write_text("".join(lines))
    return path


class Desk:
    """One person at the desk in one browser page: goes to pages, checks each for sideways
    scrolling, keeps a screenshot of each step."""

    def __init__(self, page: Any, url: str, width: int) -> None:
        self.page, self.url, self.width = page, url, width
        self.steps = 0
        self.visited: list[str] = []

    def goto(self, path: str) -> None:
        self.page.goto(self.url + path)
        self.check()

    def check(self, name: str | None = None) -> None:
        """No horizontal overflow on the page shown; a screenshot of it."""
        self.page.wait_for_load_state()
        wide = self.page.evaluate("document.documentElement.scrollWidth")
        where = self.page.url.replace(self.url, "")
        assert wide <= self.width, f"{where} is {wide} px wide in a {self.width} px window"
        self.visited.append(where)
        self.steps += 1
        label = name or where.strip("/").split("#")[0].split("?")[0].replace("/", "_") or "list"
        self.page.screenshot(
            path=str(ARTIFACTS / f"desk-{self.width}-{self.steps:02d}-{label}.png"), full_page=True
        )

    def submit(self, button: str, name: str | None = None) -> None:
        self.page.click(button)
        self.check(name)


def above_the_fold(page: Any, selectors: list[str], height: int) -> dict[str, float]:
    """The bottom edge of each element (page scrolled to the top); those past `height`."""
    page.evaluate("window.scrollTo(0, 0)")
    bottoms = {s: page.locator(s).first.bounding_box() for s in selectors}
    return {s: b["y"] + b["height"] for s, b in bottoms.items() if b["y"] + b["height"] > height}


@pytest.mark.slow
@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["laptop", "phone"])
def test_a_whole_incident_from_the_desk_only(
    db_url: str, clock: Any, browser: Pages, tmp_path: Path, viewport: dict[str, int]
) -> None:
    (tmp_path / "warroom.toml").write_text(CONFIG)
    (tmp_path / "flags.json").write_text(
        json.dumps(
            {
                "flags": {
                    "new-checkout": {
                        "state": "ENABLED",
                        "variants": {"on": True, "off": False},
                        "defaultVariant": "on",
                    }
                }
            }
        )
    )
    log = write_log(tmp_path / "access.log")
    ARTIFACTS.mkdir(exist_ok=True)
    db = Database(db_url)
    settings = load_settings(database_url=db_url, config_path=tmp_path / "warroom.toml")
    width = viewport["width"]
    with running_server(create_app(settings, database=db)) as url:
        page = browser.new_page(viewport=viewport)
        violations: list[str] = []
        page.on(
            "console",
            lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
        )
        desk = Desk(page, url, width)

        # The desk asks who this is, once, and goes on to the page asked for.
        clock.set(ONSET + timedelta(minutes=5))
        desk.goto("/incidents/new")
        assert "/who?next=%2Fincidents%2Fnew" in page.url
        page.fill("input[name=name]", PERSON)
        desk.submit("#who button[type=submit]", "who")
        assert page.url == f"{url}/incidents/new"

        # Declare: the severity options are whole words, never cut.
        assert page.locator("select[name=severity] option[value=P1]").inner_text() == "P1 · Major"
        page.fill("input[name=title]", "Checkout returns 500")
        page.select_option("select[name=severity]", "P1")
        page.fill("input[name=started_at]", "2026-11-24T11:00")
        page.fill("textarea[name=impact_scope]", "shoppers paying by card")
        desk.submit("button:has-text('Declare')", "declared")
        assert page.url == f"{url}/incidents/INC-1"

        # Take command from the band, with one's own name already filled in.
        assert page.locator("#commander input[name=person]").input_value() == PERSON
        desk.submit("#commander button:has-text('Take command')", "commander")
        assert PERSON in page.locator("#commander").inner_text()

        # A stakeholder update, then a public one whose component state is honoured on the
        # status page although no service exists (the whole site is the component).
        for audience, text in (("stakeholder", "Card payments fail for 1 in 10"), ("public", "")):
            clock.advance(minutes=1)
            page.locator("#comms summary").click()
            page.select_option("#composer select[name=audience]", audience)
            page.fill("#composer textarea[name=conditions]", text or "Some card payments fail")
            page.fill("#composer textarea[name=actions]", "We are turning the new checkout off")
            if audience == "public":
                page.fill("#composer input[name=headline]", "Card payments failing")
                page.select_option("#composer select[name=component_state]", "partial_outage")
            desk.submit("#composer button[type=submit]", f"update-{audience}")
            assert f"to {audience}" in page.locator("#update-fact").inner_text()
        desk.goto("/status")
        assert "Partial outage" in page.locator(".overall").inner_text()
        assert "Card payments failing" in page.content()
        assert statuspage.build(db).components[0].name == statuspage.SITE

        # On a laptop the band and the contain panel need no scrolling.
        desk.goto("/incidents/INC-1")
        if width == LAPTOP["width"]:
            hidden = above_the_fold(
                page, ["#stage", "#commander", "#update-fact", "#contain"], viewport["height"]
            )
            assert hidden == {}, f"below the fold at 1366x768: {hidden}"

        # Pull the lever (its plan first, then confirmed), undo it, pull it again.
        clock.set(ONSET + timedelta(minutes=10))
        page.click("#contain a:has-text('checkout-v2-off')")
        desk.check("lever")
        assert "new-checkout" in page.locator("ol.plan").first.inner_text()
        page.check("input[name=confirm]")
        desk.submit("button:has-text('Run lever')", "lever-pulled")
        assert "M1" in page.locator("#contain .mitigations").inner_text()
        page.click("#contain a:has-text('Undo')")
        desk.check("undo")
        page.check("input[name=confirm]")
        desk.submit("button:has-text('Undo M1')", "undone")
        assert "undone" in page.locator("#contain .mitigations").inner_text()
        page.click("#contain a:has-text('checkout-v2-off')")
        page.check("input[name=confirm]")
        desk.submit("button:has-text('Run lever')", "lever-again")

        # Contained, root cause, fixed at 11:20.
        clock.set(ONSET + timedelta(minutes=12))
        desk.submit("button:has-text('Move to Contain')", "contained")
        page.click("#learn summary:has-text('Record the root cause')")
        page.fill("#learn input[name=summary]", "coupon code path of checkout v2 had a null")
        desk.submit("#learn button:has-text('Record root cause')", "root-cause")
        clock.set(ONSET + timedelta(minutes=20))
        if "Move to Fix" not in page.content():  # recording the cause may have moved it on
            desk.submit("button:has-text('Move to Root cause')", "root-caused")
        desk.submit("button:has-text('Move to Fix')", "fixed")

        # Verify from an uploaded log: recovered, then Verify is allowed.
        clock.set(T0 + timedelta(hours=2, minutes=5))
        page.set_input_files("#verify input[name=log]", str(log))
        desk.submit("#verify button:has-text('Verify')", "verified-log")
        verdict = page.locator("#verify .verdict").inner_text()
        assert "recovered" in verdict and PERSON in verdict, verdict
        desk.submit("button:has-text('Move to Verify')", "verified")

        # An action item, then close: a closed incident offers reopen, postmortem, actions.
        page.click("#learn summary:has-text('Add an action item')")
        page.fill("#learn input[name=title]", "Test the coupon path before release")
        page.fill("#learn input[name=owner]", PERSON)
        desk.submit("#learn button:has-text('Add action item')", "action")
        desk.submit("button:has-text('Move to Handover')", "closed")
        body = page.locator("main").inner_text()
        assert "Reopen" in body and "Postmortem" in body
        for gone in ("Run lever", "Start runbook", "Add note", "Post update", "Take command"):
            assert gone not in body, f"a closed incident still offers {gone!r}"
        assert page.locator("form.note").count() == 0

        # The postmortem: drafted from the record, impact from the triage-free start time.
        page.click("a.button:has-text('Postmortem')")
        desk.check("postmortem")
        desk.submit("button:has-text('Draft the postmortem')", "postmortem-draft")
        assert "MTTD" in page.content() and "Time to contain" in page.content()

        # The timeline reads in words, and every event names the person.
        desk.goto("/incidents/INC-1#timeline")
        assert "rootcause.recorded" not in page.locator("#timeline").inner_text()
        for other in (
            "/",
            "/services",
            "/drills",
            "/actions",
            "/reports",
            "/levers",
            "/audit",
            "/oncall",
        ):
            desk.goto(other)
    events = timeline.read(db, "INC-1")
    assert {e.actor for e in events} == {PERSON}, [(e.kind, e.actor) for e in events]
    kinds = {e.kind for e in events}
    assert {"mitigation.applied", "mitigation.undone", "verification.recorded"} <= kinds
    assert {"update.posted", "role.assigned", "postmortem.drafted", "stage.changed"} <= kinds
    assert violations == []
    db.dispose()
