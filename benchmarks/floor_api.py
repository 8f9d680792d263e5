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

import os
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import asyncpg
import orjson

from gauntlet.platform.api.rpc_args import ArgumentError, bind, choose_overload
from gauntlet.platform.api.rpc_catalog import REPLICA_READS, SignatureCache, execute
from gauntlet.platform.auth.tokens import InvalidToken, VerifiedTokens
from gauntlet.platform.db import init_connection, keep_session

POOL_SIZE = 10  # the API's pool_max_size default
PREFIX = "/rest/v1/rpc/"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class Floor:
    def __init__(self) -> None:
        self.tokens = VerifiedTokens(os.environ["FLOOR_JWT_SECRET"])
        self.signatures = SignatureCache()  # the API's: a cached signature costs no query
        self.primary: asyncpg.Pool | None = None
        self.replica: asyncpg.Pool | None = None

    async def start(self) -> None:
        self.primary = await _pool(os.environ["FLOOR_PRIMARY_DSN"])
        replica = os.environ.get("FLOOR_REPLICA_DSN")
        self.replica = await _pool(replica) if replica else None

    async def stop(self) -> None:
        for pool in (self.primary, self.replica):
            if pool is not None:
                await pool.close()

    async def call(self, function: str, body: bytes, authorization: str) -> tuple[int, bytes]:
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
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await floor.start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await floor.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return
    body = b""
    more = True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
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


async def _pool(dsn: str) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        dsn, min_size=POOL_SIZE, max_size=POOL_SIZE, init=init_connection, reset=keep_session
    )
    assert pool is not None
    return pool
