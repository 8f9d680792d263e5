"""The RPC lane (platform/api/rpc_lane.py) answers plain calls exactly as FastAPI's route does.

Each request goes to two apps built from the same settings: the platform's app, and the same app
with the lane taken out of its middlewares (so FastAPI's route serves every call). Status, body,
headers and the request metric must match; and the lane must really be the one answering plain
calls (the router behind it never sees them), and must pass on everything with modifiers.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from gauntlet.platform.api.main import create_app
from gauntlet.platform.api.rpc_lane import RpcLane, plain_call
from gauntlet.platform.settings import PlatformSettings
from tests.integration.api.conftest import Services, closed_port

pytestmark = pytest.mark.integration

PASSWORD = "secret-pass-1"


class Behind:
    """What stands behind the lane, counting the requests that reach it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.paths: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.paths.append(scope["path"])
        await self.app(scope, receive, send)


def _lane(app: FastAPI) -> RpcLane:
    """The app's RpcLane instance (its middleware stack built now, as on the first request)."""
    app.middleware_stack = app.build_middleware_stack()
    layer: Any = app.middleware_stack
    while not isinstance(layer, RpcLane):
        layer = layer.app
    return layer


@dataclass
class Pair:
    laned: httpx.AsyncClient
    routed: httpx.AsyncClient
    behind: Behind  # behind the laned app's lane
    apps: tuple[FastAPI, FastAPI]

    async def both(self, method: str, path: str, **kwargs: Any) -> tuple[httpx.Response, httpx.Response]:
        return await self.laned.request(method, path, **kwargs), await self.routed.request(method, path, **kwargs)


@contextlib.asynccontextmanager
async def pair(settings: PlatformSettings) -> AsyncIterator[Pair]:
    laned, routed = create_app(settings), create_app(settings)
    routed.user_middleware = [m for m in routed.user_middleware if getattr(m, "cls", None) is not RpcLane]
    assert len(routed.user_middleware) == len(laned.user_middleware) - 1
    lane = _lane(laned)
    behind = lane.app = Behind(lane.app)
    async with contextlib.AsyncExitStack() as stack:
        clients = []
        for app in (laned, routed):
            await stack.enter_async_context(app.router.lifespan_context(app))
            transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
            clients.append(
                await stack.enter_async_context(httpx.AsyncClient(transport=transport, base_url="http://api"))
            )
        yield Pair(clients[0], clients[1], behind, (laned, routed))


def same(a: httpx.Response, b: httpx.Response) -> None:
    assert a.status_code == b.status_code, (a.text, b.text)
    assert a.content == b.content, (a.text, b.text)
    assert sorted(a.headers.multi_items()) == sorted(b.headers.multi_items())


