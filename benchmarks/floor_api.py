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
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import asyncpg
import orjson

from gauntlet.platform.api.bodies import RPC_BODY_BYTES, loads, too_large
from gauntlet.platform.api.deps import enforce_rate_limit
from gauntlet.platform.api.errors import ApiError, SessionEnded, from_postgres, unavailable
from gauntlet.platform.api.routes.rpc import rate_profile, record_call, run_rpc
from gauntlet.platform.api.rpc_args import ArgumentError, bind, choose_overload
from gauntlet.platform.api.rpc_catalog import REPLICA_READS, SignatureCache, execute, is_allowed
from gauntlet.platform.api.security import SECURITY_HEADERS
from gauntlet.platform.api.state import PlatformState
from gauntlet.platform.auth.tokens import ANON, Claims, InvalidToken, VerifiedTokens
from gauntlet.platform.db import UNAVAILABLE, init_connection, keep_session
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
    """The RPC route's rules in one plain function, over the API's own process state."""

    HEADERS = [(b"content-type", b"application/json")] + [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS]

    def __init__(self) -> None:
        self.state: PlatformState | None = None
        self.flusher: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.state = PlatformState.create(get_settings())
        self.flusher = asyncio.create_task(self.state.metrics.flush_forever(self.state.db))

    async def stop(self) -> None:
        if self.flusher is not None:
            self.flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.flusher
        if self.state is not None:
            await self.state.close()

    async def call(self, function: str, body: bytes, authorization: str | None, client: str) -> tuple[int, bytes]:
        """call_rpc's rules (platform/api/routes/rpc.py and deps.py) without the framework."""
        state = self.state
        assert state is not None
        started = time.perf_counter()
        status, code, claims = 200, None, ANON
        try:
            if not is_allowed(function):
                raise ApiError(404, "unknown_function", f"No RPC named {function!r}")
            claims = self.claims(state, authorization)
            if not await state.sessions.alive(claims.session_id):
                raise SessionEnded()
            subject = f"user:{claims.sub}" if claims.sub else f"ip:{client}"
            await enforce_rate_limit(state, rate_profile(function), subject, claims)
            if len(body) > RPC_BODY_BYTES:
                raise too_large(RPC_BODY_BYTES)
            args = loads(body) if body.strip() else {}
            if not isinstance(args, dict):
                raise ApiError(400, "invalid_arguments", f"{function}: arguments must be a JSON object")
            return 200, orjson.dumps(await run_rpc(state, function, args, claims))
        except ApiError as exc:
            status, code = exc.status, exc.code
            return status, _error_body(exc)
        except asyncpg.PostgresError as exc:
            mapped = from_postgres(exc)
            status, code = mapped.status, mapped.code
            return status, _error_body(mapped)
        except UNAVAILABLE as exc:
            mapped = unavailable("The database", exc)
            status, code = mapped.status, mapped.code
            return status, _error_body(mapped)
        finally:
            record_call(state, function, claims, started, status, code)

    @staticmethod
    def claims(state: PlatformState, authorization: str | None) -> Claims:
        if authorization is None:
            return ANON
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "invalid_authorization", "Authorization header must be 'Bearer <jwt>'")
        try:
            return state.tokens.verify(token.strip())
        except InvalidToken as exc:
            raise ApiError(401, "invalid_jwt", str(exc)) from exc


def _error_body(exc: ApiError) -> bytes:
    return orjson.dumps({"code": exc.code, "message": exc.message, "details": exc.details, "hint": exc.hint})


ruled = RuledFloor()


async def ruled_app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        await _lifespan(receive, send, ruled.start, ruled.stop)
        return
    started = time.perf_counter()
    body = await _body(receive)
    path: str = scope["path"]
    if scope["method"] != "POST" or not path.startswith(PREFIX):
        status, payload = 404, b'{"message":"POST /rest/v1/rpc/{function} only"}'
    else:
        authorization = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"authorization"), None)
        client = scope["client"][0] if scope.get("client") else "unknown"
        status, payload = await ruled.call(path.removeprefix(PREFIX), body, authorization, client)
    headers = [*RuledFloor.HEADERS, (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    assert ruled.state is not None
    ruled.state.metrics.http_duration.labels("POST", "/rest/v1/rpc/{function}", f"{status // 100}xx").observe(
        time.perf_counter() - started
    )
    await send({"type": "http.response.body", "body": payload})


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
