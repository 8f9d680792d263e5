"""The fuzz tier: a real API process on real Postgres and Redis (its own, apart from the integration tier's).

The services come from the API tests' fixtures (tests/integration/api/conftest.py); the API
is the stack's own uvicorn command line (api/serve.py), so the fuzzers meet the limits and
the slow-header guard production runs with. `fuzz_cases` counts every request sent, and the
tier's last test checks the total and the API's health.
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


@pytest.fixture(scope="session")
def fuzz_target(services: Services) -> Iterator[FuzzTarget]:
    with api_process(services, free_port(57700)) as url:
        signup = httpx.post(f"{url}/auth/v1/signup", json={"email": "fuzzer@example.test", "password": "fuzz-pass-1"})
        assert signup.status_code == 200, signup.text
        yield FuzzTarget(url, signup.json()["access_token"], services.service_key)
