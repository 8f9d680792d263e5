"""SQL probes: one value from the primary (or a replica), straight, bypassing the fault proxy."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import uuid

import asyncpg

from gauntlet.chaos.context import DB_CONNECT_TIMEOUT_S, DrillContext
from gauntlet.chaos.experiment import JsonValue
from gauntlet.chaos.providers import Args, Built, Param, Provider, ProviderError, Session


def json_value(value: object) -> JsonValue:
    """A database value as JSON: numbers, strings, booleans and null as they are; others as text."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, dt.datetime | dt.date | uuid.UUID):
        return str(value)
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    return json.dumps(value, default=str)


def _query(args: Args, session: Session) -> Built:
    query, database, index = args.text("query"), args.text("database"), args.whole("index")
    if not query.strip():
        raise ProviderError("argument 'query' is empty: give the SELECT whose first value is observed", key="query")

    async def observe(ctx: DrillContext) -> JsonValue:
        if database == "primary":
            async with ctx.primary() as conn:
                return json_value(await conn.fetchval(query))
        dsns = ctx.target.replica_dsns
        if index >= len(dsns):
            raise RuntimeError(f"the target has {len(dsns)} replicas; no replica #{index} to query")
        conn = await asyncpg.connect(dsns[index], timeout=DB_CONNECT_TIMEOUT_S)
        try:
            return json_value(await conn.fetchval(query))
        finally:
            await conn.close(timeout=DB_CONNECT_TIMEOUT_S)

    return Built(fn=observe, requires=frozenset({"database"}))


PROVIDERS = {
    "query": Provider(
        "probe",
        "the first column of the first row of a query (null when it returns no row)",
        _query,
        (
            Param("query", "str", "the SQL, e.g. SELECT count(*) FROM queue.events WHERE status = 'leased'", True),
            Param("database", "str", "where to run it", default="primary", choices=("primary", "replica")),
            Param("index", "int", "which replica (database: replica), from 0", default=0),
        ),
    ),
}
