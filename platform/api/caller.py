"""A request's transaction, run as its caller: the role and JWT claims RLS and auth.uid() read.

    async with as_caller(conn, claims, read_only=True):
        row = await conn.fetchrow(...)

BEGIN and the two set_config calls go to Postgres as one simple-protocol query (two statements
cannot be one prepared statement, so the role and claims are quoted literals), then the caller's
statements, then COMMIT (ROLLBACK on any error). asyncpg's `transaction()` followed by a
parameterised set_config took one round trip more for every RPC and table request: through the
fault proxy that is two more relays, and it was about a tenth of the API's CPU on a feed page
(py-spy, bench_platform's for_you lane). The role and claims stay transaction-local, so a pooled
connection keeps no caller's identity (platform/db.py keep_session).
"""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import AsyncIterator

import asyncpg

from gauntlet.platform.auth.tokens import Claims
from gauntlet.platform.queries import sql


def quote_literal(text: str) -> str:
    """`text` as a Postgres string literal, whatever standard_conforming_strings says (an E'' literal).

    NUL cannot be in a Postgres string: refused rather than cut short.
    """
    if "\x00" in text:
        raise ValueError("a Postgres string cannot hold NUL")
    return "E'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


@functools.lru_cache(maxsize=4096)
def begin_statement(claims: Claims, *, read_only: bool) -> str:
    """The one query that opens the transaction as `claims`' caller.

    Kept per caller: the text depends on nothing else, and building it (the SQL lookup, the
    claims' JSON, the quoting) was about 4 % of the API's CPU on an RPC (py-spy)."""
    return sql("rpc", "begin_as_caller").format(
        access="READ ONLY" if read_only else "READ WRITE",
        role=quote_literal(claims.role),
        claims=quote_literal(json.dumps(claims.as_jwt_claims())),
    )


@contextlib.asynccontextmanager
async def as_caller(conn: asyncpg.Connection, claims: Claims, *, read_only: bool) -> AsyncIterator[None]:
    """A transaction as the caller: committed when the block ends, rolled back when it raises."""
    if conn.is_in_transaction():
        raise RuntimeError("as_caller needs a connection outside any transaction")
    try:
        await conn.execute(begin_statement(claims, read_only=read_only))
        yield
    except BaseException:
        await _roll_back(conn)
        raise
    await conn.execute("COMMIT")


async def _roll_back(conn: asyncpg.Connection) -> None:
    """End a failed transaction; on a lost or busy connection the pool's release rolls back instead."""
    if conn.is_closed() or not conn.is_in_transaction():
        return
    with contextlib.suppress(asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError):
        await conn.execute("ROLLBACK")