async def _signed_up(client: httpx.AsyncClient) -> tuple[str, str]:
    email = f"lane-{uuid.uuid4().hex[:12]}@example.test"
    response = await client.post("/auth/v1/signup", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return email, response.json()["access_token"]


async def test_plain_calls_answer_as_the_route_does(services: Services) -> None:
    async with pair(services.settings()) as p:
        _, token = await _signed_up(p.laned)
        _, ended = await _signed_up(p.laned)
        logout = await p.laned.post("/auth/v1/logout", headers={"Authorization": f"Bearer {ended}"})
        assert logout.status_code == 204, logout.text
        user = {"Authorization": f"Bearer {token}"}
        cases: list[tuple[str, dict[str, Any]]] = [
            ("interest_catalog_browse", {"json": {"p_limit": 3}, "headers": user}),  # 200, rows
            ("interest_catalog_browse", {"json": {"p_limit": 3}}),  # anon
            ("interest_catalog_browse", {"content": b"", "headers": user}),  # no body: no arguments
            ("check_handle_available", {"json": {"p_handle": "free-lane"}, "headers": user}),  # 200, a scalar
            ("complete_onboarding", {"json": {}, "headers": user}),  # P0001: 400 naming what is missing
            ("no_such_function", {"json": {}, "headers": user}),  # 404 PGRST202
            ("interest_catalog_browse", {"json": {"p_nope": 1}, "headers": user}),  # 400 invalid_arguments
            ("interest_catalog_browse", {"json": [1, 2], "headers": user}),  # 400: not an object
            ("interest_catalog_browse", {"content": b"{not json", "headers": user}),  # 400 invalid_json
            ("interest_catalog_browse", {"content": b"[" * 200 + b"]" * 200, "headers": user}),  # too deep
            ("interest_catalog_browse", {"content": b" " * 1_000_001, "headers": user}),  # 413, Connection: close
            ("interest_catalog_browse", {"json": {}, "headers": {"Authorization": "Token abc"}}),  # 401
            ("interest_catalog_browse", {"json": {}, "headers": {"Authorization": "Bearer not-a-jwt"}}),  # 401
            ("interest_catalog_browse", {"json": {}, "headers": {"apikey": "not-a-jwt"}}),  # 401 via apikey
            ("interest_catalog_browse", {"json": {}, "headers": {"Authorization": f"Bearer {ended}"}}),  # ended
        ]
        for function, kwargs in cases:
            same(*await p.both("POST", f"/rest/v1/rpc/{function}", **kwargs))
        # Only the sign-ups and the logout went behind the lane: no call reached the router.
        assert p.behind.paths == ["/auth/v1/signup", "/auth/v1/signup", "/auth/v1/logout"]
        exposition = [(await client.get("/metrics")).text for client in (p.laned, p.routed)]
        counted = [
            [line for line in text.splitlines() if "/rest/v1/rpc/{function}" in line and "_count" in line]
            for text in exposition
        ]
        assert counted[0] and counted[0] == counted[1]  # the same series, the same counts


async def test_calls_with_modifiers_and_other_requests_pass_on_to_the_route(services: Services) -> None:
    async with pair(services.settings()) as p:
        _, token = await _signed_up(p.laned)
        user = {"Authorization": f"Bearer {token}"}
        prefer = {**user, "Prefer": "count=exact"}
        passed: list[tuple[str, str, dict[str, Any]]] = [
            ("POST", "/rest/v1/rpc/interest_catalog_browse?select=name", {"json": {"p_limit": 3}, "headers": user}),
            ("POST", "/rest/v1/rpc/interest_catalog_browse", {"json": {}, "headers": prefer}),
            ("POST", "/rest/v1/rpc/interest_catalog_browse", {"json": {}, "headers": {**user, "Range": "0-1"}}),
            (
                "POST",
                "/rest/v1/rpc/interest_catalog_browse",
                {"json": {"p_limit": 1}, "headers": {**user, "Accept": "application/vnd.pgrst.object+json"}},
            ),
            ("GET", "/rest/v1/rpc/interest_catalog_browse?p_limit=2", {"headers": user}),
            ("POST", "/rest/v1/rpc/", {"json": {}, "headers": user}),
            ("POST", "/rest/v1/rpc/a/b", {"json": {}, "headers": user}),
        ]
        before = len(p.behind.paths)
        for method, path, kwargs in passed:
            same(*await p.both(method, path, **kwargs))
        assert len(p.behind.paths) == before + len(passed)


async def test_an_unreachable_database_is_the_same_503(services: Services) -> None:
    dead = f"postgresql://postgres@127.0.0.1:{closed_port()}/rocker"
    async with pair(services.settings(primary_dsn=dead, replica_dsns=[dead], connect_timeout_s=0.5)) as p:
        anon = await p.both("POST", "/rest/v1/rpc/check_handle_available", json={"p_handle": "x-lane"})
        assert anon[0].status_code == 503 and anon[0].json()["code"] == "service_unavailable"
        same(*anon)


@pytest.mark.parametrize(
    ("scope", "function"),
    [
        ({"path": "/rest/v1/rpc/feed"}, "feed"),
        ({"path": "/rest/v1/rpc/feed", "headers": [(b"accept", b"application/json")]}, "feed"),
        ({"path": "/rest/v1/rpc/feed", "headers": [(b"prefer", b"return=minimal")]}, None),
        ({"path": "/rest/v1/rpc/feed", "headers": [(b"range", b"0-9")]}, None),
        ({"path": "/rest/v1/rpc/feed", "headers": [(b"accept", b"application/vnd.pgrst.object+json")]}, None),
        ({"path": "/rest/v1/rpc/feed", "query_string": b"select=id"}, None),
        ({"path": "/rest/v1/rpc/feed", "method": "GET"}, None),
        ({"path": "/rest/v1/rpc/feed", "root_path": "/api"}, None),
        ({"path": "/rest/v1/rpc/"}, None),
        ({"path": "/rest/v1/rpc/a/b"}, None),
        ({"path": "/rest/v1/feed"}, None),
        ({"path": "/rest/v1/rpc/feed", "type": "websocket"}, None),
    ],
)
def test_plain_call_names_the_function_only_for_a_plain_call(scope: dict[str, Any], function: str | None) -> None:
    full = {"type": "http", "method": "POST", "query_string": b"", "headers": [], "root_path": "", **scope}
    assert plain_call(full) == function
