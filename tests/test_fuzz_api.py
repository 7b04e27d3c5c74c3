"""The API fuzzed with schemathesis against its own OpenAPI document: never a 5xx.

Bounded: at most 20 generated requests per operation (derandomized, so CI runs are
repeatable), in-process (ASGI) on SQLite, with an incident INC-1 and a task present so that
generated calls reach the domain code and not only 404s. Operations are driven one by one
with Hypothesis rather than through schemathesis's pytest plugin, which does not load under
pytest 9.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
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


# --- hostile shapes, on both stores ---------------------------------------------------------------

BIG = 2**63
HOSTILE: list[Any] = [
    "nul\x00byte",
    BIG,
    -BIG - 1,
    10**30,
    "x" * 100_000,
    "é" * 300,
    [
        [
            [
                [
                    [
                        [
                            [
                                [
                                    [
                                        [
                                            [
                                                [
                                                    [
                                                        [
                                                            [
                                                                [
                                                                    [
                                                                        [
                                                                            [
                                                                                [
                                                                                    [
                                                                                        [
                                                                                            [
                                                                                                [
                                                                                                    [
                                                                                                        [
                                                                                                            [
                                                                                                                [
                                                                                                                    [
                                                                                                                        [
                                                                                                                            [
                                                                                                                                [
                                                                                                                                    [
                                                                                                                                        [
                                                                                                                                            [
                                                                                                                                                [
                                                                                                                                                    [
                                                                                                                                                        [
                                                                                                                                                            [
                                                                                                                                                                [
                                                                                                                                                                    [
                                                                                                                                                                        [
                                                                                                                                                                            [
                                                                                                                                                                                [
                                                                                                                                                                                    [
                                                                                                                                                                                        [
                                                                                                                                                                                            [
                                                                                                                                                                                                [
                                                                                                                                                                                                    [
                                                                                                                                                                                                        [
                                                                                                                                                                                                            [
                                                                                                                                                                                                                [
                                                                                                                                                                                                                    [
                                                                                                                                                                                                                        [
                                                                                                                                                                                                                            [
                                                                                                                                                                                                                                [
                                                                                                                                                                                                                                    [
                                                                                                                                                                                                                                        [
                                                                                                                                                                                                                                            [
                                                                                                                                                                                                                                                [
                                                                                                                                                                                                                                                    [
                                                                                                                                                                                                                                                        [
                                                                                                                                                                                                                                                            [
                                                                                                                                                                                                                                                                [
                                                                                                                                                                                                                                                                    [
                                                                                                                                                                                                                                                                        [
                                                                                                                                                                                                                                                                            [
                                                                                                                                                                                                                                                                                "deep"
                                                                                                                                                                                                                                                                            ]
                                                                                                                                                                                                                                                                        ]
                                                                                                                                                                                                                                                                    ]
                                                                                                                                                                                                                                                                ]
                                                                                                                                                                                                                                                            ]
                                                                                                                                                                                                                                                        ]
                                                                                                                                                                                                                                                    ]
                                                                                                                                                                                                                                                ]
                                                                                                                                                                                                                                            ]
                                                                                                                                                                                                                                        ]
                                                                                                                                                                                                                                    ]
                                                                                                                                                                                                                                ]
                                                                                                                                                                                                                            ]
                                                                                                                                                                                                                        ]
                                                                                                                                                                                                                    ]
                                                                                                                                                                                                                ]
                                                                                                                                                                                                            ]
                                                                                                                                                                                                        ]
                                                                                                                                                                                                    ]
                                                                                                                                                                                                ]
                                                                                                                                                                                            ]
                                                                                                                                                                                        ]
                                                                                                                                                                                    ]
                                                                                                                                                                                ]
                                                                                                                                                                            ]
                                                                                                                                                                        ]
                                                                                                                                                                    ]
                                                                                                                                                                ]
                                                                                                                                                            ]
                                                                                                                                                        ]
                                                                                                                                                    ]
                                                                                                                                                ]
                                                                                                                                            ]
                                                                                                                                        ]
                                                                                                                                    ]
                                                                                                                                ]
                                                                                                                            ]
                                                                                                                        ]
                                                                                                                    ]
                                                                                                                ]
                                                                                                            ]
                                                                                                        ]
                                                                                                    ]
                                                                                                ]
                                                                                            ]
                                                                                        ]
                                                                                    ]
                                                                                ]
                                                                            ]
                                                                        ]
                                                                    ]
                                                                ]
                                                            ]
                                                        ]
                                                    ]
                                                ]
                                            ]
                                        ]
                                    ]
                                ]
                            ]
                        ]
                    ]
                ]
            ]
        ]
    ],
    {"$ne": None},
    1.5e308,
    '=HYPERLINK("http://evil")',
]
QUERY_HOSTILE = ["nul\x00byte", str(BIG), str(-BIG - 1), str(10**30), "x" * 5000, "1e999"]
PATH_HOSTILE = ["INC-1%00", str(BIG), f"INC-{BIG}", "T" + str(BIG), "-" + str(BIG), "x" * 5000]


def _schema(doc: dict[str, Any], node: Any) -> dict[str, Any]:
    while isinstance(node, dict) and "$ref" in node:
        node = doc["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node if isinstance(node, dict) else {}


def _properties(doc: dict[str, Any], op: dict[str, Any]) -> list[str]:
    content = op.get("requestBody", {}).get("content", {})
    body = _schema(doc, content.get("application/json", {}).get("schema"))
    return sorted(body.get("properties", {}))


@pytest.mark.slow
def test_hostile_shapes_in_every_field_never_answer_5xx(db_url: str, clock: Any) -> None:
    """NUL bytes, numbers past 64 bits, long and deep values in every body field, query
    parameter and path parameter of every operation, on both stores: 4xx or success, never
    5xx. Deterministic: the shapes rotate over the operations, so each meets every shape."""
    db = Database(db_url)
    try:
        incidents.declare(db, title="Fuzz target", actor="fuzz", severity="P2")
        incidents.add_task(db, "INC-1", title="first task", actor="fuzz")
        app = create_app(load_settings(database_url=db_url), database=db)
        client = TestClient(app, raise_server_exceptions=False)
        doc = app.openapi()
        failures = []
        sent = 0
        for n, (path, item) in enumerate(sorted(doc["paths"].items())):
            for method, op in item.items():
                if method not in ("get", "post", "put", "patch", "delete"):
                    continue
                for k in range(2):
                    shape = HOSTILE[(n + k) % len(HOSTILE)]
                    name = PATH_HOSTILE[(n + k) % len(PATH_HOSTILE)] if k else "INC-1"
                    url = re.sub(r"\{(\w+)\}", lambda _m, v=name: v, path)  # noqa: B023
                    params = {
                        p["name"]: QUERY_HOSTILE[(n + k) % len(QUERY_HOSTILE)]
                        for p in op.get("parameters", [])
                        if p.get("in") == "query"
                    }
                    kwargs: dict[str, Any] = {"params": params}
                    if method in ("post", "put", "patch"):
                        body = {field: shape for field in _properties(doc, op)}
                        kwargs["content"] = json.dumps(body)
                        kwargs["headers"] = {"Content-Type": "application/json"}
                    r = client.request(method.upper(), url, **kwargs)
                    sent += 1
                    if r.status_code >= 500:
                        failures.append(
                            f"{method.upper()} {url[:80]} {shape!r:.60} -> {r.text[:200]}"
                        )
        assert sent > 100
        assert failures == [], "\n".join(failures[:10])
    finally:
        db.dispose()
