"""Issue #16's findings against the app on real Postgres and Redis: each one refused with a 4xx, never a 500.

Redirects after login, deeply nested and oversized JSON on every route that reads a
body, password spraying, security headers and who may read /metrics. What needs a real
server (keep-alive, slow headers, header sizes) is in test_security_server.py.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import pytest

from gauntlet.platform.api.bodies import MAX_JSON_DEPTH, RPC_BODY_BYTES, USER_METADATA_BYTES
from gauntlet.platform.api.security import CONTENT_SECURITY_POLICY

if TYPE_CHECKING:
    from tests.integration.api.conftest import ApiClient

pytestmark = pytest.mark.integration

TOKEN_PATH = "/auth/v1/token?grant_type=password"
# Every route that reads a JSON body, with a body that is fine apart from what a test changes.
BODY_ROUTES = [
    "/rest/v1/rpc/interest_domains",
    "/rest/v1/rpc/update_profile",
    TOKEN_PATH,
    "/auth/v1/token?grant_type=refresh_token",
    "/auth/v1/signup",
    "/functions/v1/hydrate-features",
    "/functions/v1/queue-worker",
    "/functions/v1/rocker-discovery-run",
    "/functions/v1/worker-process",
    "/functions/v1/notifications-worker",
]
SERVICE_ROUTES = {
    "/functions/v1/queue-worker",
    "/functions/v1/rocker-discovery-run",
    "/functions/v1/worker-process",
    "/functions/v1/notifications-worker",
}


def nested(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


def page_config(html: str) -> dict[str, Any]:
    found = re.search(r'<script type="application/json" id="rocker-config">(.*?)</script>', html, re.S)
    assert found is not None
    config: dict[str, Any] = json.loads(found.group(1).replace("<\\/", "</"))
    return config


# 1. Open redirect after login ---------------------------------------------------------------


@pytest.mark.parametrize(
    "raw_next",
    ["/%5Cevil.example/", "/%09/evil.example/", "/%5C%5Cevil.example", "//evil.example", "https://evil.example/",
     "/%0d%0aSet-Cookie:x", "javascript:alert(1)", "/\u00e9vil"],
)  # fmt: skip
async def test_login_page_only_offers_same_origin_paths_as_next(api: ApiClient, raw_next: str) -> None:
    response = await api.http.get(f"/login?next={raw_next}")
    assert response.status_code == 200
    assert page_config(response.text)["params"]["next"] == "/home?lane=for_you"


async def test_login_page_keeps_a_plain_next_path(api: ApiClient) -> None:
    response = await api.http.get("/login", params={"next": "/cart?from=bell"})
    assert page_config(response.text)["params"]["next"] == "/cart?from=bell"


def test_login_script_never_reads_next_from_the_address_bar() -> None:
    from gauntlet.platform.web.routes import STATIC_DIR

    script = (STATIC_DIR / "auth.js").read_text()
    assert "location.search" not in script and "Rocker.config.params.next" in script


# 2. Deeply nested JSON -----------------------------------------------------------------------


@pytest.mark.parametrize("path", BODY_ROUTES)
@pytest.mark.parametrize(
    ("body", "code"),
    [(nested(1_000), "json_too_deep"), ("[" * 5_000, "json_too_deep"), (nested(MAX_JSON_DEPTH + 1), "json_too_deep")],
    ids=["object-1000", "open-brackets-5000", "just-over-the-limit"],
)
async def test_deep_json_is_400_on_every_route(api: ApiClient, path: str, body: str, code: str) -> None:
    token = api.service_key if path in SERVICE_ROUTES else (await api.signup()).token
    response = await api.http.post(
        path, content=body, headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 400, response.text[:300]
    assert response.json()["code"] == code


async def test_json_at_the_depth_limit_is_accepted(api: ApiClient) -> None:
    session = await api.signup()
    args = {"p_display_name": "Deep", "p_acquisition_source": "friend"}
    deep: Any = 1
    for _ in range(MAX_JSON_DEPTH - 2):
        deep = {"a": deep}
    response = await api.rpc("update_profile", {**args, "p_extra": deep}, session.token)
    # Reaches argument binding (an unknown argument), not the JSON reader.
    assert response.status_code == 400 and response.json()["code"] == "invalid_arguments", response.text[:300]


@pytest.mark.parametrize("path", BODY_ROUTES)
async def test_unpaired_surrogates_and_bad_utf8_are_400(api: ApiClient, path: str) -> None:
    for raw in (b'{"p_query": "\\ud800"}', b'{"email": "\xff\xfe"}'):
        headers = {"Content-Type": "application/json", **(api.service_headers if path in SERVICE_ROUTES else {})}
        response = await api.http.post(path, content=raw, headers=headers)
        assert response.status_code == 400 and response.json()["code"] == "invalid_json", response.text[:300]


# 3. Unbounded bodies ---------------------------------------------------------------------------


async def test_signup_metadata_is_bounded(api: ApiClient) -> None:
    email = f"big-{uuid.uuid4().hex[:8]}@example.test"
    huge = await api.http.post(
        "/auth/v1/signup", json={"email": email, "password": "secret-pass-1", "data": {"x": "y" * 10_000_000}}
    )
    assert huge.status_code == 413 and huge.json()["code"] == "payload_too_large"
    over = await api.http.post(
        "/auth/v1/signup",
        json={"email": email, "password": "secret-pass-1", "data": {"x": "y" * (USER_METADATA_BYTES + 1)}},
    )
    assert over.status_code == 422 and "data" in over.json()["message"]
    fine = await api.http.post(
        "/auth/v1/signup",
        json={"email": email, "password": "secret-pass-1", "data": {"handle": "fine", "bio": "b" * 4000}},
    )
    assert fine.status_code == 200, fine.text
    me = await api.http.get("/auth/v1/user", headers={"Authorization": f"Bearer {fine.json()['access_token']}"})
    assert me.json()["user_metadata"]["bio"] == "b" * 4000


@pytest.mark.parametrize("path", [TOKEN_PATH, "/auth/v1/signup", "/functions/v1/hydrate-features"])
async def test_large_auth_and_function_bodies_are_413(api: ApiClient, path: str) -> None:
    response = await api.http.post(path, json={"email": "a@example.test", "password": "p" * 10_000_000})
    assert response.status_code == 413 and response.json()["code"] == "payload_too_large"


async def test_rpc_stops_reading_at_its_limit(api: ApiClient) -> None:
    """A 50 MB body without Content-Length: refused after about 1 MB, the rest is never read."""
    sent = 0

    async def fifty_megabytes() -> AsyncIterator[bytes]:
        nonlocal sent
        yield b'{"p_query": "'
        for _ in range(800):
            sent += 65536
            yield b"x" * 65536

    response = await api.http.post(
        "/rest/v1/rpc/interest_catalog_search", content=fifty_megabytes(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413 and response.json()["details"]["limit_bytes"] == RPC_BODY_BYTES
    assert sent < 3 * RPC_BODY_BYTES, f"read {sent} bytes of a 50 MB body"
    declared = await api.http.post(
        "/rest/v1/rpc/interest_catalog_search",
        content=b"{}",
        headers={"Content-Type": "application/json", "Content-Length": str(50_000_000)},
    )
    assert declared.status_code == 413


# 4. Password spraying and credential stuffing -------------------------------------------------


async def test_password_spraying_from_one_address_is_throttled(make_api: Any) -> None:
    async with make_api(rate_limit_multiplier=1.0, client_host=f"10.16.4.{uuid.uuid4().int % 250}") as client:
        statuses = []
        for n in range(40):
            response = await client.http.post(
                TOKEN_PATH, json={"email": f"spray-{n}-{uuid.uuid4().hex[:6]}@example.test", "password": "Summer2024!"}
            )
            statuses.append(response.status_code)
    assert statuses[:20] == [400] * 20, statuses
    assert set(statuses[20:]) == {429}, statuses
    assert response.json()["code"] == "rate_limited" and int(response.headers["retry-after"]) >= 1


async def test_guessing_one_account_from_many_addresses_is_throttled(make_api: Any) -> None:
    email = f"victim-{uuid.uuid4().hex[:8]}@example.test"
    statuses = []
    for n in range(24):
        async with make_api(rate_limit_multiplier=1.0, client_host=f"10.17.{n}.{uuid.uuid4().int % 250}") as client:
            response = await client.http.post(TOKEN_PATH, json={"email": email, "password": f"guess-{n}"})
            statuses.append(response.status_code)
    assert statuses[:20] == [400] * 20 and set(statuses[20:]) == {429}, statuses
    assert int(response.headers["retry-after"]) >= 1


async def test_many_good_logins_from_one_address_are_not_limited(api: ApiClient, make_api: Any) -> None:
    """The harness signs in many users from 127.0.0.1: successful logins give their token back."""
    sessions = [await api.signup() for _ in range(24)]
    async with make_api(rate_limit_multiplier=1.0, client_host=f"10.18.0.{uuid.uuid4().int % 250}") as client:
        for session in sessions:
            response = await client.http.post(TOKEN_PATH, json={"email": session.email, "password": "secret-pass-1"})
            assert response.status_code == 200, response.text


# 6. Security headers and /metrics ------------------------------------------------------------


@pytest.mark.parametrize("path", ["/login", "/signup", "/home", "/cart", "/web/static/rocker.js", "/no-such-page"])
async def test_pages_send_security_headers(api: ApiClient, path: str) -> None:
    response = await api.http.get(path)
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"


async def test_api_errors_send_security_headers_too(api: ApiClient) -> None:
    response = await api.http.post("/rest/v1/rpc/interest_domains", content=b"[" * 5_000)
    assert response.status_code == 400 and response.headers["x-content-type-options"] == "nosniff"


async def test_metrics_need_a_token_outside_development(make_api: Any, services: Any) -> None:
    async with make_api(environment="production", metrics_token="scrape-token-0123456789") as client:
        assert (await client.http.get("/metrics")).status_code == 401
        wrong = await client.http.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 403 and wrong.json()["code"] == "metrics_forbidden"
        user = await client.signup()
        assert (await client.http.get("/metrics", headers={"Authorization": f"Bearer {user.token}"})).status_code == 403
        token = await client.http.get("/metrics", headers={"Authorization": "Bearer scrape-token-0123456789"})
        assert token.status_code == 200 and "rocker_" in token.text
        service = await client.http.get("/metrics", headers=client.service_headers)
        assert service.status_code == 200
    async with make_api() as development:
        assert (await development.http.get("/metrics")).status_code == 200
