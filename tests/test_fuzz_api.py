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
from warroom.core.config import load_settings
from warroom.core.db import Database
from warroom.web.app import create_app

schemathesis = pytest.importorskip("schemathesis")

MAX_EXAMPLES = 20


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
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
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
