"""Hardening of access: login lockout under parallel guesses, admin-only service settings,
CSRF on every cookie-authenticated change whatever the body type."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient

from warroom.access import accounts, login, tokens
from warroom.access.identity import Role
from warroom.comms import catalog
from warroom.core.config import load_settings
from warroom.core.db import Database
from warroom.core.errors import AuthFailed, TooManyAttempts
from warroom.web.app import create_app

PASSWORD = "correct horse battery"


def _guess_in_parallel(
    db: Database, passwords: list[str], client: str, name: str = "ana"
) -> list[str]:
    """Every password tried at once from its own thread; what each attempt got."""
    results: list[str] = [""] * len(passwords)
    start = threading.Barrier(len(passwords))

    def attempt(i: int) -> None:
        start.wait()
        try:
            login.authenticate(db, name, passwords[i], client=client)
            results[i] = "ok"
        except TooManyAttempts:
            results[i] = "locked"
        except AuthFailed:
            results[i] = "wrong"

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(len(passwords))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def test_parallel_guesses_are_counted_before_any_password_is_checked(
    db: Database, clock: Any
) -> None:
    accounts.add_user(db, "ana", role="viewer", password=PASSWORD, actor="root")
    results = _guess_in_parallel(db, [f"guess {i}" for i in range(30)], "10.0.0.9")
    assert results.count("wrong") == login.MAX_FAILURES
    assert results.count("locked") == 30 - login.MAX_FAILURES
    # The right password, within the window: still locked for this pair.
    with pytest.raises(TooManyAttempts):
        login.authenticate(db, "ana", PASSWORD, client="10.0.0.9")
    # 30 parallel attempts with the right one among them: at most MAX_FAILURES are checked.
    # (another account: ana's own count, over all clients, is now past its wider limit)
    accounts.add_user(db, "bo", role="viewer", password=PASSWORD, actor="root")
    mixed = [f"guess {i}" for i in range(29)] + [PASSWORD]
    results = _guess_in_parallel(db, mixed, "10.0.0.10", name="bo")
    assert results.count("wrong") + results.count("ok") == login.MAX_FAILURES
    assert results.count("locked") == 30 - login.MAX_FAILURES


def test_guesses_spread_over_clients_lock_the_account_and_spraying_locks_the_client(
    db: Database, clock: Any
) -> None:
    accounts.add_user(db, "ana", role="viewer", password=PASSWORD, actor="root")
    accounts.add_user(db, "bo", role="viewer", password=PASSWORD, actor="root")
    for i in range(login.LIMITS["account"]):
        with pytest.raises(AuthFailed):
            login.authenticate(db, "ana", "wrong", client=f"10.1.0.{i}")
    with pytest.raises(TooManyAttempts):
        login.authenticate(db, "ana", PASSWORD, client="10.9.9.9")
    for i in range(login.LIMITS["client"]):
        with pytest.raises(AuthFailed):
            login.authenticate(db, f"user{i}", "wrong", client="10.2.0.1")
    with pytest.raises(TooManyAttempts):
        login.authenticate(db, "bo", PASSWORD, client="10.2.0.1")
    assert login.authenticate(db, "bo", PASSWORD, client="10.2.0.2").name == "bo"
    clock.advance(seconds=login.FAILURE_WINDOW.total_seconds() + 1)
    assert login.authenticate(db, "ana", PASSWORD, client="10.9.9.9").name == "ana"


def test_only_an_admin_sets_where_a_service_is_announced(db: Database, clock: Any) -> None:
    accounts.add_user(db, "root", role="admin", password=PASSWORD, actor="seed")
    bearer = {
        r: {"Authorization": "Bearer " + tokens.create_token(db, r.value, role=r, actor="root")[0]}
        for r in (Role.RESPONDER, Role.COMMANDER, Role.ADMIN)
    }
    c = TestClient(create_app(load_settings(database_url=db.url), database=db))
    # A plain service: a responder may add it.
    plain = {"name": "checkout", "owner": "payments"}
    assert c.post("/api/v1/services", json=plain, headers=bearer[Role.RESPONDER]).status_code == 201
    attempts: list[tuple[str, dict[str, Any]]] = [
        ("/api/v1/services", {"name": "evil", "contact": "json://attacker.example/hook"}),
        ("/api/v1/services", {"name": "pub", "public": True}),
        ("/api/v1/services", {"name": "pub2", "public": "yes"}),
        ("/api/v1/services", {**plain, "replace": True, "contact": "mailto:x@evil"}),
        ("/api/v1/services", {**plain, "replace": 1}),
    ]
    for who in (Role.RESPONDER, Role.COMMANDER):
        for url, body in attempts:
            r = c.post(url, json=body, headers=bearer[who])
            assert r.status_code == 403 and "needs the admin role" in r.text, (who, body)
        forms = [
            ("/services", {"name": "evil", "contact": "json://attacker.example/hook"}),
            ("/services", {"name": "pub", "public": "on"}),
            ("/services", {"name": "checkout", "replace": "yes"}),
            ("/services/checkout/public", {"public": "yes"}),
        ]
        for url, fields in forms:
            r = c.post(url, data=fields, headers=bearer[who], follow_redirects=False)
            assert r.status_code == 403, (who, url, fields, r.status_code)
    assert [(s.name, s.contact, s.public) for s in catalog.list_services(db)] == [
        ("checkout", "", False)
    ]
    # The admin may.
    for url, body in attempts:
        r = c.post(url, json=body, headers=bearer[Role.ADMIN])
        assert r.status_code == 201, (body, r.text[:200])
    found = {s.name: s for s in catalog.list_services(db)}
    assert found["evil"].contact == "json://attacker.example/hook" and found["pub"].public


def test_every_cookie_authenticated_change_needs_the_csrf_token_whatever_its_method_and_body(
    db: Database, clock: Any
) -> None:
    import re

    from warroom import incidents

    incidents.declare(db, title="db slow", actor="seed", severity="P2")
    incidents.add_task(db, "INC-1", title="look", actor="seed")
    incidents.assign_role(db, "INC-1", role="scribe", person="bo", actor="seed")
    accounts.add_user(db, "ana", role="responder", password=PASSWORD, actor="root")
    c = TestClient(
        create_app(load_settings(database_url=db.url), database=db), follow_redirects=False
    )
    assert c.post("/login", data={"name": "ana", "password": PASSWORD}).status_code == 303
    m = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', c.get("/incidents/INC-1").text)
    assert m
    token = m.group(1)
    changes = [
        ("DELETE", "/api/v1/incidents/INC-1/roles/scribe", None, b""),
        ("PATCH", "/api/v1/incidents/INC-1/tasks/1", "application/json", b'{"status":"done"}'),
        ("PATCH", "/api/v1/incidents/INC-1/tasks/1", "Application/Merge-Patch+JSON", b"{}"),
        ("POST", "/incidents/INC-1/notes", "Multipart/Form-Data; boundary=B", b"--B--\r\n"),
        ("POST", "/incidents/INC-1/notes", "APPLICATION/X-WWW-FORM-URLENCODED", b"text=x"),
        ("POST", "/incidents/INC-1/notes", "text/plain;charset=utf-8", b"text=x"),
        ("POST", "/incidents/INC-1/notes", "application/octet-stream", b"text=x"),
        ("POST", "/api/v1/incidents/INC-1/notes", "application/x-www-form-urlencoded", b"text=x"),
    ]
    for method, url, ctype, body in changes:
        headers = {"Content-Type": ctype} if ctype else {}
        r = c.request(method, url, content=body, headers=headers)
        assert r.status_code == 403, (method, url, ctype, r.status_code)
    assert [e.kind for e in incidents.timeline.read(db, "INC-1")][-1] == "role.assigned"
    # With the token in the header, the same DELETE goes through.
    r = c.delete("/api/v1/incidents/INC-1/roles/scribe", headers={"X-CSRF-Token": token})
    assert r.status_code < 300, r.text[:200]
