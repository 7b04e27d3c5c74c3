"""The incident lifecycle: declare, stage rules, roles, tasks, notes, bad input."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from warroom import incidents
from warroom.core.clock import utcnow
from warroom.core.db import Database
from warroom.core.errors import InvalidInput, InvalidTransition, NotFound
from warroom.incidents import timeline
from warroom.incidents.model import Stage
from warroom.incidents.tables import events
from warroom.incidents.tables import incidents as incidents_table
from warroom.incidents.timeline import Kind


def kinds(db: Database, key: str) -> list[str]:
    return [e.kind for e in timeline.read(db, key)]


def snapshot(db: Database) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    with db.read() as conn:
        inc = [tuple(r) for r in conn.execute(sa.select(incidents_table).order_by("id"))]
        ev = [tuple(r) for r in conn.execute(sa.select(events).order_by("id"))]
    return inc, ev


def test_declare_records_intake_and_first_event(db: Database) -> None:
    started = utcnow() - timedelta(minutes=20)
    inc = incidents.declare(
        db,
        title="Checkout returns 500",
        actor="ana",
        severity="p1",
        description="POST /checkout fails",
        started_at=started,
        impact_scope="all shoppers in EU",
        business_impact="no orders",
        error_messages="HTTP 500 upstream reset",
        suspected_changes="deploy 4711",
        reporter_contact="ana@example.com",
        security=False,
    )
    assert inc.key == "INC-1"
    assert inc.severity is not None and inc.severity.value == "P1"
    assert inc.stage is Stage.DETECTED
    assert inc.started_at == started
    assert inc.detected_at >= started
    assert inc.reporter == "ana"
    events_ = timeline.read(db, inc.key)
    assert [e.kind for e in events_] == [Kind.DECLARED]
    assert events_[0].data["impact_scope"] == "all shoppers in EU"
    assert events_[0].seq == 1 and events_[0].actor == "ana"
    assert incidents.declare(db, title="second", actor="bo").key == "INC-2"


@pytest.mark.parametrize(
    ("path", "skipped"),
    [
        (["contained", "root_caused", "fixed"], []),
        (["fixed"], ["contained", "root_caused"]),
        (["root_caused", "fixed"], ["contained"]),
        (["contained", "fixed"], ["root_caused"]),
    ],
)
def test_forward_moves_record_skipped_stages(
    db: Database, path: list[str], skipped: list[str]
) -> None:
    inc = incidents.declare(db, title="t", actor="a", severity="P2")
    for stage in path:
        inc = incidents.move(db, inc.key, to=stage, actor="a")
    assert inc.stage is Stage.FIXED
    assert inc.skipped_stages == skipped
    recorded = [e.data["stage"] for e in timeline.read(db, inc.key, kinds=[Kind.STAGE_SKIPPED])]
    assert recorded == skipped
    for stage in path:
        assert inc.stage_times[stage] is not None


@pytest.mark.parametrize(
    ("reach", "target", "message"),
    [
        ([], "detected", "already detected"),
        (["contained"], "detected", "stages only go forward"),
        (["fixed"], "contained", "reopen it"),
        ([], "verified", "fix it first"),
        (["contained"], "verified", "fix it first"),
        ([], "closed", "contain it first"),
        (["contained"], "closed", "fix it first"),
        (["fixed"], "verified", "without evidence"),
    ],
)
def test_invalid_moves_say_what_to_do(
    db: Database, reach: list[str], target: str, message: str
) -> None:
    inc = incidents.declare(db, title="t", actor="a", severity="P2")
    for stage in reach:
        incidents.move(db, inc.key, to=stage, actor="a")
    before = snapshot(db)
    with pytest.raises(InvalidTransition, match=message):
        incidents.move(db, inc.key, to=target, actor="a")
    assert snapshot(db) == before


def test_verified_needs_a_recovered_verdict_or_a_reason(db: Database) -> None:
    inc = incidents.declare(db, title="t", actor="a", severity="P1")
    incidents.move(db, inc.key, to="fixed", actor="a")
    with pytest.raises(InvalidTransition, match="without evidence") as refused:
        incidents.move(db, inc.key, to="verified", actor="a")
    assert refused.value.hint is not None and refused.value.hint.action == "verify"
    assert refused.value.hint.incident == inc.key and refused.value.field == "reason"
    incidents.record(
        db, inc.key, kind=Kind.VERIFICATION, actor="a", data={"verdict": "not_recovered"}
    )
    with pytest.raises(InvalidTransition):
        incidents.move(db, inc.key, to="verified", actor="a")
    incidents.record(db, inc.key, kind=Kind.VERIFICATION, actor="a", data={"verdict": "recovered"})
    assert incidents.move(db, inc.key, to="verified", actor="a").stage is Stage.VERIFIED

    other = incidents.declare(db, title="u", actor="a", severity="P3")
    incidents.move(db, other.key, to="fixed", actor="a")
    moved = incidents.move(db, other.key, to="verified", actor="a", reason="checked dashboards")
    assert moved.stage is Stage.VERIFIED
    assert Kind.VERIFICATION_OVERRIDDEN in kinds(db, other.key)


def test_closed_incident_must_be_reopened_and_reopen_is_its_own_event(db: Database) -> None:
    inc = incidents.declare(db, title="t", actor="a", severity="P3")
    incidents.move(db, inc.key, to="fixed", actor="a")
    incidents.move(db, inc.key, to="closed", actor="a")
    with pytest.raises(InvalidTransition, match="reopen it first"):
        incidents.move(db, inc.key, to="fixed", actor="a")
    again = incidents.reopen(db, inc.key, actor="b", reason="errors are back")
    assert again.stage is Stage.DETECTED
    assert again.stage_times["closed"] is None
    assert kinds(db, inc.key)[-1] == Kind.REOPENED
    with pytest.raises(InvalidTransition, match="nothing to reopen"):
        incidents.reopen(db, inc.key, actor="b", reason="again")


def test_commander_is_one_at_a_time_and_handoff_is_an_event(db: Database) -> None:
    inc = incidents.declare(db, title="t", actor="a", severity="P0")
    assert any("NO COMMANDER" in w for w in inc.warnings)
    inc = incidents.assign_role(db, inc.key, role="commander", person="ana", actor="a")
    assert inc.commander == "ana" and not inc.warnings
    first_at = inc.commander_at
    inc = incidents.assign_role(db, inc.key, role="ic", person="bob", actor="ana")
    assert inc.commander == "bob"
    assert inc.roles == {"commander": "bob"}
    assert inc.commander_at == first_at  # MTTA counts the first commander
    handoff = timeline.read(db, inc.key, kinds=[Kind.COMMANDER_HANDOFF])
    assert [(e.data["from"], e.data["to"]) for e in handoff] == [("ana", "bob")]
    with pytest.raises(InvalidTransition, match="hand off instead"):
        incidents.remove_role(db, inc.key, role="commander", actor="bob")
    with pytest.raises(InvalidTransition, match="already commander"):
        incidents.assign_role(db, inc.key, role="commander", person="bob", actor="bob")


def test_delegated_roles_and_participants(db: Database) -> None:
    inc = incidents.declare(db, title="t", actor="a", severity="P2", commander="ana")
    for role, person in [
        ("ops_lead", "olga"),
        ("comms-lead", "cem"),
        ("scribe", "sam"),
        ("liaison", "lia"),
        ("participant", "pat"),
        ("participant", "pia"),
    ]:
        inc = incidents.assign_role(db, inc.key, role=role, person=person, actor="ana")
    assert inc.roles == {
        "commander": "ana",
        "ops_lead": "olga",
        "comms_lead": "cem",
        "scribe": "sam",
        "liaison": "lia",
    }
    assert inc.participants == ["pat", "pia"]
    inc = incidents.remove_role(db, inc.key, role="scribe", actor="ana")
    assert "scribe" not in inc.roles
    with pytest.raises(InvalidInput, match="unknown role"):
        incidents.assign_role(db, inc.key, role="janitor", person="x", actor="a")


def test_tasks_have_assignee_and_status(db: Database) -> None:
    inc = incidents.declare(db, title="t", actor="a")
    t1 = incidents.add_task(db, inc.key, title="inspect DB logs", assignee="dana", actor="a")
    t2 = incidents.add_task(db, inc.key, title="check APM", actor="a")
    assert (t1.number, t2.number) == (1, 2)
    done = incidents.update_task(db, inc.key, "T1", status="done", actor="dana")
    assert done.status == "done"
    moved = incidents.update_task(db, inc.key, 2, assignee="eve", status="in-progress", actor="a")
    assert (moved.assignee, moved.status) == ("eve", "in_progress")
    with pytest.raises(NotFound, match="no task T9"):
        incidents.update_task(db, inc.key, 9, status="done", actor="a")
    with pytest.raises(InvalidInput, match="unknown task status"):
        incidents.update_task(db, inc.key, 1, status="maybe", actor="a")
    assert kinds(db, inc.key).count(Kind.TASK_UPDATED) == 2


def test_open_incidents_are_listed_in_priority_order(db: Database, clock) -> None:  # type: ignore[no-untyped-def]
    old_p2 = incidents.declare(db, title="old p2", actor="a", severity="P2")
    clock.advance(minutes=5)
    p1_small = incidents.declare(
        db, title="p1 few users", actor="a", severity="P1", factors={"affected_users": "few"}
    )
    p1_big = incidents.declare(
        db, title="p1 most users", actor="a", severity="P1", factors={"affected_users": "most"}
    )
    new_p2 = incidents.declare(db, title="new p2", actor="a", severity="P2")
    p0 = incidents.declare(db, title="p0", actor="a", severity="P0")
    closed = incidents.declare(db, title="closed p0", actor="a", severity="P0")
    incidents.move(db, closed.key, to="fixed", actor="a")
    incidents.move(db, closed.key, to="closed", actor="a", reason="no follow-up needed")
    unsev = incidents.declare(db, title="no severity", actor="a")
    order = [i.key for i in incidents.list_incidents(db)]
    assert order == [
        p0.key,
        p1_big.key,
        p1_small.key,
        old_p2.key,
        new_p2.key,
        unsev.key,
        closed.key,
    ]
    assert closed.key not in [i.key for i in incidents.list_incidents(db, include_closed=False)]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "x", "severity": "P7"}, "severity"),
        ({"title": "x", "severity": "urgent"}, "severity"),
        ({"title": "x", "description": "a" * 1_000_000}, "description"),
        ({"title": "x" * 1_000_000}, "title"),
        ({"title": "x", "factors": {"blast_radius": "big"}}, "blast_radius"),
        ({"title": "x", "factors": {"business_impact": "apocalyptic"}}, "business_impact"),
    ],
)
def test_bad_input_is_refused_and_nothing_changes(
    db: Database, kwargs: dict[str, object], field: str
) -> None:
    incidents.declare(db, title="existing", actor="a", severity="P2")
    before = snapshot(db)
    with pytest.raises(InvalidInput) as err:
        incidents.declare(db, actor="a", **kwargs)  # type: ignore[arg-type]
    assert err.value.field == field
    assert str(err.value)
    assert snapshot(db) == before


def test_future_start_time_is_refused(db: Database) -> None:
    inc = incidents.declare(db, title="existing", actor="a")
    before = snapshot(db)
    with pytest.raises(InvalidInput, match="in the future"):
        incidents.declare(db, title="x", actor="a", started_at=utcnow() + timedelta(hours=2))
    with pytest.raises(InvalidInput, match="limit"):
        incidents.add_note(db, inc.key, text="n" * 1_000_000, actor="a")
    with pytest.raises(InvalidInput, match="unknown stage"):
        incidents.move(db, inc.key, to="sideways", actor="a")
    assert snapshot(db) == before


def test_unknown_incident_is_not_found_with_its_key(db: Database) -> None:
    with pytest.raises(NotFound, match="INC-42"):
        incidents.get(db, "INC-42")
    with pytest.raises(InvalidInput, match="not an incident key"):
        incidents.get(db, "banana")


def test_update_fields_records_only_changes(db: Database) -> None:
    inc = incidents.declare(db, title="t", actor="a", impact_scope="EU")
    inc = incidents.update_fields(db, inc.key, actor="b", impact_scope="EU and US", title="t")
    assert inc.impact_scope == "EU and US"
    last = timeline.read(db, inc.key)[-1]
    assert last.kind == Kind.FIELDS_UPDATED and last.data["fields"] == {"impact_scope": "EU and US"}
    with pytest.raises(InvalidInput, match="cannot edit"):
        incidents.update_fields(db, inc.key, actor="b", stage="closed")


@pytest.mark.parametrize(
    ("reach", "target", "action", "params"),
    [
        (["fixed", "closed"], "fixed", "reopen", {}),
        (["fixed"], "contained", "reopen", {}),
        (["contained"], "detected", "move", {"to": "root_caused"}),
        ([], "verified", "move", {"to": "fixed"}),
        ([], "closed", "move", {"to": "contained"}),
        (["contained"], "closed", "move", {"to": "fixed"}),
        (["fixed"], "verified", "verify", {}),
    ],
)
def test_refused_moves_carry_their_next_step_as_data(
    db: Database, reach: list[str], target: str, action: str, params: dict[str, str]
) -> None:
    inc = incidents.declare(db, title="t", actor="a", severity="P2")
    for stage in reach:
        incidents.move(db, inc.key, to=stage, actor="a")
    with pytest.raises(InvalidTransition) as refused:
        incidents.move(db, inc.key, to=target, actor="a")
    hint = refused.value.hint
    assert hint is not None and hint.incident == inc.key
    assert (hint.action, dict(hint.params)) == (action, params)
    assert refused.value.field in ("to", "reason")
    assert "warroom" not in refused.value.message and "--" not in refused.value.message


def test_reopen_without_a_reason_asks_for_one_and_an_open_one_says_what_is_next(
    db: Database,
) -> None:
    inc = incidents.declare(db, title="t", actor="a", severity="P2")
    with pytest.raises(InvalidTransition, match="nothing to reopen") as early:
        incidents.reopen(db, inc.key, actor="a", reason="back")
    assert early.value.hint is not None and early.value.hint.params == {"to": "contained"}
    incidents.move(db, inc.key, to="fixed", actor="a")
    with pytest.raises(InvalidInput, match="reason must not be empty") as bare:
        incidents.reopen(db, inc.key, actor="a", reason=" ")
    assert bare.value.field == "reason"
    assert bare.value.hint is not None and bare.value.hint.action == "give_reason"


def test_nags_are_words_with_a_hint_and_warnings_stay_their_text(db: Database) -> None:
    inc = incidents.declare(db, title="t", actor="a", severity="P1")
    (nag,) = inc.nags
    assert nag.text == "NO COMMANDER on a P1: name one now"
    assert nag.hint is not None and nag.hint.action == "assign_role"
    assert dict(nag.hint.params) == {"role": "commander"} and nag.hint.incident == inc.key
    assert inc.warnings == [nag.text]
    data = inc.to_dict()
    assert data["warnings"] == [nag.text]
    assert data["nags"] == [
        {
            "text": nag.text,
            "hint": {
                "action": "assign_role",
                "text": "name a commander",
                "incident": inc.key,
                "params": {"role": "commander"},
            },
        }
    ]
    unsorted = incidents.declare(db, title="u", actor="a")
    assert [n.hint.action for n in unsorted.nags if n.hint] == ["set_severity"]
    assert incidents.set_severity(db, unsorted.key, severity="P3", actor="a").nags == []


@pytest.mark.parametrize("ref", ["T²", "T1234567890", "task one", "T-"])
def test_task_numbers_are_ascii_and_short(db: Database, ref: str) -> None:
    inc = incidents.declare(db, title="t", actor="a")
    incidents.add_task(db, inc.key, title="check APM", actor="a")
    with pytest.raises(InvalidInput, match="is not a task number") as refused:
        incidents.update_task(db, inc.key, ref, status="done", actor="a")
    assert refused.value.field == "task"
    assert incidents.update_task(db, inc.key, "t1", status="done", actor="a").status == "done"


@pytest.mark.parametrize("key", ["INC-1234567890", "INC-٣", "INC-", "INC 7"])
def test_incident_keys_are_ascii_digits_at_most_nine(db: Database, key: str) -> None:
    with pytest.raises(InvalidInput, match="is not an incident key: use the form INC-7"):
        incidents.get(db, key)


def test_a_missing_incident_or_task_points_to_where_to_look(db: Database) -> None:
    with pytest.raises(NotFound) as missing:
        incidents.get(db, "INC-8")
    assert missing.value.hint is not None and missing.value.hint.action == "list_incidents"
    inc = incidents.declare(db, title="t", actor="a")
    with pytest.raises(NotFound) as no_task:
        incidents.update_task(db, inc.key, "T4", status="done", actor="a")
    assert no_task.value.field == "task"
    assert no_task.value.hint is not None and no_task.value.hint.action == "show_incident"
    with pytest.raises(InvalidTransition, match="hand off instead") as commander:
        incidents.remove_role(db, inc.key, role="commander", actor="a")
    assert commander.value.hint is not None and commander.value.hint.action == "assign_role"
