"""The API fuzzed with schemathesis against its own OpenAPI document: never a 5xx.

Bounded: at most 20 generated requests per operation (derandomized, so CI runs are
repeatable), in-process (ASGI) on SQLite, with an incident INC-1 and a task present so that
generated calls reach the domain code and not only 404s. Operations are driven one by one
with Hypothesis rather than through schemathesis's pytest plugin, which does not load under
pytest 9.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from warroom import incidents
from warroom.access import accounts, policy, tokens
from warroom.access.identity import Role
from warroom.core.config import load_settings
from warroom.core.db import Database
from warroom.web import guard
from warroom.web.app import create_app

schemathesis = pytest.importorskip("schemathesis")

MAX_EXAMPLES = 20


def bounded(examples: int) -> Any:
    """Hypothesis settings for one operation: repeatable, no deadline, no example database."""
    return settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )


@pytest.mark.slow
def test_no_operation_answers_with_a_server_error(sqlite_url: str, clock: Any) -> None:
    db = Database(sqlite_url)
    incidents.declare(db, title="Fuzz target", actor="fuzz", severity="P2")
    incidents.add_task(db, "INC-1", title="first task", actor="fuzz")
    app = create_app(load_settings(database_url=sqlite_url), database=db)
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    failures: list[str] = []
    statuses: list[int] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @bounded(MAX_EXAMPLES)
        def run(case: Any) -> None:
            try:
                response = case.call()
            except Exception as exc:  # noqa: BLE001 - the in-process server raised: a 500
                failures.append(
                    f"{case.method} {case.formatted_path} -> 500 ({type(exc).__name__}: "
                    f"{exc})\n  {case.as_curl_command()}"
                )
                return
            statuses.append(response.status_code)
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path} -> {response.status_code}: "
                    f"{response.text[:300]}\n  {case.as_curl_command()}"
                )

        run()
    db.dispose()
    assert operations >= 20
    assert sum(200 <= s < 300 for s in statuses) >= 50  # the fuzzing reached real work
    assert failures == [], "\n".join(failures[:20])


VIEWER_EXAMPLES = 5


@pytest.mark.slow
def test_a_viewer_changes_nothing_whatever_it_sends(sqlite_url: str, clock: Any) -> None:
    """Accounts mode, a viewer token: generated requests never answer 5xx, and no operation
    the policy keeps from viewers ever succeeds (the intake takes only its own tokens)."""
    db = Database(sqlite_url)
    incidents.declare(db, title="Fuzz target", actor="fuzz", severity="P2")
    incidents.add_task(db, "INC-1", title="first task", actor="fuzz")
    accounts.add_user(db, "root", role="admin", password="correct horse battery", actor="fuzz")
    secret, _ = tokens.create_token(db, "fuzz", role="viewer", actor="root")
    app = create_app(load_settings(database_url=sqlite_url), database=db)
    declared = {(m, d.path): d.access for d in guard.routes(app) for m in d.methods}
    bearer = {"Authorization": f"Bearer {secret}"}
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app, headers=bearer)
    failures: list[str] = []
    refused = 0
    answers: list[tuple[str, int, str]] = []  # of the operation being run
    for result in schema.get_all_operations():
        operation = result.ok()
        access = declared[(operation.method.upper(), operation.path)]
        forbidden = access.intake is not None or not any(
            policy.may(Role.VIEWER, a) for a in access.actions()
        )
        answers.clear()

        @given(case=operation.as_strategy())
        @bounded(VIEWER_EXAMPLES)
        def run(case: Any) -> None:
            case.headers = {**(case.headers or {}), **bearer}
            where = f"{case.method} {case.formatted_path}"
            try:
                response = case.call()
            except Exception as exc:  # noqa: BLE001 - the in-process server raised: a 500
                answers.append((where, 500, f"{type(exc).__name__}: {exc}"))
                return
            answers.append((where, response.status_code, response.text[:200]))

        run()
        for where, status, text in answers:
            if status >= 500 or (forbidden and 200 <= status < 300):
                failures.append(f"{where} -> {status}: {text}")
            refused += status in (401, 403)
    db.dispose()
    assert refused >= 50  # the generated requests reached the checks
    assert failures == [], "\n".join(failures[:20])
