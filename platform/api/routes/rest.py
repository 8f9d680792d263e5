"""`/rest/v1/{relation}` and the RPC modifiers: PostgREST's table grammar under the caller's RLS.

- `GET|HEAD /rest/v1/{relation}`: select (columns, aliases, casts, one level of embedding),
  filters, or/and, order, limit/offset, `Range`, `Prefer: count=...` with `Content-Range`,
  `Accept: application/vnd.pgrst.object+json` (PGRST116 unless exactly one row);
- `POST` insert/upsert, `PATCH` update, `DELETE` (both refused without a filter, as
  pg-safeupdate does on Supabase), `Prefer: return=minimal|representation`;
- `GET|HEAD /rest/v1/rpc/{fn}` for STABLE/IMMUTABLE functions (arguments in the query string),
  and `POST /rest/v1/rpc/{fn}` with modifiers (select/filters/order/limit/count/single) applied
  in SQL to row-returning functions; a POST without modifiers is the RPC route itself (rpc.py).

Every statement runs in one transaction as the caller's role with `request.jwt.claims` set, so
grants and RLS decide what is visible. Relation and column names are resolved against
pg_catalog (postgrest_catalog) and quoted; values are parameters (postgrest_sql). The
observability views (views.HEALTH_VIEWS) are read from a replica when one is up, as before.
"""

from __future__ import annotations

import difflib
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg
from fastapi import APIRouter, Request, Response

from gauntlet.platform.api.bodies import RPC_BODY_BYTES, loads, read_body
from gauntlet.platform.api.caller import as_caller
from gauntlet.platform.api.deps import ClaimsDep, StateDep, enforce_rate_limit, rate_subject
from gauntlet.platform.api.errors import ApiError, from_postgres, unavailable
from gauntlet.platform.api.postgrest_catalog import Catalog, Relation
from gauntlet.platform.api.postgrest_grammar import GrammarError, Prefer, Query, parse_prefer, parse_query, parse_range
from gauntlet.platform.api.postgrest_sql import (
    RestError,
    Source,
    Statement,
    count_statement,
    delete_statement,
    insert_statement,
    read_statement,
    relation_source,
    update_statement,
    window,
)
from gauntlet.platform.api.routes import rpc
from gauntlet.platform.api.routes.views import HEALTH_VIEWS
from gauntlet.platform.api.rpc_args import Arg, ArgumentError, BoundCall, bind, choose_overload
from gauntlet.platform.api.rpc_catalog import REPLICA_READS, execute, is_allowed
from gauntlet.platform.api.state import PlatformState
from gauntlet.platform.auth.tokens import Claims
from gauntlet.platform.db import UNAVAILABLE

router = APIRouter(prefix="/rest/v1", tags=["rest"])

CATALOG = Catalog()  # one snapshot per API process
OBJECT_MEDIA = "application/vnd.pgrst.object+json"
T = TypeVar("T")
# SQLSTATE classes a request's values or names can cause once the catalogue has vetted the
# names (a type mismatch, an operator a type lacks, a value out of range): a 400, never a 500.
_CLIENT_CLASSES = ("22", "42", "0A", "54", "2B", "P0", "2F")


# ---- errors ---------------------------------------------------------------------------------


def _api_error(exc: RestError | GrammarError) -> ApiError:
    if isinstance(exc, GrammarError):
        return ApiError(400, "PGRST100", exc.message, details=exc.details)
    return ApiError(exc.status, exc.code, exc.message, details=exc.details, hint=exc.hint)


def _postgres_error(exc: asyncpg.PostgresError, claims: Claims) -> ApiError:
    sqlstate = getattr(exc, "sqlstate", None) or ""
    if sqlstate == "25006":  # a write in the read-only transaction of a GET
        return ApiError(405, sqlstate, getattr(exc, "message", str(exc)), hint="Use POST for a VOLATILE function")
    mapped = from_postgres(exc)
    if mapped.status == 500 and sqlstate[:2] in _CLIENT_CLASSES:
        mapped = ApiError(400, sqlstate, getattr(exc, "message", None) or str(exc), hint=getattr(exc, "hint", None))
    if sqlstate == "42501" and claims.role == "anon":
        mapped.status = 401  # PostgREST: permission denied without a JWT is 401
    return mapped


async def _guard(claims: Claims, work: Awaitable[T]) -> T:
    """Run `work`, turning grammar/catalogue/database failures into the API's 4xx/503 errors."""
    try:
        return await work
    except (RestError, GrammarError) as exc:
        raise _api_error(exc) from exc
    except asyncpg.PostgresError as exc:
        if getattr(exc, "sqlstate", None) in ("42P01", "42703", "42883"):
            CATALOG.forget()  # the schema changed under the snapshot
        raise _postgres_error(exc, claims) from exc
    except UNAVAILABLE as exc:
        raise unavailable("The database", exc) from exc


