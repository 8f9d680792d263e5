"""The fuzz tier: a real API process on real Postgres and Redis (its own, apart from the integration tier's).

The services come from the API tests' fixtures (tests/integration/api/conftest.py); the API
is the stack's own uvicorn command line (api/serve.py), so the fuzzers meet the limits and
the slow-header guard production runs with. `fuzz_cases` counts every request sent, and the
tier's last test checks the total and the API's health, so the tier runs in one xdist worker
(tests/parallel.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from tests.integration.api.conftest import Services, api_process, free_port
from tests.integration.api.conftest import services as services


@dataclass
class FuzzTarget:
    url: str
    user_token: str
    service_key: str
    cases: dict[str, int] = field(default_factory=dict)

    def count(self, kind: str) -> None:
        self.cases[kind] = self.cases.get(kind, 0) + 1


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Give each schemathesis test (one per API operation) a node id of its own: `...[POST /auth/v1/signup]`.

    Under pytest 9 they all get `test_openapi.py::test_...` (pytest builds the id from the original
    name and a callspec schemathesis does not pass), and xdist schedules files by node id: all but
    one operation would silently not run (tests/conftest.py refuses duplicate ids).
    """
    for item in items:
        label = getattr(item, "operation_label", None)
        if isinstance(label, str) and item.id.params is None:
            item._id = item.id.with_params(label)


@pytest.fixture(scope="session")
def fuzz_target(services: Services) -> Iterator[FuzzTarget]:
    with api_process(services, free_port()) as url:
        signup = httpx.post(f"{url}/auth/v1/signup", json={"email": "fuzzer@example.test", "password": "fuzz-pass-1"})
        assert signup.status_code == 200, signup.text
        yield FuzzTarget(url, signup.json()["access_token"], services.service_key)
