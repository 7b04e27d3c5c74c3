"""Every route of the registry-built app declares who may call it, and the policy holds route
by route: for each API operation of the OpenAPI document and each page route, every role is
allowed or refused (403) as the policy table says; CSRF whatever the body's media type."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient

from warroom import incidents
from warroom.access import accounts, policy, tokens
from warroom.access.identity import Role
from warroom.core import registry
from warroom.core.config import load_settings
from warroom.core.db import Database
from warroom.core.registry import Area, RegistryError
from warroom.incidents import timeline
from warroom.web import guard
from warroom.web.app import create_app

PASSWORD = "correct horse battery"
SAMPLE = {
    "key": "INC-1",
    "number": "T1",
    "ident": "M1",
    "run": "R1",
    "step": "1",
    "name": "none",
    "role": "scribe",
    "section": "summary",
    "ref": "AI-1",
    "row_id": "1",
    "lever": "none",
    "source": "none",
    "override_id": "1",
    "position": "1",
}
PUBLIC = {
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/favicon.ico"),
    ("ANY", "/static"),
    ("GET", "/status"),
    ("GET", "/status.json"),
    ("GET", "/status/feed.atom"),
    ("GET", "/login"),
    ("POST", "/login"),
    # on call: verified by their signatures (a paged person or a calendar app has no session)
    ("GET", "/ack/{key}/{token}"),
    ("POST", "/ack/{key}/{token}"),
    ("GET", "/oncall/calendar/schedule/{name}.ics"),
    ("GET", "/oncall/calendar/person/{name}.ics"),
}
INTAKE = {("POST", "/api/v1/alerts/alertmanager"), ("POST", "/api/v1/alerts/webhook/{source}")}


@pytest.fixture
def database(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    yield database
    database.dispose()


def app_for(db_url: str, database: Database) -> Any:
    return create_app(load_settings(database_url=db_url), database=database)


def _methods(d: guard.Declared) -> list[str]:
    return sorted(d.methods - {"HEAD"}) or ["ANY"]


def test_every_route_declares_who_may_call_it(sqlite_url: str) -> None:
    app = create_app(load_settings(database_url=sqlite_url))
    declared = list(guard.routes(app))  # raises, naming the route, when one declares nothing
    assert len(declared) > 80
    public = {(m, d.path) for d in declared if d.access.public for m in _methods(d)}
    assert public == PUBLIC | INTAKE  # a new public route is a decision: add it here
    intake = {(m, d.path) for d in declared if d.access.intake for m in _methods(d)}
    assert intake == INTAKE
    used = {a for d in declared for a in d.access.actions()}
    assert used <= set(policy.POLICY)
    assert set(policy.POLICY) - used == {"account.admin"}  # accounts: the CLI on the server


def test_a_route_that_declares_nothing_stops_the_app(sqlite_url: str) -> None:
    router = APIRouter()

    @router.post("/api/v1/undeclared")
    def undeclared() -> dict[str, str]:
        return {}

    @router.get("/api/v1/twice", dependencies=[guard.PUBLIC, guard.require("desk.read")])
    def twice() -> dict[str, str]:
        return {}

    probe = Area("probe", "an undeclared route", routers=(router,))
    expected = r"POST /api/v1/undeclared, GET /api/v1/twice"
    with registry.extra_area(probe), pytest.raises(RegistryError, match=expected):
        create_app(load_settings(database_url=sqlite_url))
    with pytest.raises(KeyError, match="no policy action 'incident.fly'"):
        guard.require("incident.fly")


def _path(template: str) -> str:
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: SAMPLE[m.group(1)], template)


def test_role_matrix_route_by_route(db_url: str, database: Database, clock: Any) -> None:
    incidents.declare(database, title="db slow", actor="seed", severity="P2")
    incidents.add_task(database, "INC-1", title="look", actor="seed")
    accounts.add_user(database, "root", role="admin", password=PASSWORD, actor="seed")
    secrets = {r: tokens.create_token(database, r.value, role=r, actor="root")[0] for r in Role}
    app = app_for(db_url, database)
    c = TestClient(app, follow_redirects=False)
    table = {(m, d.path): d for d in guard.routes(app) for m in _methods(d)}

    # The OpenAPI document and the routes agree: every documented operation is a declared
    # route, every declared API route is documented.
    operations = {
        (method.upper(), path)
        for path, item in app.openapi()["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    }
    documented = {k for k, d in table.items() if d.documented}
    assert operations == documented
    pages = {k for k, d in table.items() if not d.documented}
    checked: list[str] = []
    for method, path in sorted(operations | pages):
        access = table[(method, path)].access
        if access.public or method == "ANY":
            continue
        assert access.action is not None
        url = _path(path)
        for role in Role:
            headers = {"Authorization": f"Bearer {secrets[role]}"}
            if method in ("POST", "PUT", "PATCH") and path.startswith("/api/"):
                r = c.request(method, url, json={}, headers=headers)
            else:
                r = c.request(method, url, headers=headers)
            allowed = policy.may(role, access.action)
            assert r.status_code != 401, (method, path, role)
            assert (r.status_code == 403) is not allowed, (method, path, role, r.text[:200])
            if not allowed:
                assert f"needs the {policy.rule(access.action).least.value} role" in r.text
        checked.append(f"{method} {path}")
    assert len(checked) > 80


def _form(fields: dict[str, str]) -> str:
    return urlencode(fields)


def _multipart(fields: dict[str, str], boundary: str = "XyZ") -> str:
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
        for k, v in fields.items()
    ]
    return "".join(parts) + f"--{boundary}--\r\n"


# (what, Content-Type or None, body builder, whether Starlette parses it as a form)
BODIES = [
    ("urlencoded", "Application/x-www-form-urlencoded", _form, True),
    ("urlencoded-upper", "APPLICATION/X-WWW-FORM-URLENCODED; charset=UTF-8", _form, True),
    ("multipart", "Multipart/form-data; boundary=XyZ", _multipart, True),
    ("multipart-quoted", 'multipart/FORM-DATA; boundary="XyZ"', _multipart, True),
    ("text", "text/plain", _form, False),
    ("json", "application/json", json.dumps, False),
    ("none", None, _form, False),
]
# Page routes only a commander may use, with the fields that make them so.
COMMANDER_ONLY = [
    ("/incidents/INC-1/stage", {"to": "closed", "reason": "done"}),
    ("/incidents/INC-1/stage", {"to": "verified", "reason": "graphs flat"}),
    ("/incidents/INC-1/roles", {"role": "commander", "person": "mallory"}),
    ("/incidents/INC-1/roles", {"role": "Incident-Commander", "person": "mallory"}),
    ("/incidents/INC-1/severity", {"severity": "P0"}),
]


def _signed_in(db_url: str, database: Database, name: str) -> tuple[TestClient, str]:
    c = TestClient(app_for(db_url, database), follow_redirects=False)
    assert c.post("/login", data={"name": name, "password": PASSWORD}).status_code == 303
    m = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', c.get("/incidents/INC-1").text)
    assert m
    return c, m.group(1)


def _post(c: TestClient, url: str, ctype: str | None, body: str, csrf: str | bytes = "") -> Any:
    headers: dict[str, str | bytes] = {"Content-Type": ctype} if ctype else {}
    if csrf:
        headers["X-CSRF-Token"] = csrf
    return c.post(url, content=body.encode(), headers=headers)


def _state(database: Database) -> tuple[str, str | None, int]:
    inc = incidents.get(database, "INC-1")
    notes = sum(e.kind == "note.added" for e in timeline.read(database, "INC-1"))
    return inc.stage.value, inc.commander, notes


@pytest.mark.parametrize(("what", "ctype", "build", "is_form"), BODIES, ids=[b[0] for b in BODIES])
def test_session_changes_need_the_csrf_token_and_the_role_whatever_the_media_type(
    db_url: str,
    database: Database,
    clock: Any,
    what: str,
    ctype: str | None,
    build: Any,
    is_form: bool,
) -> None:
    incidents.declare(database, title="db slow", actor="seed", severity="P2", commander="cy")
    incidents.move(database, "INC-1", to="fixed", actor="seed", reason="rolled back")
    accounts.add_user(database, "ana", role="responder", password=PASSWORD, actor="root")
    accounts.add_user(database, "cy", role="commander", password=PASSWORD, actor="root")
    ana, ana_token = _signed_in(db_url, database, "ana")
    before = _state(database)
    note = ("/incidents/INC-1/notes", {"text": f"note by {what}"})

    for url, fields in [*COMMANDER_ONLY, note]:
        # No CSRF token: refused, whatever the body.
        assert _post(ana, url, ctype, build(fields)).status_code == 403, (url, fields)
        # Right token, in the body and in the header: a responder still cannot hand off
        # command, verify, close or change the severity. (A body that is not a form has no
        # fields: the verb gets empty ones and refuses, shown as a message on the page.)
        signed = build({**fields, "csrf_token": ana_token})
        r = _post(ana, url, ctype, signed, csrf=ana_token)
        refined = url.endswith(("/stage", "/roles"))  # the others need their role anyway
        if (url, fields) == note or (refined and not is_form):
            assert r.status_code == 303
        else:
            assert r.status_code == 403 and "needs the commander role" in r.text, (url, fields)
        # A token of another session does not do either.
        assert _post(ana, url, ctype, build(fields), csrf="f" * 64).status_code == 403
        assert _post(ana, url, ctype, build(fields), csrf="é".encode("latin-1")).status_code == 403
        odd = build({**fields, "csrf_token": "é"})
        assert _post(ana, url, ctype, odd).status_code == 403
    stage, commander, notes = _state(database)
    assert (stage, commander) == before[:2]
    assert notes == before[2] + (1 if is_form else 0)  # other bodies carry no form fields

    # The commander, same bodies: the fields are read from forms of every spelling.
    cy, cy_token = _signed_in(db_url, database, "cy")
    handoff = build({"role": "IC", "person": "bo", "csrf_token": cy_token})
    assert _post(cy, "/incidents/INC-1/roles", ctype, handoff).status_code == (
        303 if is_form else 403
    )
    verify = build({"to": "verified", "reason": "graphs flat", "csrf_token": cy_token})
    assert _post(cy, "/incidents/INC-1/stage", ctype, verify).status_code == (
        303 if is_form else 403
    )
    inc = incidents.get(database, "INC-1")
    if is_form:
        assert (inc.stage.value, inc.commander) == ("verified", "bo")
    else:
        assert (inc.stage.value, inc.commander) == ("fixed", "cy")


def test_no_spelling_or_media_type_lets_a_responder_do_a_commanders_move(
    db_url: str, database: Database, clock: Any
) -> None:
    incidents.declare(database, title="db slow", actor="seed", severity="P2", commander="cy")
    accounts.add_user(database, "root", role="admin", password=PASSWORD, actor="seed")
    bearer = {"Authorization": "Bearer " + tokens.create_token(database, "r", actor="root")[0]}
    c = TestClient(app_for(db_url, database), follow_redirects=False)
    api = "/api/v1/incidents/INC-1"
    attempts: list[tuple[str, str, str | None, str]] = [
        ("POST", f"{api}/stage", "application/json", '{"to": "Verified", "reason": "x"}'),
        ("POST", f"{api}/stage", "application/json", '{"to": " CLOSED ", "reason": "x"}'),
        ("POST", f"{api}/stage", "application/json", '{"to": "fixed", "to": "closed"}'),
        ("POST", f"{api}/stage", "Application/JSON; charset=utf-8", '{"to": "verified"}'),
        ("POST", f"{api}/stage", "application/merge-patch+json", '{"to": "verified"}'),
        ("POST", f"{api}/roles", "application/json", '{"role": "IC", "person": "bo"}'),
        (
            "POST",
            f"{api}/roles",
            "application/json",
            '{"role": "incident commander", "person": "bo"}',
        ),
        (
            "POST",
            f"{api}/roles",
            "application/json",
            '{"role": "Incident-Commander", "person": "b"}',
        ),
        ("DELETE", f"{api}/roles/IC", None, ""),
        ("DELETE", f"{api}/roles/Incident-Commander", None, ""),
        ("DELETE", "/api/v1/incidents/inc-1/roles/commander", None, ""),
        ("POST", "/api/v1/incidents/inc-1/severity", "application/json", '{"severity": "P0"}'),
        ("POST", f"{api}/reopen", "application/json", '{"reason": "x"}'),
        # Pages, with a bearer token (no CSRF): duplicate fields, odd spellings.
        (
            "POST",
            "/incidents/INC-1/stage",
            "application/x-www-form-urlencoded",
            "to=fixed&to=closed",
        ),
        ("POST", "/incidents/INC-1/stage", "application/x-www-form-urlencoded", "to=%20Verified"),
        ("POST", "/incidents/INC-1/roles", "application/x-www-form-urlencoded", "role=ic&person=b"),
    ]
    for method, url, ctype, body in attempts:
        headers = {**bearer, **({"Content-Type": ctype} if ctype else {})}
        r = c.request(method, url, content=body.encode(), headers=headers)
        assert r.status_code == 403, (method, url, body, r.status_code, r.text[:200])
    # A stage in the query string, a trailing slash: nothing moves.
    assert c.post("/incidents/INC-1/stage?to=closed", headers=bearer).status_code == 303
    assert c.post(f"{api}/stage/", json={"to": "closed"}, headers=bearer).status_code in (307, 404)
    inc = incidents.get(database, "INC-1")
    assert (inc.stage.value, inc.commander, inc.severity) == ("detected", "cy", "P2")
    # The same shapes a responder may send go through.
    ok = c.post(
        f"{api}/stage",
        content=b'{"to": "contained"}',
        headers={**bearer, "Content-Type": "Application/JSON"},
    )
    assert ok.status_code == 200 and ok.json()["stage"] == "contained"
