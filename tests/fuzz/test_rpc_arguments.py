"""Property-based fuzzing of every allow-listed RPC's arguments: wrong types, nulls, huge and nested values.

For each function (the allow-list, plus the prefix families as the database defines them)
the generator draws argument objects from the function's real parameter names (pg_proc)
and a few unknown ones, with values of every JSON type: nulls, booleans, huge integers,
floats, strings with NULs, quotes, 100 KB, malformed UUIDs and dates, arrays and objects
nested up to past the reader's depth limit. Each call is anonymous or a user's; never the
service role (that may do anything, and the fuzzer is not meant to run the GC). Whatever
comes in, the answer is a 2xx or a 4xx with the API's error shape, never a 5xx.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import asyncpg
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gauntlet.platform.api.bodies import MAX_JSON_DEPTH
from gauntlet.platform.api.rpc_catalog import ALLOWED_FUNCTIONS, ALLOWED_PREFIXES
from tests.fuzz.conftest import FuzzTarget
from tests.integration.api.conftest import Services

pytestmark = [pytest.mark.integration, pytest.mark.fuzz]

EXAMPLES_PER_FUNCTION = 12
MINIMUM_CASES = 1_000  # per CI run, over this module and the OpenAPI fuzzing

_ODD_STRINGS = [
    "",
    " ",
    "\x00",
    "null",
    "'; DROP TABLE profiles; --",
    "00000000-0000-0000-0000-000000000000",
    "not-a-uuid",
    "2024-13-45T25:61:00Z",
    "9" * 400,
    "x" * 100_000,
    "\u202e\ufeff\U0001f600",
    "<script>alert(1)</script>",
    "{}",
    "NaN",
    "-1",
]


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value] if depth % 2 else {"a": value}
    return value


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    st.sampled_from(_ODD_STRINGS),
    st.uuids().map(str),
)
values = st.one_of(
    st.recursive(
        scalars,
        lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
        max_leaves=12,
    ),
    st.integers(min_value=MAX_JSON_DEPTH - 3, max_value=MAX_JSON_DEPTH + 3).map(nested),
)


def arguments(names: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    known = st.fixed_dictionaries({}, optional={name: values for name in names})
    unknown = st.dictionaries(st.sampled_from(["p_nope", "p_user_id", "p_limit", "", "x" * 200]), values, max_size=2)
    return st.tuples(known, unknown, st.booleans()).map(lambda t: {**t[1], **t[0]} if t[2] else t[0])


async def _signatures(dsn: str) -> dict[str, list[str]]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            """
            SELECT p.proname, coalesce(p.proargnames, '{}') AS names, p.proargmodes AS modes
            FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname = 'public'
            """
        )
    finally:
        await conn.close()
    found: dict[str, list[str]] = {}
    for row in rows:
        name = row["proname"]
        if name in ALLOWED_FUNCTIONS or (name.startswith(ALLOWED_PREFIXES) and not name.startswith("_")):
            modes = row["modes"] or ["i"] * len(row["names"])
            inputs = [n for n, m in zip(row["names"], modes, strict=False) if m in ("i", "b", "v") and n]
            found.setdefault(name, [])
            found[name] = sorted(set(found[name]) | set(inputs))
    return found


@pytest.fixture(scope="module")
def signatures(services: Services) -> dict[str, list[str]]:
    return asyncio.run(_signatures(services.primary_dsn))


def test_every_allow_listed_rpc_argument_fuzz(fuzz_target: FuzzTarget, signatures: dict[str, list[str]]) -> None:
    missing = sorted(ALLOWED_FUNCTIONS - set(signatures))
    assert not missing, f"allow-listed but not in the database: {missing}"
    failures: list[str] = []
    with httpx.Client(base_url=fuzz_target.url, timeout=20) as http:
        for function in sorted(signatures):
            try:
                fuzz_one(http, fuzz_target, function, signatures[function])()
            except AssertionError as exc:
                failures.append(str(exc)[:800])
    assert not failures, "\n".join(failures)


def fuzz_one(http: httpx.Client, target: FuzzTarget, function: str, names: list[str]) -> Any:
    """A hypothesis test calling `function` with generated arguments, anonymous or as the user."""

    @settings(
        max_examples=EXAMPLES_PER_FUNCTION,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    @given(args=arguments(names), as_user=st.booleans())
    def call(args: dict[str, Any], as_user: bool) -> None:
        headers = {"Content-Type": "application/json"}
        if as_user:
            headers["Authorization"] = f"Bearer {target.user_token}"
        response = http.post(f"/rest/v1/rpc/{function}", content=json.dumps(args), headers=headers)
        target.count("rpc")
        assert response.status_code < 500, (function, as_user, str(args)[:300], response.text[:300])
        if response.status_code >= 400:
            assert response.json().get("code"), response.text[:300]

    return call


def test_the_fuzz_tier_ran_enough_cases_and_the_api_is_healthy(fuzz_target: FuzzTarget) -> None:
    total = sum(fuzz_target.cases.values())
    if "openapi" not in fuzz_target.cases:
        pytest.skip(f"only part of the fuzz tier ran ({fuzz_target.cases}); the count is checked on a whole run")
    assert total >= MINIMUM_CASES, fuzz_target.cases
    with httpx.Client(base_url=fuzz_target.url, timeout=5) as http:
        health = http.get("/functions/v1/health")
        assert health.status_code == 200 and health.json()["status"] == "ok", health.text
        marker = uuid.uuid4().hex
        assert http.post("/rest/v1/rpc/check_handle_available", json={"p_handle": f"h{marker[:12]}"}).status_code == 200
