"""Access in the web app: accounts mode, roles, sessions, CSRF, webhook tokens, safe pages."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from alert_payloads import am_alert, am_payload
from warroom import incidents
from warroom.access import accounts, sessions, tokens
from warroom.core.config import load_settings
from warroom.core.db import Database
from warroom.incidents import timeline
from warroom.web.app import create_app
from warroom.web.security import CSP

PASSWORD = "correct horse battery"
EVIL = "http://evil.example"


@pytest.fixture
def database(db_url: str) -> Any:
    database = Database(db_url)
    yield database
    database.dispose()


def client(db_url: str, database: Database, **kwargs: Any) -> TestClient:
    return TestClient(
        create_app(load_settings(database_url=db_url), database=database),
        follow_redirects=False,
        **kwargs,
    )


def login(c: TestClient, name: str, password: str = PASSWORD) -> Any:
    return c.post("/login", data={"name": name, "password": password, "next": "/"})


def csrf(c: TestClient, page: str = "/") -> str:
    m = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', c.get(page).text)
    assert m, "no csrf field on the page"
    return m.group(1)


def actors(database: Database, key: str = "INC-1") -> list[tuple[str, str]]:
    return [(e.kind, e.actor) for e in timeline.read(database, key)]


def test_loopback_mode_is_unchanged(db_url: str, database: Database, clock: Any) -> None:
    c = client(db_url, database)
    made = c.post("/api/v1/incidents", json={"title": "db slow"}, headers={"X-Warroom-User": "ana"})
    assert made.status_code == 201
    assert c.post("/incidents/INC-1/notes", data={"text": "looking"}).status_code == 303
    assert c.get("/").status_code == 200
    assert c.get("/api/v1/whoami", headers={"X-Warroom-User": "bo"}).json()["via"] == "loopback"
    assert actors(database)[0] == ("incident.declared", "ana")
    assert "csrf_token" not in c.get("/incidents/INC-1").text  # no session: origin check only


def test_accounts_mode_needs_an_identity_except_status_health_static(
    db_url: str, database: Database, clock: Any
) -> None:
    incidents.declare(database, title="db slow", actor="seed", severity="P2")
    accounts.add_user(database, "ana", role="responder", password=PASSWORD, actor="root")
    c = client(db_url, database)
    listed = c.get("/api/v1/incidents", headers={"X-Warroom-User": "ana"})  # header ignored
    assert listed.status_code == 401 and "Bearer" in listed.json()["detail"]
    page = c.get("/incidents/INC-1?x=1")
    assert page.status_code == 303
    assert page.headers["location"] == "/login?next=%2Fincidents%2FINC-1%3Fx%3D1"
    assert c.post("/incidents/INC-1/notes", data={"text": "x"}).status_code == 303
    for open_path in ("/status", "/status.json", "/healthz", "/static/warroom.css", "/login"):
        assert c.get(open_path).status_code == 200, open_path
    assert c.get("/docs").status_code == 303
    assert c.get("/api/v1/openapi.json").status_code == 401


def test_login_sets_a_strict_httponly_cookie_and_secure_over_https(
    db_url: str, database: Database, tmp_path: Path, clock: Any
) -> None:
    accounts.add_user(database, "ana", role="responder", password=PASSWORD, actor="root")
    plain = client(db_url, database)
    wrong = login(plain, "ana", "not the password")
    assert wrong.status_code == 401 and "wrong account name or password" in wrong.text
    ok = login(plain, "ana")
    assert ok.status_code == 303 and ok.headers["location"] == "/"
    cookie = ok.headers["set-cookie"].lower()
    assert "warroom_session=" in cookie and "httponly" in cookie and "samesite=strict" in cookie
    assert "secure" not in cookie  # plain-http loopback (auto)
    assert plain.get("/api/v1/whoami").json() == {
        "name": "ana",
        "role": "responder",
        "via": "session",
    }

    https = client(db_url, database, base_url="https://testserver")
    assert "secure" in login(https, "ana").headers["set-cookie"].lower()
    config = tmp_path / "warroom.toml"
    config.write_text("[access]\nsecure_cookies = true\n")
    forced = TestClient(
        create_app(load_settings(database_url=db_url, config_path=config), database=database),
        follow_redirects=False,
    )
    assert "secure" in login(forced, "ana").headers["set-cookie"].lower()
    # Only local paths are followed after login.
    evil = plain.post(
        "/login", data={"name": "ana", "password": PASSWORD, "next": "//evil.example/x"}
    )
    assert evil.headers["location"] == "/"
    # Logging out ends the session server-side.
    token = csrf(plain)
    assert plain.post("/logout", data={"csrf_token": token}).status_code == 303
    assert plain.get("/api/v1/whoami").status_code == 401


def test_login_rate_limit_answers_429_with_the_wait(
    db_url: str, database: Database, clock: Any
) -> None:
    accounts.add_user(database, "ana", role="responder", password=PASSWORD, actor="root")
    c = client(db_url, database)
    for _ in range(5):
        assert login(c, "ana", "nope nope nope").status_code == 401
    limited = login(c, "ana")
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) == 301
    assert "try again in 301 seconds" in limited.text
    clock.advance(minutes=5, seconds=1)
    assert login(c, "ana").status_code == 303


def test_role_matrix(db_url: str, database: Database, clock: Any) -> None:
    incidents.declare(database, title="db slow", actor="seed", severity="P2")
    accounts.add_user(database, "root", role="admin", password=PASSWORD, actor="seed")
    secrets = {
        role: tokens.create_token(database, role, role=role, actor="root")[0]
        for role in ("viewer", "responder", "commander")
    }
    c = client(db_url, database)

    def call(role: str, method: str, path: str, body: Any = None) -> Any:
        return c.request(
            method, path, json=body, headers={"Authorization": f"Bearer {secrets[role]}"}
        )

    assert call("viewer", "GET", "/api/v1/incidents/INC-1").status_code == 200
    assert call("viewer", "POST", "/api/v1/severity/suggest", {}).status_code != 403
    refused = call("viewer", "POST", "/api/v1/incidents/INC-1/notes", {"text": "hi"})
    assert refused.status_code == 403
    assert refused.json()["detail"].startswith("token:viewer is viewer: this needs the responder")

    assert call("responder", "POST", "/api/v1/incidents/INC-1/notes", {"text": "hi"}).is_success
    assert call("responder", "POST", "/api/v1/incidents/INC-1/stage", {"to": "fixed"}).is_success
    assert call(
        "responder", "POST", "/api/v1/incidents/INC-1/roles", {"role": "scribe", "person": "bo"}
    ).is_success
    for path, body in (
        ("/api/v1/incidents/INC-1/stage", {"to": "Verified", "reason": "graphs flat"}),
        ("/api/v1/incidents/INC-1/severity", {"severity": "P1"}),
        ("/api/v1/incidents/INC-1/roles", {"role": "IC", "person": "bo"}),
        ("/api/v1/incidents/INC-1/reopen", {"reason": "back"}),
    ):
        denied = call("responder", "POST", path, body)
        assert denied.status_code == 403, path
        assert "needs the commander role" in denied.json()["detail"]
    assert call("responder", "DELETE", "/api/v1/incidents/INC-1/roles/commander").status_code == 403

    assert call(
        "commander", "POST", "/api/v1/incidents/INC-1/severity", {"severity": "P1"}
    ).is_success
    moved = call(
        "commander", "POST", "/api/v1/incidents/INC-1/stage", {"to": "verified", "reason": "flat"}
    )
    assert moved.is_success, moved.text
    assert call(
        "commander", "POST", "/api/v1/incidents/INC-1/roles", {"role": "commander", "person": "bo"}
    ).is_success
    # Each change is recorded as the token that made it.
    kinds = actors(database)
    assert ("note.added", "token:responder") in kinds
    assert ("severity.changed", "token:commander") in kinds


def test_timeline_actor_is_the_signed_in_account_and_forms_need_the_csrf_token(
    db_url: str, database: Database, clock: Any
) -> None:
    incidents.declare(database, title="db slow", actor="seed", severity="P2")
    accounts.add_user(database, "ana", role="responder", password=PASSWORD, actor="root")
    accounts.add_user(database, "vic", role="viewer", password=PASSWORD, actor="root")
    c = client(db_url, database)
    login(c, "ana")
    token = csrf(c, "/incidents/INC-1")
    listing = c.get("/").text
    assert token in listing and "ana (responder)" in listing  # the sign-out form

    missing = c.post("/incidents/INC-1/notes", data={"text": "no token"})
    assert missing.status_code == 403
    forged = c.post("/incidents/INC-1/notes", data={"text": "bad", "csrf_token": "0" * 64})
    assert forged.status_code == 403
    ok = c.post(
        "/incidents/INC-1/notes",
        data={"text": "from ana", "csrf_token": token},
        headers={"X-Warroom-User": "mallory", "Origin": "http://testserver"},
    )
    assert ok.status_code == 303
    assert actors(database)[-1] == ("note.added", "ana")
    # The JSON API with the session cookie also records the account; it sends the session's
    # CSRF token as a header (without it, refused like a form).
    unsigned = c.post("/api/v1/incidents/INC-1/notes", json={"text": "no token"})
    assert unsigned.status_code == 403 and unsigned.json()["code"] == "forbidden"
    api = c.post(
        "/api/v1/incidents/INC-1/notes",
        json={"text": "json"},
        headers={"X-Warroom-User": "eve", "X-CSRF-Token": token},
    )
    assert api.status_code == 201 and actors(database)[-1] == ("note.added", "ana")
    # Pages: a viewer's form post is refused with the role it needs.
    v = client(db_url, database)
    login(v, "vic")
    refused = v.post(
        "/incidents/INC-1/notes",
        data={"text": "x", "csrf_token": csrf(v)},
        headers={"Accept": "text/html"},
    )
    assert refused.status_code == 403 and "needs the responder role" in refused.text


def test_cross_site_form_posts_are_refused(db_url: str, database: Database, clock: Any) -> None:
    # Loopback mode: the origin check alone.
    c = client(db_url, database)
    cross = c.post("/incidents/new", data={"title": "x"}, headers={"Origin": EVIL})
    assert cross.status_code == 403
    assert (
        c.post(
            "/incidents/new", data={"title": "x"}, headers={"Sec-Fetch-Site": "cross-site"}
        ).status_code
        == 403
    )
    same = c.post(
        "/incidents/new",
        data={"title": "same origin"},
        headers={"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"},
    )
    assert same.status_code == 303
    assert c.post("/incidents/new", data={"title": "curl"}).status_code == 303  # no browser headers
    # Accounts mode: even with the right CSRF token, another origin is refused.
    accounts.add_user(database, "ana", role="responder", password=PASSWORD, actor="root")
    a = client(db_url, database)
    login(a, "ana")
    token = csrf(a)
    evil = a.post(
        "/incidents/INC-1/notes", data={"text": "x", "csrf_token": token}, headers={"Origin": EVIL}
    )
    assert evil.status_code == 403
    assert (
        a.post(
            "/incidents/INC-1/notes",
            data={"text": "x", "csrf_token": token},
            headers={"Sec-Fetch-Site": "none"},
        ).status_code
        == 303
    )
    assert [e for e in actors(database) if e[0] == "note.added"] == [("note.added", "ana")]


def test_webhook_intake_needs_its_source_token(db_url: str, database: Database, clock: Any) -> None:
    body = am_payload("checkout", [am_alert("fp1", slo="checkout")])
    c = client(db_url, database)
    assert c.post("/api/v1/alerts/alertmanager", json=body).status_code == 200  # nothing set up
    am, _ = tokens.create_token(database, "am", source="alertmanager", actor="root")
    generic, _ = tokens.create_token(database, "mon", source="generic:nagios", actor="root")
    api, _ = tokens.create_token(database, "ci", role="admin", actor="root")
    refused = c.post("/api/v1/alerts/alertmanager", json=body)
    assert refused.status_code == 401 and "alertmanager" in refused.json()["detail"]
    assert refused.json()["hint"]["params"] == {"source": "alertmanager"}  # the CLI: --source
    for wrong in (generic, api, "wr_nonsense"):
        headers = {"Authorization": f"Bearer {wrong}"}
        assert c.post("/api/v1/alerts/alertmanager", json=body, headers=headers).status_code == 401
    good = c.post(
        "/api/v1/alerts/alertmanager", json=body, headers={"Authorization": f"Bearer {am}"}
    )
    assert good.status_code == 200
    assert tokens.get_token(database, "am").last_used_at == clock.now
    # Another generic source without a token stays open in loopback mode.
    assert c.post("/api/v1/alerts/webhook/other", json={}).status_code != 401
    assert c.post("/api/v1/alerts/webhook/nagios", json={}).status_code == 401
    # A webhook token opens nothing else.
    other = c.get("/api/v1/incidents", headers={"Authorization": f"Bearer {am}"})
    assert other.status_code == 403
    # Accounts mode: every intake needs its token.
    accounts.add_user(database, "ana", role="admin", password=PASSWORD, actor="root")
    assert c.post("/api/v1/alerts/webhook/other", json={}).status_code == 401
    tokens.revoke_token(database, "am", actor="root")
    assert (
        c.post(
            "/api/v1/alerts/alertmanager", json=body, headers={"Authorization": f"Bearer {am}"}
        ).status_code
        == 401
    )
    assert c.get("/api/v1/incidents", headers={"Authorization": f"Bearer {api}"}).status_code == 200


def test_titles_are_escaped_and_headers_are_safe(
    db_url: str, database: Database, clock: Any
) -> None:
    incidents.declare(database, title="<script>alert('x')</script>", actor="seed", severity="P2")
    c = client(db_url, database)
    for page in ("/", "/incidents/INC-1"):
        r = c.get(page)
        assert r.status_code == 200
        assert "<script>alert" not in r.text
        assert "&lt;script&gt;alert(" in r.text
        assert "<script" not in r.text.lower()  # no inline scripts at all
        assert r.headers["content-security-policy"] == CSP
        assert "frame-ancestors 'none'" in CSP and "script-src 'self';" in CSP
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "same-origin"
        assert r.headers["cache-control"] == "no-store"
    api = c.get("/api/v1/incidents/INC-1")
    assert (
        api.headers["cache-control"] == "no-store"
        and api.headers["x-content-type-options"] == "nosniff"
    )
    for cacheable in ("/status", "/static/warroom.css"):
        r = c.get(cacheable)
        assert (
            r.headers.get("cache-control") != "no-store"
            and r.headers["content-security-policy"] == CSP
        )
    docs = c.get("/docs")
    assert docs.status_code == 200 and "unsafe-inline" in docs.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in docs.headers["content-security-policy"]


def test_templates_have_no_inline_script_or_style_and_every_post_form_has_the_csrf_field() -> None:
    folder = Path(__file__).parents[1] / "src" / "warroom" / "web" / "templates"
    for path in sorted(folder.glob("*.html")):
        text = path.read_text()
        assert "<script" not in text and "<style" not in text and "style=" not in text, path.name
        for form in re.findall(r"<form method=\"post\"[^>]*>(.{0,40})", text):
            assert form.startswith("{{ csrf_field() }}"), path.name


def test_incident_opened_by_a_webhook_token_is_recorded_as_that_token(
    db_url: str, database: Database
) -> None:
    am, _ = tokens.create_token(database, "am", source="alertmanager", actor="root")
    c = client(db_url, database)
    body = am_payload("payments", [am_alert("fp9", slo="payments")])
    r = c.post("/api/v1/alerts/alertmanager", json=body, headers={"Authorization": f"Bearer {am}"})
    assert r.status_code == 200 and r.json()["outcome"] == "opened"
    events = timeline.read(database, r.json()["incident"])
    assert events[0].kind == "incident.declared"
    assert {e.actor for e in events} == {"token:am"}


def test_access_checks_read_the_database_off_the_event_loop(
    db_url: str, database: Database, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read on the event loop would stall every request of the process while it waits for a
    pooled connection: token, session and access-state lookups run in worker threads."""
    import asyncio

    calls: list[str] = []

    def off_loop(name: str, fn: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                calls.append(name)
                return fn(*args, **kwargs)
            raise AssertionError(f"{name} ran on the event loop")

        return wrapper

    for module, name in (
        (tokens, "token_identity"),
        (sessions, "session_identity"),
        (accounts, "any_accounts"),
        (tokens, "sources_with_tokens"),
    ):
        monkeypatch.setattr(module, name, off_loop(name, getattr(module, name)))
    am, _ = tokens.create_token(database, "am", source="alertmanager", actor="root")
    api, _ = tokens.create_token(database, "ci", role="admin", actor="root")
    accounts.add_user(database, "ana", role="admin", password=PASSWORD, actor="root")
    c = client(db_url, database)
    body = am_payload("loop", [am_alert("fp1", slo="loop")])
    ok = c.post("/api/v1/alerts/alertmanager", json=body, headers={"Authorization": f"Bearer {am}"})
    assert ok.status_code == 200
    assert c.get("/api/v1/incidents", headers={"Authorization": f"Bearer {api}"}).status_code == 200
    assert login(c, "ana").status_code == 303
    assert c.get("/").status_code == 200
    assert client(db_url, database).get("/").status_code == 303  # no credentials: the state
    assert {"token_identity", "session_identity", "any_accounts", "sources_with_tokens"} <= set(
        calls
    )
