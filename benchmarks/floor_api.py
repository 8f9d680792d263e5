"""The floor of a Python HTTP API over this database: bench_knee's floors, the best peers on this machine.

    uvicorn benchmarks.floor_api:app --loop uvloop --http httptools   (bench_knee starts it itself)

``POST /rest/v1/rpc/{function}`` with a bearer token, served by the same server as the platform's
API (uvicorn, httptools, uvloop) and running the API's very SQL (its ``bind`` and ``execute``:
one transaction as the caller, the call, COMMIT; suggestions on the replica, as the API reads
them), but with nothing else: no framework, middleware, rate limit (Redis), metrics or session
check; tokens are verified once (``VerifiedTokens``) and answers written with orjson. Whatever no
Python HTTP layer can avoid here (HTTP parsing, one more process, its event loop and sockets) is
in it, so its knee over the direct knee is the most a Python API can reach on this machine: the
peer bench_knee compares the platform's HTTP knee with. bench_knee runs it twice: reaching
Postgres straight (``floor``) and through the fault proxy, as the API does (``proxied``).

Settings from the environment: FLOOR_PRIMARY_DSN, FLOOR_REPLICA_DSN (optional), FLOOR_JWT_SECRET.
Not part of the platform; nothing but the benchmark uses it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Awaitable, Callable, MutableMapping
from types import SimpleNamespace
from typing import Any

import asyncpg
import orjson
from starlette.types import ASGIApp

from gauntlet.platform.api.http_metrics import HttpMetrics
from gauntlet.platform.api.rpc_args import ArgumentError, bind, choose_overload
from gauntlet.platform.api.rpc_catalog import REPLICA_READS, SignatureCache, execute
from gauntlet.platform.api.rpc_lane import RpcLane
from gauntlet.platform.api.security import SecurityHeaders
from gauntlet.platform.api.state import PlatformState
from gauntlet.platform.auth.tokens import InvalidToken, VerifiedTokens
from gauntlet.platform.db import init_connection, keep_session
from gauntlet.platform.settings import get_settings

POOL_SIZE = 10  # the API's pool_max_size default
PREFIX = "/rest/v1/rpc/"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class Floor:
    def __init__(self) -> None:
        self.tokens: VerifiedTokens | None = None  # at start: the ruled floor's process has no FLOOR_ settings
        self.signatures = SignatureCache()  # the API's: a cached signature costs no query
        self.primary: asyncpg.Pool | None = None
        self.replica: asyncpg.Pool | None = None

    async def start(self) -> None:
        self.tokens = VerifiedTokens(os.environ["FLOOR_JWT_SECRET"])
        self.primary = await _pool(os.environ["FLOOR_PRIMARY_DSN"])
        replica = os.environ.get("FLOOR_REPLICA_DSN")
        self.replica = await _pool(replica) if replica else None

    async def stop(self) -> None:
        for pool in (self.primary, self.replica):
            if pool is not None:
                await pool.close()

    async def call(self, function: str, body: bytes, authorization: str) -> tuple[int, bytes]:
        assert self.tokens is not None
        try:
            claims = self.tokens.verify(authorization.removeprefix("Bearer "))
        except InvalidToken as exc:
            return 401, orjson.dumps({"message": str(exc)})
        args = orjson.loads(body) if body else {}
        pool = self.replica if function in REPLICA_READS and self.replica is not None else self.primary
        assert pool is not None
        async with pool.acquire() as conn:
            overloads = await self.signatures.get(conn, function)
            try:
                call = bind(choose_overload(function, overloads, args), args)
            except (ArgumentError, LookupError) as exc:
                return 400, orjson.dumps({"message": str(exc)})
            result = await execute(conn, call, claims)
        return 200, orjson.dumps(result)


floor = Floor()


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        await _lifespan(receive, send, floor.start, floor.stop)
        return
    body = await _body(receive)
    path: str = scope["path"]
    headers = dict(scope["headers"])
    if scope["method"] != "POST" or not path.startswith(PREFIX):
        status, payload = 404, b'{"message":"POST /rest/v1/rpc/{function} only"}'
    else:
        status, payload = await floor.call(
            path.removeprefix(PREFIX), body, headers.get(b"authorization", b"").decode("latin-1")
        )
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": payload})


class RuledFloor:
    """The platform's own path for a plain RPC call, served with no FastAPI app around it.

    Its RPC lane (platform/api/rpc_lane.py: the route's own functions for the token and session,
    rate limit, body limits, the call and rpc_metrics, and the app's error answers) inside its
    HttpMetrics and SecurityHeaders middlewares, over a PlatformState built from the API's settings;
    anything but a plain call is a 404 here.
    """

    def __init__(self) -> None:
        self.state: PlatformState | None = None
        self.flusher: asyncio.Task[None] | None = None
        self.served: ASGIApp | None = None
        self.app: Any = None  # what the lane's functions read from the app: its state.platform

    async def start(self) -> None:
        state = self.state = PlatformState.create(get_settings())
        self.flusher = asyncio.create_task(state.metrics.flush_forever(state.db))
        self.app = SimpleNamespace(state=SimpleNamespace(platform=state))
        self.served = SecurityHeaders(HttpMetrics(RpcLane(_not_a_plain_call), metrics=state.metrics))

    async def stop(self) -> None:
        if self.flusher is not None:
            self.flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.flusher
        if self.state is not None:
            await self.state.close()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send, self.start, self.stop)
            return
        assert self.served is not None
        scope["app"] = self.app
        await self.served(scope, receive, send)


async def _not_a_plain_call(scope: Scope, receive: Receive, send: Send) -> None:
    payload = b'{"message":"plain POST /rest/v1/rpc/{function} calls only"}'
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": 404, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


ruled_app = RuledFloor()


async def _lifespan(
    receive: Receive, send: Send, start: Callable[[], Awaitable[None]], stop: Callable[[], Awaitable[None]]
) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await start()
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await stop()
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _body(receive: Receive) -> bytes:
    body = b""
    more = True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    return body


async def _pool(dsn: str) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        dsn, min_size=POOL_SIZE, max_size=POOL_SIZE, init=init_connection, reset=keep_session
    )
    assert pool is not None
    return pool