# ---- shared helpers -------------------------------------------------------------------------


def _query(request: Request, skip: tuple[str, ...] = ()) -> Query:
    return parse_query(request.query_params.multi_items(), skip=skip)


def _prefer(request: Request) -> Prefer:
    return parse_prefer(request.headers.getlist("prefer"))


def _wants_object(request: Request) -> bool:
    return any(part.strip().startswith(OBJECT_MEDIA) for part in request.headers.get("accept", "").split(","))


def _unknown_relation(name: str, relations: dict[str, Relation]) -> RestError:
    close = difflib.get_close_matches(name, list(relations), n=3)
    readable = ", ".join(sorted(HEALTH_VIEWS))
    perhaps = f"Perhaps you meant {', '.join(repr(c) for c in close)}. " if close else ""
    hint = f"{perhaps}Observability views: {readable}"
    return RestError(404, "PGRST205", f"Could not find the table 'public.{name}' in the schema cache", hint=hint)


def _relation(relations: dict[str, Relation], name: str) -> Relation:
    found = relations.get(name)
    if found is None:
        raise _unknown_relation(name, relations)
    return found


def _content_range(offset: int, n: int, total: int | None) -> str:
    shown = "*" if total is None else str(total)
    if n == 0:
        return f"*/{shown}"
    return f"{offset}-{offset + n - 1}/{shown}"


def _respond(
    body: str,
    n: int,
    *,
    status: int = 200,
    single: bool = False,
    head: bool = False,
    content_range: str | None = None,
) -> Response:
    headers = {"Content-Range": content_range} if content_range else {}
    if single:
        if n != 1:
            raise ApiError(
                406,
                "PGRST116",
                "JSON object requested, multiple (or no) rows returned",
                details=f"The result contains {n} rows",
            )
        body = body.strip()[1:-1].strip()
    media = OBJECT_MEDIA if single else "application/json"
    return Response(b"" if head else body.encode(), status_code=status, media_type=media, headers=headers)


async def _count(conn: asyncpg.Connection, statement: Statement, planned: bool) -> int:
    if planned:
        plan = await conn.fetchval(statement.sql, *statement.values)
        parsed = json.loads(plan) if isinstance(plan, str) else plan
        return int(parsed[0]["Plan"]["Plan Rows"])
    return int(await conn.fetchval(statement.sql, *statement.values))


# ---- tables and views -----------------------------------------------------------------------


@router.get("/{relation}")
@router.head("/{relation}", include_in_schema=False)  # one operation id in the OpenAPI document
async def read_relation(relation: str, request: Request, state: StateDep, claims: ClaimsDep) -> Response:
    await enforce_rate_limit(state, "high", rate_subject(request, claims), claims)
    head = request.method == "HEAD"

    async def work() -> Response:
        query = _query(request)
        prefer = _prefer(request)
        range_ = parse_range(request.headers.get("range"))
        offset, limit = window(query, range_)

        async def read(conn: asyncpg.Connection) -> tuple[str, int, int | None]:
            relations = await CATALOG.relations(conn)
            rel = _relation(relations, relation)
            source = relation_source(rel)
            exact = prefer.count == "exact"
            statement = read_statement(relations, source, query, offset, limit, with_total=exact)
            async with as_caller(conn, claims, read_only=True):
                row = await conn.fetchrow(statement.sql, *statement.values)
                assert row is not None
                n = int(row["n"])
                total: int | None = None if row["total"] is None else int(row["total"])
                if prefer.count is not None and (total is None or n == 0):
                    planned = prefer.count != "exact"
                    total = await _count(conn, count_statement(relations, source, query, planned=planned), planned)
                    if prefer.count == "estimated" and total < 1000:
                        total = await _count(conn, count_statement(relations, source, query), False)
            return str(row["body"]), n, total

        if relation in HEALTH_VIEWS:
            body, n, total = await state.db.read(read)
        else:
            async with state.db.primary() as conn:
                body, n, total = await read(conn)
        return _respond(
            body,
            n,
            single=_wants_object(request),
            head=head,
            content_range=_content_range(offset, n, total),
        )

    return await _guard(claims, work())


async def _mutate(
    state: PlatformState, claims: Claims, build: Callable[[dict[str, Relation]], Statement], representation: bool
) -> tuple[str, int]:
    async with state.db.primary() as conn:
        relations = await CATALOG.relations(conn)
        statement = build(relations)
        async with as_caller(conn, claims, read_only=False):
            if representation:
                row = await conn.fetchrow(statement.sql, *statement.values)
                assert row is not None
                return str(row["body"]), int(row["n"])
            status = await conn.execute(statement.sql, *statement.values)
    return "", _affected(status)


