"""/api/openapi.json describes every endpoint, and schemathesis, fuzzing each operation
against the live server with an admin token, gets no 5xx, and only documented status
codes and response shapes."""

import schemathesis
from django.urls import get_resolver
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from scheduler_admin.models import RunStatus
from tests.api.conftest import LIVE, token_for
from tests.factories import make_run, make_schedule

pytestmark = LIVE

EXAMPLES = 25  # per operation and generation mode


def test_every_api_route_is_described(anonymous_api):
    spec = anonymous_api.get("openapi.json").json()
    described = {(path, method.upper()) for path, ops in spec["paths"].items() for method in ops}
    api_patterns = get_resolver().url_patterns
    api = next(p for p in api_patterns if str(p.pattern) == "api/")
    for pattern in api.url_patterns:
        route = "/api/" + str(pattern.pattern).replace("<str:", "{").replace("<path:", "{")
        route = route.replace(">", "}")
        if route in ("/api/openapi.json",) or route.startswith("/api/tokens/"):
            continue
        for method in pattern.callback.api_methods:
            assert (route, method) in described, (route, method)
    for path, ops in spec["paths"].items():
        for op in ops.values():
            assert {"401", "403"} <= op["responses"].keys(), path


def test_fuzzing_finds_no_server_error_and_no_undocumented_answer(server):
    schedule = make_schedule(endpoint="/agents/a/runs", payload={"message": "m"})
    run = make_run(schedule, status=RunStatus.FAILED, session_id="s-1")
    known = {"schedule_id": str(schedule.pk), "run_id": str(run.pk)}
    headers = {"Authorization": f"Bearer {token_for('admin')}"}
    schema = schemathesis.openapi.from_url(f"{server.url}/api/openapi.json")
    checked = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        names = {p.name for p in operation.path_parameters}
        fixed = {k: v for k, v in known.items() if k in names}
        strategies = [operation.as_strategy(mode) for mode in GenerationMode]
        if fixed:
            strategies.append(operation.as_strategy(path_parameters=fixed))

        @settings(
            max_examples=EXAMPLES * len(strategies),
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=st.one_of(strategies))
        def no_server_error(case):
            response = case.call(base_url=server.url, headers=headers, timeout=10)
            case.validate_response(
                response,
                checks=[not_a_server_error, response_schema_conformance, status_code_conformance],
                headers=headers,
            )

        no_server_error()
        checked += 1
    # 15 + /api/alerts (channels, incidents, one, acknowledge) + approvals, continue
    assert checked == 21


def test_no_body_the_description_allows_is_refused(server):
    """Positive data acceptance: every rule the server enforces on a body is in the
    description, so a schema-valid create, update or retry is never a 422."""
    schedule = make_schedule(endpoint="/agents/a/runs", payload={"message": "m"})
    run = make_run(schedule, status=RunStatus.FAILED, session_id="s-1")
    known = {"schedule_id": str(schedule.pk), "run_id": str(run.pk)}
    headers = {"Authorization": f"Bearer {token_for('admin')}"}
    schema = schemathesis.openapi.from_url(f"{server.url}/api/openapi.json", headers=headers)
    checked = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.body is None or not len(operation.body):
            continue
        names = {p.name for p in operation.path_parameters}
        fixed = {k: v for k, v in known.items() if k in names}
        strategy = operation.as_strategy(
            GenerationMode.POSITIVE, **({"path_parameters": fixed} if fixed else {})
        )

        @settings(
            max_examples=EXAMPLES * 2,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy)
        def accepted(case):
            # A key sent again with another body is a 422 on purpose (the IETF
            # Idempotency-Key draft says so): bodies are what this test is about.
            case.headers = {
                k: v for k, v in (case.headers or {}).items() if k.lower() != "idempotency-key"
            }
            response = case.call(base_url=server.url, headers=headers, timeout=10)
            assert response.status_code != 422, (case.operation.label, case.body, response.text)

        accepted()
        checked += 1
    assert checked == 4  # create, update, retry, continue
