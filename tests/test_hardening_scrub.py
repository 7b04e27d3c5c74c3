"""No path stores a secret in clear: notes, status updates, text attachments (known by their
content, whatever their name or declared type), alert annotations; the person is told how
many were redacted."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from alert_payloads import am_alert, am_payload
from warroom import incidents
from warroom.cli.main import app as cli_app
from warroom.comms import updates
from warroom.core.config import load_settings
from warroom.core.db import Database
from warroom.detect import alerts
from warroom.incidents import artifacts, timeline
from warroom.web.app import create_app

# One of each class the scrubber knows, none of them a real credential.
SECRETS = {
    "bearer": "Authorization: Bearer abcdefghijklmnop1234",
    "basic": "Authorization: Basic dXNlcjpodW50ZXIyMjI=",
    "url": "postgres://app:S3cretPassw0rd@db.internal:5432/app",
    "aws": "key AKIAIOSFODNN7EXAMPLE here",
    "stripe": "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc",
    "github": "ghp_" + "a" * 36,
    "slack": "xoxb-" + "123456789012-abcdefghijkl",
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
    + "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "card": "card 4111 1111 1111 1111 declined",
    "pem": "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----",
}
LEAKS = [
    "abcdefghijklmnop1234",
    "dXNlcjpodW50ZXIyMjI=",
    "S3cretPassw0rd",
    "AKIAIOSFODNN7EXAMPLE",
    "4eC39HqLyjWDarjtT1zdp7dc",
    "a" * 36,
    "abcdefghijkl",
    "dozjgNryP4J3jVmNHl0w5N",
    "4111 1111 1111 1111",
    "MIIEowIBAAKCAQEA",
]
TEXT = "\n".join(SECRETS.values())


def _dump(db: Database) -> str:
    """Every row of every table, as text: where a leaked secret would show."""
    out = []
    with db.read() as conn:
        for table in _tables(db):
            for row in conn.execute(sa.text(f'SELECT * FROM "{table}"')):
                for value in row:
                    if isinstance(value, bytes | memoryview):
                        out.append(bytes(value).decode("utf-8", "replace"))
                    else:
                        out.append(
                            json.dumps(value, default=str) if not isinstance(value, str) else value
                        )
    return "\n".join(out)


def _tables(db: Database) -> list[str]:
    return [t for t in sa.inspect(db.engine).get_table_names() if t != "alembic_version"]


def _assert_clean(db: Database) -> None:
    stored = _dump(db)
    found = [leak for leak in LEAKS if leak in stored]
    assert found == [], f"secrets stored in clear: {found}"


def test_notes_updates_and_alert_annotations_are_scrubbed(db: Database, clock: Any) -> None:
    incidents.declare(db, title="db slow", actor="ana", severity="P2")
    incidents.add_note(db, "INC-1", text=TEXT, actor="ana")
    updates.post_update(
        db, "INC-1", audience="internal", actor="ana", conditions=TEXT, actions=TEXT
    )
    payload = am_payload("leak", [am_alert("l1", slo="leak")])
    payload["alerts"][0]["annotations"] = {"description": TEXT, "summary": SECRETS["url"]}
    alerts.receive_alertmanager(db, payload)
    incidents.add_task(db, "INC-1", title="rotate " + SECRETS["github"], actor="ana")
    _assert_clean(db)
    events = timeline.read(db, "INC-1")
    note = next(e for e in events if e.kind == "note.added")
    assert note.data["redacted"] == len(SECRETS)
    assert note.data["text"].count("[REDACTED]") == len(SECRETS)
    assert f"({len(SECRETS)} secrets redacted)" in note.summary()
    assert "postgres://app:[REDACTED]@db.internal" in note.data["text"]  # the rest is kept
    posted = next(e for e in events if e.kind == "update.posted")
    assert posted.data["redacted"] > 0


def test_attachments_are_scrubbed_when_their_content_is_text(
    db: Database, clock: Any, tmp_path: Path
) -> None:
    incidents.declare(db, title="db slow", actor="ana")
    for name, media in (("dump.bin", "application/octet-stream"), ("x.png", "image/png")):
        art = artifacts.attach(
            db,
            "INC-1",
            actor="ana",
            kind="attachment",
            name=name,
            content=TEXT.encode(),
            media_type=media,
        )
        assert art.redacted == len(SECRETS)
    utf16 = artifacts.attach(
        db,
        "INC-1",
        actor="ana",
        kind="attachment",
        name="w.log",
        content=TEXT.encode("utf-16"),
        media_type="application/octet-stream",
    )
    assert utf16.redacted == len(SECRETS)
    # Binary stays as given (a NUL byte early on: not text).
    raw = b"\x00\x01\x02ELF" + b"\xff" * 50
    assert (
        artifacts.content(
            db,
            artifacts.attach(
                db, "INC-1", actor="ana", kind="attachment", name="core", content=raw
            ).sha256,
        )
        == raw
    )
    # The CLI's note --file says so.
    leak = tmp_path / "secrets.dat"
    leak.write_bytes(TEXT.encode())
    result = CliRunner().invoke(
        cli_app, ["note", "INC-1", "--file", str(leak), "--db", db.url, "--as", "ana"]
    )
    assert result.exit_code == 0, result.output
    assert "secret(s) redacted" in result.output
    result = CliRunner().invoke(cli_app, ["note", "INC-1", TEXT, "--db", db.url, "--as", "ana"])
    assert result.exit_code == 0 and f"{len(SECRETS)} secret(s) redacted" in result.output
    _assert_clean(db)


def test_the_api_says_how_many_secrets_it_redacted(db: Database, clock: Any) -> None:
    c = TestClient(create_app(load_settings(database_url=db.url), database=db))
    user = {"X-Warroom-User": "ana"}
    assert c.post("/api/v1/incidents", json={"title": "db slow"}, headers=user).status_code == 201
    r = c.post("/api/v1/incidents/INC-1/notes", json={"text": TEXT}, headers=user)
    assert r.status_code == 201 and r.json()["redacted"] == len(SECRETS)
    page = c.get("/incidents/INC-1", headers=user).text
    assert f"{len(SECRETS)} secrets redacted" in page
    _assert_clean(db)
