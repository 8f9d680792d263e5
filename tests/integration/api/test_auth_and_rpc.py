"""The RPC surface and auth against real Postgres: shapes, errors naming the problem, no partial writes."""

from __future__ import annotations

import asyncio
import uuid
from typing import TYPE_CHECKING, Any

import asyncpg
import jwt
import pytest

if TYPE_CHECKING:
    from tests.integration.api.conftest import ApiClient

pytestmark = pytest.mark.integration


async def test_signup_then_password_login_issues_a_verifiable_jwt(api: ApiClient) -> None:
    session = await api.signup(email="Rider.One@Example.test")
    response = await api.http.post(
        "/auth/v1/token",
        params={"grant_type": "password"},
        json={"email": "rider.one@example.test", "password": "secret-pass-1"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == api.state.settings.jwt_ttl_seconds
    assert body["user"]["id"] == session.user_id and body["refresh_token"]
    claims = jwt.decode(
        body["access_token"], api.state.settings.jwt_secret, algorithms=["HS256"], options={"verify_aud": False}
    )
    assert claims["sub"] == session.user_id and claims["role"] == "authenticated"
    me = await api.http.get("/auth/v1/user", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200 and me.json()["email"] == "rider.one@example.test"


async def test_refresh_grant_issues_a_new_session(api: ApiClient) -> None:
    await api.signup(email="refresh@example.test")
    login = await api.http.post(
        "/auth/v1/token",
        params={"grant_type": "password"},
        json={"email": "refresh@example.test", "password": "secret-pass-1"},
    )
    refreshed = await api.http.post(
        "/auth/v1/token", params={"grant_type": "refresh_token"}, json={"refresh_token": login.json()["refresh_token"]}
    )
    assert refreshed.status_code == 200, refreshed.text
    # An access token is not a refresh token.
    misuse = await api.http.post(
        "/auth/v1/token", params={"grant_type": "refresh_token"}, json={"refresh_token": login.json()["access_token"]}
    )
    assert misuse.status_code == 400 and "refresh" in misuse.json()["message"]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"email": "nobody@example.test", "password": "secret-pass-1"}, 400, "invalid_credentials"),
        ({"email": "not-an-email", "password": "secret-pass-1"}, 400, "validation_failed"),
        ({"email": "x@example.test"}, 422, "invalid_request"),
    ],
)
async def test_bad_logins_are_4xx_json(api: ApiClient, body: dict[str, str], status: int, code: str) -> None:
    response = await api.http.post("/auth/v1/token", params={"grant_type": "password"}, json=body)
    assert (response.status_code, response.json()["code"]) == (status, code)


async def test_wrong_password_and_duplicate_signup(api: ApiClient) -> None:
    await api.signup(email="dup@example.test")
    again = await api.http.post("/auth/v1/signup", json={"email": "DUP@example.test", "password": "secret-pass-1"})
    assert (again.status_code, again.json()["code"]) == (422, "user_already_exists")
    wrong = await api.http.post(
        "/auth/v1/token",
        params={"grant_type": "password"},
        json={"email": "dup@example.test", "password": "wrong-password"},
    )
    assert (wrong.status_code, wrong.json()["message"]) == (400, "Invalid login credentials")
    unsupported = await api.http.post("/auth/v1/token", params={"grant_type": "magic"}, json={})
    assert unsupported.status_code == 400 and "magic" in unsupported.json()["message"]


async def test_signup_creates_the_profile_through_the_trigger(api: ApiClient, db: asyncpg.Connection) -> None:
    session = await api.signup(handle="trigger_rider")
    assert await db.fetchval("SELECT handle FROM profiles WHERE user_id = $1", uuid.UUID(session.user_id)) == (
        "trigger_rider"
    )


async def test_result_shapes_set_scalar_and_object(api: ApiClient) -> None:
    session = await api.signup()
    rows = await api.rpc("interest_catalog_search", {"p_query": "riding", "p_limit": 5})
    assert rows.status_code == 200 and isinstance(rows.json(), list) and rows.json()
    assert set(rows.json()[0]) >= {"id", "slug", "name", "popularity"}
    scalar = await api.rpc("check_handle_available", {"p_handle": "free_handle_42"})
    assert scalar.json() is True
    obj = await api.rpc("get_my_profile", {}, session.token)
    assert obj.status_code == 200 and obj.json()["user_id"] == session.user_id


