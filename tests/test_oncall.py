"""On call against a real database (SQLite and PostgreSQL): the YAML document, who is on
call and the gaps, paging on declaration and on a severity raise, escalation on the test
clock, acknowledgement (and links that cannot be reused, forged or moved), telling the
people named, MTTA in the report."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from oncall_helpers import document, set_up
from warroom import incidents
from warroom.comms import catalog, notify
from warroom.comms.tables import outbox
from warroom.core.db import Database
from warroom.core.errors import Forbidden, InvalidInput, InvalidTransition, NotFound
from warroom.detect.alerts.routing import Routing
from warroom.incidents import desk, timeline
from warroom.learn import actions, reports
from warroom.oncall import acks, documents, links, pager, paging, schedules
from warroom.oncall.config import OncallConfig

L1, L2 = "json://127.0.0.1:9/ana", "json://127.0.0.1:9/bob"
LINK = re.compile(r"/ack/(INC-\d+)/([A-Za-z0-9_.-]+)")


def tick(db: Database) -> paging.Stats:
    return paging.run_once(db, config=OncallConfig(), routing=Routing())


def pages_to(db: Database, who: str) -> list[Any]:
    with db.read() as conn:
        return conn.execute(
            sa.select(outbox).where(outbox.c.url.like(f"%/{who}")).order_by(outbox.c.id)
        ).all()


def kinds(db: Database, key: str) -> list[str]:
    return [e.kind for e in timeline.read(db, key) if e.kind.startswith("page.")]


def test_the_document_imports_and_says_who_is_on_call(db: Database, clock: Any) -> None:
    set_up(db, L1, L2)
    now = schedules.who(db)
    assert [(n.schedule, n.current.person) for n in now] == [("l1", "ana"), ("l2", "bob")]
    assert all(n.warning is None for n in now)
    again = documents.export(db)
    assert [s["name"] for s in again["schedules"]] == ["l1", "l2"]
    assert "people" not in again  # contact URLs carry secrets: only with secrets=True
    assert documents.export(db, secrets=True)["people"][0]["contacts"][0]["url"] == L1
    # importing the exported document again changes nothing
    assert documents.import_text(db, documents.to_yaml(again), actor="lead")["schedules"] == 2
    assert [n.current.person for n in schedules.who(db)] == ["ana", "bob"]


def test_an_override_covers_a_shift_and_a_gap_is_a_warning_everywhere(
    db: Database, clock: Any
) -> None:
    set_up(db, L1, L2)
    o = schedules.add_override(
        db,
        "l1",
        person="carl",
        start="2026-11-24T18:00",
        end="2026-11-25T08:00",
        actor="carl",
        reason="I cover Tuesday night",
    )
    assert o.starts_at.hour == 18  # Lisbon is on UTC in November
    assert (
        schedules.who(db, at=clock.now + timedelta(hours=7), schedule="l1")[0].current.person
        == "carl"
    )
    assert schedules.who(db, schedule="l1")[0].current.person == "ana"
    schedules.remove_override(db, "l1", o.id)
    # a schedule whose rotation starts next week has nobody on call now
    documents.import_text(
        db,
        "schedules:\n  - name: l3\n    timezone: UTC\n    layers:\n"
        "      - {rotation: daily, handoff: '2026-12-01T09:00', members: [carl]}\n",
        actor="lead",
    )
    [n] = schedules.who(db, schedule="l3")
    assert n.current.person is None and "nobody is on call for schedule l3" in (n.warning or "")
    notices = desk.notices(db)
    assert [x.text for x in notices] == [n.warning]
    assert notices[0].hint is not None and notices[0].hint.action == "show_oncall"


def test_references_to_nobody_are_refused_and_nothing_is_half_imported(
    db: Database, clock: Any
) -> None:
    catalog.add_service(db, name="checkout")
    bad = document(L1, L2).replace("members: [bob]", "members: [zed]")
    with pytest.raises(NotFound, match="nobody named zed"):
        documents.import_text(db, bad, actor="lead")
    assert schedules.list_schedules(db) == []  # all or nothing
    with pytest.raises(InvalidInput, match="unknown section"):
        documents.import_text(db, "teams: []", actor="lead")
    with pytest.raises(NotFound, match="no service named shop"):
        documents.import_text(
            db, document(L1, L2).replace("service: checkout", "service: shop"), actor="lead"
        )


def test_declaring_pages_level_one_then_escalates_after_the_timeout(
    db: Database, clock: Any
) -> None:
    set_up(db, L1, L2)
    inc = incidents.declare(db, title="Checkout down", actor="ana", severity="P1")
    catalog.affect(db, inc.key, names=["checkout"], actor="ana")
    first = tick(db)
    assert (first.opened, first.pages) == (1, 1)
    [page] = pages_to(db, "ana")
    assert page.title.startswith(f"[P1] {inc.key} needs you")
    assert "level 1 of payments" in page.body and LINK.search(page.body)
    assert tick(db).pages == 0  # nothing more until the timeout
    clock.advance(minutes=9)
    assert tick(db).pages == 0
    clock.advance(minutes=1)
    second = tick(db)
    assert (second.escalations, second.pages) == (1, 1)
    assert len(pages_to(db, "bob")) == 1 and len(pages_to(db, "ana")) == 1
    assert kinds(db, inc.key) == ["page.sent", "page.escalated", "page.sent"]
    # bob acknowledges with his link: the pager stops, nothing more is sent
    key, token = LINK.search(pages_to(db, "bob")[0].body).groups()  # type: ignore[union-attr]
    assert acks.link_state(db, key, token).person == "bob"
    clock.advance(minutes=2)
    ack = acks.acknowledge_link(db, key, token)
    assert (ack.person, ack.via) == ("bob", "link")
    [state] = pager.pagers(db, inc.key)
    assert (state.status, state.acknowledged_by, state.level) == ("acknowledged", "bob", 2)
    clock.advance(hours=1)
    assert tick(db).pages == 0
    assert kinds(db, inc.key)[-1] == "page.acknowledged"
    # MTTA: first page to acknowledgement, 12 minutes
    rep = reports.build(db, since=clock.now - timedelta(days=1))
    assert rep.durations["mtta"]["all"]["median"] == 12 * 60


def test_an_acknowledgement_link_cannot_be_reused_forged_or_moved(db: Database, clock: Any) -> None:
    set_up(db, L1, L2)
    one = incidents.declare(db, title="Checkout down", actor="seed", severity="P0")
    two = incidents.declare(db, title="Checkout slow", actor="seed", severity="P1")
    for inc in (one, two):
        catalog.affect(db, inc.key, names=["checkout"], actor="seed")
    tick(db)
    [p1, p2] = pages_to(db, "ana")
    key1, token1 = LINK.search(p1.body).groups()  # type: ignore[union-attr]
    key2, token2 = LINK.search(p2.body).groups()  # type: ignore[union-attr]
    assert (key1, key2) == (one.key, two.key)
    # another incident's key with this link: refused
    with pytest.raises(Forbidden, match="not valid"):
        acks.acknowledge_link(db, two.key, token1)
    # a forged signature, another page's number, a link signed with another secret
    page_id, nonce, sig = token1.split(".")
    forged = [
        f"{page_id}.{nonce}.{'B' if sig[0] == 'A' else 'A'}{sig[1:]}",  # one character changed
        f"{int(page_id) + 1}.{nonce}.{sig}",
        f"{page_id}.{nonce}x.{sig}",
        links.ack_token(b"another server" * 2, one.key, page_id=int(page_id), nonce=nonce),
        "",
        "1.2",
    ]
    for token in forged:
        with pytest.raises(Forbidden):
            acks.acknowledge_link(db, one.key, token)
    assert acks.acknowledge_link(db, one.key, token1).person == "ana"
    with pytest.raises(InvalidTransition, match="already used"):
        acks.acknowledge_link(db, one.key, token1)
    assert acks.link_state(db, one.key, token1).used_at is not None
    # the other incident is still being paged until its own link (or a person) acknowledges
    assert pager.pagers(db, two.key)[0].status == "active"
    assert acks.acknowledge(db, two.key, actor="carl", via="cli").policies == ["payments"]
    with pytest.raises(InvalidTransition, match="already acknowledged by carl"):
        acks.acknowledge(db, two.key, actor="carl")
    # the second incident's link still works once: it records that ana has it too
    assert acks.acknowledge_link(db, two.key, token2).person == "ana"


def test_raising_the_severity_to_a_paging_level_pages(db: Database, clock: Any) -> None:
    set_up(db, L1, L2)
    inc = incidents.declare(db, title="Checkout slow", actor="ana", severity="P3")
    catalog.affect(db, inc.key, names=["checkout"], actor="ana")
    assert tick(db).pages == 0  # P3 pages nobody
    incidents.set_severity(db, inc.key, severity="P1", actor="ana", reason="errors rising")
    assert tick(db).pages == 1
    incidents.set_severity(db, inc.key, severity="P0", actor="ana", reason="down")
    assert tick(db).opened == 0  # the policy already pages this incident


def test_nobody_on_call_skips_to_the_next_level_and_resolving_stops_the_pager(
    db: Database, clock: Any
) -> None:
    set_up(db, L1, L2)
    schedules.add_override(
        db,
        "l1",
        person="carl",
        start=clock.now - timedelta(hours=1),
        end=clock.now + timedelta(hours=1),
        actor="lead",
    )  # carl has no contact method
    inc = incidents.declare(db, title="Checkout down", actor="ana", severity="P1")
    catalog.affect(db, inc.key, names=["checkout"], actor="ana")
    tick(db)
    assert kinds(db, inc.key) == ["page.skipped", "page.sent"]
    skipped = timeline.read(db, inc.key, kinds=["page.skipped"])[0]
    assert skipped.data["reasons"] == ["carl has no contact method for high urgency"]
    assert len(pages_to(db, "bob")) == 1
    incidents.move(db, inc.key, to="fixed", actor="ana")
    clock.advance(minutes=30)
    tick(db)
    assert kinds(db, inc.key)[-1] == "page.stopped"
    assert pager.pagers(db, inc.key)[0].status == "stopped"


def test_the_pager_gives_up_after_every_level_and_repeat(db: Database, clock: Any) -> None:
    catalog.add_service(db, name="checkout")
    doc = document(L1, L2, timeout="5m").replace(
        "  - name: payments\n", "  - name: payments\n    repeat: 1\n"
    )
    documents.import_text(db, doc, actor="lead")
    inc = incidents.declare(db, title="Checkout down", actor="seed", severity="P0")
    catalog.affect(db, inc.key, names=["checkout"], actor="seed")
    for _ in range(6):
        tick(db)
        clock.advance(minutes=5)
    assert kinds(db, inc.key) == [
        "page.sent",
        "page.escalated",
        "page.sent",  # round 1: l1, l2
        "page.escalated",
        "page.sent",
        "page.escalated",
        "page.sent",  # round 2
        "page.escalated",
        "page.exhausted",
    ]
    assert (len(pages_to(db, "ana")), len(pages_to(db, "bob"))) == (2, 2)
    assert pager.pagers(db, inc.key)[0].status == "exhausted"


def test_the_people_named_are_told(db: Database, clock: Any) -> None:
    set_up(db, L1, L2)
    inc = incidents.declare(db, title="Checkout down", actor="carl", severity="P2")
    incidents.assign_role(db, inc.key, role="commander", person="ana", actor="carl")
    incidents.add_task(db, inc.key, title="roll back", assignee="bob", actor="ana")
    incidents.add_task(db, inc.key, title="my own", assignee="ana", actor="ana")  # not told
    actions.add(db, inc.key, title="add a canary", type="preventive", owner="bob", actor="ana")
    ana = pages_to(db, "ana")
    assert len(ana) == 1 and "you are now the incident commander (from carl)" in ana[0].body
    bob = pages_to(db, "bob")
    assert [r.title for r in bob] == [
        f"{inc.key}: task T1 is yours: roll back",
        f"{inc.key}: action item AI-1 is yours: add a canary",
    ]
    # the action item is low urgency: it waits for bob's working hours (New York, 09:00)
    assert bob[1].next_attempt_at.hour == 14 and bob[0].next_attempt_at == clock.now
    assert notify.deliveries(db, inc.key)[0].channel == "@bob"
