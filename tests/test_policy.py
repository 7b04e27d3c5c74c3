"""The policy table: who may do what, its refinements, its refusals, and its written matrix."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from warroom.access import policy
from warroom.access.identity import Identity, Role
from warroom.core.errors import Forbidden

SECURITY_MD = Path(__file__).resolve().parent.parent / "docs" / "security.md"
START, END = "<!-- role-matrix:start -->", "<!-- role-matrix:end -->"


def test_roles_are_ranked_and_each_includes_the_ones_before() -> None:
    assert policy.roles("incident.read") == tuple(Role)
    assert policy.roles("incident.note") == (Role.RESPONDER, Role.COMMANDER, Role.ADMIN)
    assert policy.roles("incident.close") == (Role.COMMANDER, Role.ADMIN)
    assert policy.roles("account.admin") == (Role.ADMIN,)
    assert not policy.may(Role.RESPONDER, "incident.verify")
    assert policy.may(Role.COMMANDER, "incident.command")


def test_an_action_missing_from_the_table_is_a_bug_not_a_refusal() -> None:
    with pytest.raises(KeyError, match="no policy action 'incident.delete'"):
        policy.may(Role.ADMIN, "incident.delete")


@pytest.mark.parametrize(
    ("to", "action"),
    [
        ("fixed", "incident.stage"),
        ("rca", "incident.stage"),
        ("verified", "incident.verify"),
        ("Verified", "incident.verify"),
        (" CLOSED ", "incident.close"),
        ("closed", "incident.close"),
        ("no such stage", "incident.stage"),  # the move itself refuses it
        ("", "incident.stage"),
    ],
)
def test_a_move_is_decided_with_the_stage_parser(to: str, action: str) -> None:
    assert policy.stage_action(to) == action


@pytest.mark.parametrize(
    ("role", "action"),
    [
        ("scribe", "incident.assign"),
        ("comms-lead", "incident.assign"),
        ("commander", "incident.command"),
        ("IC", "incident.command"),
        ("Incident-Commander", "incident.command"),
        ("incident commander", "incident.command"),
        (" Commander ", "incident.command"),
        ("emperor", "incident.assign"),  # the assignment itself refuses it
    ],
)
def test_the_commander_is_recognised_by_the_incident_role_aliases(role: str, action: str) -> None:
    assert policy.role_action(role) == action


def test_a_refusal_names_the_role_needed_and_hints_at_the_next_step() -> None:
    ana = Identity(name="ana", role=Role.RESPONDER, via="session", session_token="s")
    policy.check(ana, "incident.note")
    with pytest.raises(Forbidden) as refused:
        policy.check(ana, "incident.close")
    assert refused.value.message.startswith("ana is responder: this needs the commander role")
    assert refused.value.hint is not None
    assert refused.value.hint.action == "set_user_role"
    assert dict(refused.value.hint.params) == {"name": "ana", "role": "commander"}
    ci = Identity(name="token:ci", role=Role.VIEWER, via="token")
    with pytest.raises(Forbidden) as token_refused:
        policy.check(ci, "incident.note")
    assert token_refused.value.hint is not None
    assert token_refused.value.hint.action == "create_token"
    am = Identity(name="token:am", role=Role.ADMIN, via="token", source="alertmanager")
    with pytest.raises(Forbidden, match="webhook token for alertmanager only"):
        policy.check(am, "incident.read")


def test_security_md_role_matrix_is_the_policy_table() -> None:
    """docs/security.md's matrix is generated; WARROOM_WRITE_DOCS=1 rewrites it."""
    text = SECURITY_MD.read_text(encoding="utf-8")
    generated = f"{START}\n{policy.matrix_markdown()}{END}"
    if os.environ.get("WARROOM_WRITE_DOCS") == "1":
        text = re.sub(
            re.escape(START) + ".*?" + re.escape(END), lambda _: generated, text, flags=re.S
        )
        SECURITY_MD.write_text(text, encoding="utf-8")
    assert generated in text, "docs/security.md is stale: run with WARROOM_WRITE_DOCS=1"
    for action in policy.POLICY:
        assert f"`{action}`" in text