def _affected(status: str) -> int:
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


async def _body(request: Request) -> Any:
    raw = await read_body(request, limit=RPC_BODY_BYTES)
    if not raw.strip():
        raise ApiError(400, "PGRST102", "Empty or invalid json", details="the request body is empty")
    return loads(raw)


@router.post("/{relation}")
async def insert_rows(relation: str, request: Request, state: StateDep, claims: ClaimsDep) -> Response:
    await enforce_rate_limit(state, "standard", rate_subject(request, claims), claims)

    async def work() -> Response:
        query = _query(request)
        prefer = _prefer(request)
        payload = await _body(request)
        rows = [payload] if isinstance(payload, dict) else payload
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise ApiError(
                400, "PGRST102", "Empty or invalid json", details="expected an object or an array of objects"
            )
        representation = prefer.returning == "representation"
        if not rows:
            body, n = "[]", 0
        else:
            body, n = await _mutate(
                state,
                claims,
                lambda rels: insert_statement(
                    rels, _relation(rels, relation), rows, query, prefer.returning, prefer.resolution
                ),
                representation,
            )
        content_range = f"*/{n}" if prefer.count else None
        if not representation:
            return Response(status_code=201, headers={"Content-Range": content_range} if content_range else None)
        return _respond(body, n, status=201, single=_wants_object(request), content_range=content_range)

    return await _guard(claims, work())


def _require_filter(query: Query, verb: str) -> None:
    if not query.filters:
        raise ApiError(
            400,
            "21000",
            f"{verb} requires a WHERE clause",
            hint="Add a filter (e.g. id=eq.1); unfiltered updates and deletes are refused",
        )


@router.patch("/{relation}")
async def update_rows(relation: str, request: Request, state: StateDep, claims: ClaimsDep) -> Response:
    await enforce_rate_limit(state, "standard", rate_subject(request, claims), claims)

    async def work() -> Response:
        query = _query(request)
        _require_filter(query, "UPDATE")
        prefer = _prefer(request)
        patch = await _body(request)
        if not isinstance(patch, dict):
            raise ApiError(400, "PGRST102", "Empty or invalid json", details="an update takes one JSON object")
        representation = prefer.returning == "representation"
        if not patch:
            body, n = "[]", 0
        else:
            body, n = await _mutate(
                state,
                claims,
                lambda rels: update_statement(rels, _relation(rels, relation), patch, query, prefer.returning),
                representation,
            )
        content_range = f"0-{n - 1}/{n}" if prefer.count and n else (f"*/{n}" if prefer.count else None)
        if not representation:
            return Response(status_code=204, headers={"Content-Range": content_range} if content_range else None)
        return _respond(body, n, single=_wants_object(request), content_range=content_range)

    return await _guard(claims, work())


@router.delete("/{relation}")
async def delete_rows(relation: str, request: Request, state: StateDep, claims: ClaimsDep) -> Response:
    await enforce_rate_limit(state, "standard", rate_subject(request, claims), claims)

    async def work() -> Response:
        query = _query(request)
        _require_filter(query, "DELETE")
        prefer = _prefer(request)
        representation = prefer.returning == "representation"
        body, n = await _mutate(
            state,
            claims,
            lambda rels: delete_statement(rels, _relation(rels, relation), query, prefer.returning),
            representation,
        )
        content_range = f"0-{n - 1}/{n}" if prefer.count and n else (f"*/{n}" if prefer.count else None)
        if not representation:
            return Response(status_code=204, headers={"Content-Range": content_range} if content_range else None)
        return _respond(body, n, single=_wants_object(request), content_range=content_range)

    return await _guard(claims, work())


# ---- RPCs with modifiers, and GET RPCs ------------------------------------------------------


def _unknown_function(function: str) -> ApiError:
    return ApiError(
        404,
        "PGRST202",
        f"Could not find the function public.{function} in the schema cache",
        hint="Call one of the platform's allow-listed functions",
    )


def _has_modifiers(request: Request) -> bool:
    prefer = _prefer(request)
    return bool(
        request.query_params or prefer.count or _wants_object(request) or request.headers.get("range") is not None
    )


@router.post("/rpc/{function}", include_in_schema=False)
async def post_rpc(function: str, request: Request, state: StateDep, claims: ClaimsDep) -> Response:
    """Without modifiers this is exactly the RPC route; with them, the modifiers apply in SQL.

    Plain calls, most of the traffic, reach `plain_rpc` through the RPC lane (platform/api/rpc_lane.py)
    before FastAPI routes them; this route serves the rest, and plain calls too where the lane
    passes them on.
    """
    if not _has_modifiers(request):
        return await plain_rpc(function, request, state, claims)
    return await _rpc_with_modifiers(function, request, state, claims, get=False)