async def test_a_json_result_is_answered_as_postgres_wrote_it(api: ApiClient, db: asyncpg.Connection) -> None:
    """json/jsonb results are passed on unparsed: numbers keep every digit (a float would round them)."""
    name = f"gc_json_digits_{uuid.uuid4().hex[:8]}"  # an allow-listed prefix; dropped again below
    document = '{"price": 19.90, "exact": 12345678901234567890.5, "items": [{"n": 1}], "none": null}'
    await db.execute(
        f"CREATE FUNCTION public.{name}(p_set boolean default false) RETURNS SETOF jsonb LANGUAGE sql STABLE "
        f"AS $$ SELECT '{document}'::jsonb FROM generate_series(1, CASE WHEN p_set THEN 2 ELSE 1 END) $$; "
        f"GRANT EXECUTE ON FUNCTION public.{name}(boolean) TO anon"
    )
    try:
        answer = await api.rpc(name, {})
        both = await api.rpc(name, {"p_set": True})
    finally:
        await db.execute(f"DROP FUNCTION public.{name}(boolean)")
    assert answer.status_code == 200 and both.status_code == 200, (answer.text, both.text)
    expected = await db.fetchval(f"SELECT '{document}'::jsonb::text")
    assert answer.content == f"[{expected}]".encode() and both.content == f"[{expected},{expected}]".encode()
    assert b"19.90" in answer.content and b"12345678901234567890.5" in answer.content
    assert answer.json()[0]["items"] == [{"n": 1}] and answer.headers["content-type"] == "application/json"


async def test_a_row_result_is_answered_as_postgres_writes_each_row(api: ApiClient, db: asyncpg.Connection) -> None:
    """Rows are Postgres's `to_json` of each row, as PostgREST answers: a numeric keeps its scale."""
    name = f"gc_json_rows_{uuid.uuid4().hex[:8]}"  # an allow-listed prefix; dropped again below
    body = (
        "SELECT 19.90::numeric(10, 2), timestamptz '2026-12-07 10:11:12.5+00', "
        "'7f0c7d1e-2a3b-4c5d-8e9f-0a1b2c3d4e5f'::uuid, ARRAY['a', 'b'], n * 0.25::float8 "
        "FROM generate_series(1, 2) AS n"
    )
    columns = "price numeric, at timestamptz, id uuid, tags text[], ratio double precision"
    await db.execute(
        f"CREATE FUNCTION public.{name}() RETURNS TABLE({columns}) LANGUAGE sql STABLE AS $$ {body} $$; "
        f"GRANT EXECUTE ON FUNCTION public.{name}() TO anon"
    )
    try:
        answer = await api.rpc(name, {})
        expected = await db.fetch(f"SELECT to_json(j)::text FROM public.{name}() AS j")
    finally:
        await db.execute(f"DROP FUNCTION public.{name}()")
    assert answer.status_code == 200, answer.text
    assert answer.content == ("[" + ",".join(r[0] for r in expected) + "]").encode()
    first = answer.json()[0]
    assert b'"price":19.90' in answer.content and first["tags"] == ["a", "b"] and first["ratio"] == 0.25
    assert first["id"] == "7f0c7d1e-2a3b-4c5d-8e9f-0a1b2c3d4e5f" and first["at"].startswith("2026-12-07T")


