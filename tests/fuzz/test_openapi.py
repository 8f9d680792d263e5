"""Schemathesis over the API's OpenAPI document: every operation, generated requests, no 5xx.

The document describes the RPC route (every allow-listed function and its body of named
arguments), the GoTrue bodies and the edge functions' bodies, so the generated requests
reach the code that reads them. Half the cases are anonymous, half carry a user's token; the
service role's own operations are fuzzed again with the service key.
The live notification stream is left out (a valid request holds it open for minutes; its
limits are tested in tests/integration/api/test_security_server.py).
"""

from __future__ import annotations

import json
import zlib
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.core.result import Ok

from gauntlet.platform.api.main import app
from tests.fuzz.conftest import FuzzTarget

pytestmark = [pytest.mark.integration, pytest.mark.fuzz]

EXAMPLES_PER_OPERATION = 30


def openapi_document() -> dict[str, Any]:
    document: dict[str, Any] = app.openapi()
    return document


# The document is the app's own (static: it needs no database); the requests go to the real process.
schema = schemathesis.openapi.from_dict(openapi_document())


@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_generated_request_gets_a_server_error(case: Any, fuzz_target: FuzzTarget) -> None:
    anonymous = zlib.crc32(repr((case.path_parameters, case.body)).encode()) % 2 == 0
    headers = {} if anonymous else {"Authorization": f"Bearer {fuzz_target.user_token}"}
    response = case.call(base_url=fuzz_target.url, headers=headers, timeout=15)
    fuzz_target.count("openapi")
    assert response.status_code < 500, (case.method, case.path, case.body, response.status_code, response.text[:500])
    if response.status_code >= 400:
        body = json.loads(response.content)
        assert isinstance(body, dict) and body.get("code"), body  # the API's one error shape, with a code


# The service role's own operations: the cases above stop at their 401/403, so their bodies are
# fuzzed again here with the service key, to reach the code that reads them (the workers run for
# real on the fuzz target's own stack).
SERVICE_ONLY = (
    r"^/functions/v1/(queue-worker|rocker-discovery-run|worker-process|notifications-worker)$|^/auth/v1/admin/users$"
)
service_schema = schema.include(path_regex=SERVICE_ONLY)


def test_the_service_only_operations_are_all_fuzzed() -> None:
    paths = {result.ok().path for result in service_schema.get_all_operations() if isinstance(result, Ok)}
    assert len(paths) == 5, paths  # a renamed route would silently leave the service fuzz


@service_schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_generated_service_request_gets_a_server_error(case: Any, fuzz_target: FuzzTarget) -> None:
    key = fuzz_target.service_key
    headers = {"Authorization": f"Bearer {key}", "apikey": key}
    response = case.call(base_url=fuzz_target.url, headers=headers, timeout=30)
    fuzz_target.count("openapi-service")
    assert response.status_code < 500, (case.method, case.path, case.body, response.status_code, response.text[:500])
    if response.status_code >= 400:
        body = json.loads(response.content)
        assert isinstance(body, dict) and (body.get("code") or body.get("error_code")), body