async def plain_rpc(function: str, request: Request, state: PlatformState, claims: Claims) -> Response:
    """A call without modifiers: the RPC route, with PostgREST's code for a function it does not know."""
    try:
        return await rpc.call_rpc(function, request, state, claims)
    except ApiError as exc:
        if exc.code == "unknown_function":
            exc.code = "PGRST202"
        raise


@router.get("/rpc/{function}")
@router.head("/rpc/{function}", include_in_schema=False)
async def get_rpc(function: str, request: Request, state: StateDep, claims: ClaimsDep) -> Response:
    """A STABLE/IMMUTABLE function called with its arguments in the query string."""
    return await _rpc_with_modifiers(function, request, state, claims, get=True)


def _query_argument(arg: Arg | None, values: list[str]) -> Any:
    if arg is not None and arg.category == "A":
        if len(values) == 1 and values[0].startswith("{") and values[0].endswith("}"):
            inner = values[0][1:-1]
            return [v.strip().strip('"') for v in inner.split(",")] if inner.strip() else []
        return values
    return values[-1]


async def _rpc_with_modifiers(
    function: str, request: Request, state: PlatformState, claims: Claims, *, get: bool
) -> Response:
    started = time.perf_counter()
    status, error_code = 200, None
    try:
        if not is_allowed(function):
            raise _unknown_function(function)
        await enforce_rate_limit(state, rpc.rate_profile(function), rate_subject(request, claims), claims)
        overloads = await _guard(claims, rpc.signatures(state, function))
        if not overloads:
            raise _unknown_function(function)
        names = {a.name: a for sig in overloads for a in sig.args}
        if get:
            grouped: dict[str, list[str]] = {}
            for key, value in request.query_params.multi_items():
                if key in names:
                    grouped.setdefault(key, []).append(value)
            args = {k: _query_argument(names.get(k), v) for k, v in grouped.items()}
        else:
            args = await rpc.read_arguments(request, function)
        try:
            call = bind(choose_overload(function, overloads, args), args)
        except ArgumentError as exc:
            raise ApiError(400, "invalid_arguments", str(exc)) from exc
        if get and not call.signature.read_only:
            raise ApiError(
                405,
                "PGRST101",
                f"{function} is VOLATILE: call it with POST",
                hint="GET calls only STABLE or IMMUTABLE functions (they run read-only)",
            )
        query = await _guard(claims, _parse_async(request, tuple(names) if get else ()))
        return await _guard(claims, _run_modified(state, function, call, query, request, claims))
    except ApiError as exc:
        status, error_code = exc.status, exc.code
        raise
    except Exception:
        status, error_code = 500, "internal_error"
        raise
    finally:
        rpc.record_call(state, function, claims, started, status, error_code)


async def _parse_async(request: Request, skip: tuple[str, ...]) -> Query:
    return _query(request, skip)


async def _run_modified(
    state: PlatformState, function: str, call: BoundCall, query: Query, request: Request, claims: Claims
) -> Response:
    sig = call.signature
    prefer = _prefer(request)
    head = request.method == "HEAD"
    single = _wants_object(request)
    range_ = parse_range(request.headers.get("range"))
    offset, limit = window(query, range_)

    async def run(conn: asyncpg.Connection) -> Response:
        if not sig.returns_row:
            if query.has_modifiers:
                raise RestError(
                    400, "PGRST100", f"{function} does not return rows: select, filters and order do not apply"
                )
            result = await execute(conn, call, claims)
            n = len(result) if isinstance(result, list) else 1
            return _respond(
                json.dumps(result if not single or isinstance(result, list) else [result]),
                n,
                single=single,
                head=head,
                content_range=_content_range(0, n, n if prefer.count else None),
            )
        arg_types = ", ".join(a.type for a in sig.args)
        columns = await CATALOG.function_columns(conn, function, arg_types)
        source = Source(function, call.source, columns)
        statement = read_statement(
            {}, source, query, offset, limit, start=len(call.values) + 1, with_total=prefer.count is not None
        )
        async with as_caller(conn, claims, read_only=sig.read_only):
            row = await conn.fetchrow(statement.sql, *call.values, *statement.values)
        assert row is not None
        n = int(row["n"])
        total = None if row["total"] is None else int(row["total"])
        body = str(row["body"])
        if not sig.returns_set and not single:
            # A function returning one row answers with the object, as without modifiers.
            parsed = json.loads(body)
            body = json.dumps(parsed[0] if parsed else None)
            return Response(b"" if head else body.encode(), media_type="application/json")
        return _respond(body, n, single=single, head=head, content_range=_content_range(offset, n, total))

    if function in REPLICA_READS and sig.read_only:
        return await state.db.read(run)
    async with state.db.primary() as conn:
        return await run(conn)