@pytest.mark.parametrize(
    ("function", "args", "status", "needle"),
    [
        ("no_such_function", {}, 404, "no_such_function"),
        ("_require_self_or_trusted", {}, 404, "_require_self_or_trusted"),
        ("interest_catalog_search", {"p_qeury": "x"}, 400, "p_qeury"),
        ("interest_catalog_search", {}, 400, "p_query"),
        ("interest_catalog_search", {"p_query": "x", "p_limit": "many"}, 400, "p_limit"),
        ("interest_catalog_search", {"p_query": "x", "p_limit": True}, 400, "p_limit"),
        ("interest_catalog_search", {"p_query": "x", "p_limit": 10**12}, 400, "p_limit"),
        ("interest_catalog_search", {"p_query": ["x"]}, 400, "p_query"),
        ("interest_catalog_search", {"p_query": "x", "p_limit": 0}, 400, "p_limit"),
        ("check_handle_available", [1, 2], 400, "JSON object"),
    ],
)
async def test_bad_input_is_a_4xx_naming_the_problem(
    api: ApiClient, function: str, args: object, status: int, needle: str
) -> None:
    response = await api.http.post(f"/rest/v1/rpc/{function}", json=args)
    assert response.status_code == status, response.text
    body = response.json()
    assert needle in body["message"] and set(body) == {"code", "message", "details", "hint"}


async def test_malformed_json_and_malformed_jwt(api: ApiClient) -> None:
    broken = await api.http.post(
        "/rest/v1/rpc/check_handle_available", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert broken.status_code == 400 and broken.json()["code"] == "invalid_json"
    for header in (
        "Bearer not.a.jwt",
        "Bearer " + jwt.encode({"role": "authenticated", "exp": 2**31}, "another-secret-of-at-least-32-bytes-long!"),
        "Basic abc",
    ):
        response = await api.http.post(
            "/rest/v1/rpc/check_handle_available", json={"p_handle": "abc"}, headers={"Authorization": header}
        )
        assert response.status_code == 401, (header, response.text)


async def test_affinity_out_of_range_is_rejected_without_a_partial_write(
    api: ApiClient, db: asyncpg.Connection
) -> None:
    session = await api.signup()
    interest = await db.fetchval("SELECT id FROM interest_catalog ORDER BY id LIMIT 1")
    for affinity in (1.5, -0.1):
        response = await api.rpc(
            "user_interests_upsert", {"p_interest_id": str(interest), "p_affinity": affinity}, session.token
        )
        assert response.status_code == 400 and "affinity" in response.json()["message"]
    user = uuid.UUID(session.user_id)
    assert await db.fetchval("SELECT count(*) FROM user_interests WHERE user_id = $1", user) == 0
    assert await db.fetchval("SELECT count(*) FROM marketplace_discovery_queue WHERE user_id = $1", user) == 0


async def test_onboarding_gates_name_what_is_missing(api: ApiClient) -> None:
    session = await api.signup()
    response = await api.rpc("complete_onboarding", {}, session.token)
    assert response.status_code == 400
    body = response.json()
    assert "acquisition_source" in body["message"] and "interests" in body["details"]["missing"]


async def test_handle_taken_is_409(api: ApiClient) -> None:
    first, second = await api.signup(), await api.signup()
    taken = f"h{uuid.uuid4().hex[:10]}"
    assert (await api.rpc("update_profile", {"p_handle": taken}, first.token)).status_code == 200
    response = await api.rpc("update_profile", {"p_handle": taken}, second.token)
    assert response.status_code == 409 and taken in response.json()["message"]


async def test_every_rpc_call_is_recorded_in_rpc_metrics(api: ApiClient, db: asyncpg.Connection) -> None:
    marker = f"m{uuid.uuid4().hex[:8]}"
    ok = await api.rpc("check_handle_available", {"p_handle": marker})
    bad = await api.rpc("check_handle_available", {"p_wrong": marker})
    assert (ok.status_code, bad.status_code) == (200, 400)
    since = await db.fetchval("SELECT now() - interval '1 minute'")
    await api.state.metrics.flush(api.state.db)
    rows = await db.fetch(
        "SELECT ok, error FROM rpc_metrics WHERE name = 'check_handle_available' AND ts > $1 ORDER BY id DESC LIMIT 2",
        since,
    )
    assert [r["error"] is None for r in rows] == [False, True]
    assert all(r["ok"] for r in rows)  # a 4xx is the caller's mistake, not a kernel error
    exposition = (await api.http.get("/metrics")).text
    assert 'rocker_rpc_calls_total{function="check_handle_available",status="400"}' in exposition
    assert "rocker_rpc_duration_seconds_bucket" in exposition


def http_count(exposition: str, method: str, route: str, status: str) -> float:
    """The count of `rocker_http_request_duration_seconds` for one label set (0 when absent)."""
    label = f'rocker_http_request_duration_seconds_count{{method="{method}",route="{route}",status="{status}"}} '
    line = next((line for line in exposition.splitlines() if line.startswith(label)), None)
    return 0.0 if line is None else float(line.split()[-1])


async def test_http_durations_are_labelled_by_route_template_and_status_class(api: ApiClient) -> None:
    before = (await api.http.get("/metrics")).text
    assert (await api.rpc("check_handle_available", {"p_handle": "abcdef"})).status_code == 200
    assert (await api.rpc("check_handle_available", {"p_wrong": 1})).status_code == 400
    assert (await api.http.get("/no/such/page")).status_code == 404
    after = (await api.http.get("/metrics")).text
    rpc = "/rest/v1/rpc/{function}"
    for method, route, status in [("POST", rpc, "2xx"), ("POST", rpc, "4xx"), ("GET", "<unmatched>", "4xx")]:
        labels = (method, route, status)
        assert http_count(after, *labels) == http_count(before, *labels) + 1, labels
    assert "/rest/v1/rpc/check_handle_available" not in after, "raw paths would make label cardinality unbounded"


async def test_database_down_gives_503_with_retry_after(make_api: Any, dead_port: int) -> None:
    dead = f"postgresql://postgres@127.0.0.1:{dead_port}/rocker"
    async with make_api(primary_dsn=dead, replica_dsns=[]) as client:
        response = await client.rpc("check_handle_available", {"p_handle": "abcd"})
        assert response.status_code == 503 and response.headers["retry-after"] == "1"
        health = await client.http.get("/functions/v1/health")
        assert health.status_code == 503 and health.json()["status"] == "down"


async def test_concurrent_calls_share_the_pool(api: ApiClient) -> None:
    responses = await asyncio.gather(*(api.rpc("interest_catalog_browse", {"p_limit": 5}) for _ in range(30)))
    assert {r.status_code for r in responses} == {200}


async def test_health_views_are_readable_by_the_service_role_only(api: ApiClient) -> None:
    rows = await api.http.get("/rest/v1/vw_discovery_queue_health", headers=api.service_headers)
    assert rows.status_code == 200 and isinstance(rows.json(), list)
    user = await api.signup()
    denied = await api.http.get("/rest/v1/vw_policy_health", headers={"Authorization": f"Bearer {user.token}"})
    assert denied.status_code == 403
    unknown = await api.http.get("/rest/v1/no_such_relation", headers=api.service_headers)
    assert unknown.status_code == 404 and unknown.json()["code"] == "PGRST205"
    assert "vw_policy_health" in unknown.json()["hint"]


async def test_login_upgrades_a_legacy_scrypt_hash_once(api: ApiClient, db: asyncpg.Connection) -> None:
    from tests.unit.test_api_passwords import legacy_scrypt_hash

    session = await api.signup(email="legacy@example.test")
    legacy = legacy_scrypt_hash("secret-pass-1")
    await db.execute("UPDATE auth.users SET encrypted_password = $2 WHERE id = $1::uuid", session.user_id, legacy)

    async def login() -> int:
        response = await api.http.post(
            "/auth/v1/token",
            params={"grant_type": "password"},
            json={"email": "legacy@example.test", "password": "secret-pass-1"},
        )
        return response.status_code

    assert await login() == 200
    upgraded = await db.fetchval("SELECT encrypted_password FROM auth.users WHERE id = $1::uuid", session.user_id)
    assert upgraded.startswith("$argon2id$v=19$m=19456,t=2,p=1$"), upgraded
    assert await login() == 200, "the upgraded hash verifies"
    again = await db.fetchval("SELECT encrypted_password FROM auth.users WHERE id = $1::uuid", session.user_id)
    assert again == upgraded, "a current hash is not rewritten on every login"
