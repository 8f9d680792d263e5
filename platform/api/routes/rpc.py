"""`POST /rest/v1/rpc/{function}`: allow-listed SQL functions called with named JSON arguments.

Each call is one transaction that switches to the caller's role and claims,
so RLS and auth.uid() behave as in production. Argument names and values are
checked against pg_proc before any SQL runs; database errors map to 4xx/503
(see errors.py). Every call, successful or not, is recorded for rpc_metrics.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse

from gauntlet.platform.api.bodies import MAX_JSON_DEPTH, RPC_BODY_BYTES, loads, read_body
from gauntlet.platform.api.deps import ClaimsDep, StateDep, enforce_rate_limit, rate_subject
from gauntlet.platform.api.errors import ApiError, from_postgres, outcome_unknown, unavailable
from gauntlet.platform.api.responses import JsonAnswer
from gauntlet.platform.api.rpc_args import ArgumentError, Signature, bind, choose_overload
from gauntlet.platform.api.rpc_catalog import ALLOWED_FUNCTIONS, REPLICA_READS, execute, is_allowed
from gauntlet.platform.api.state import PlatformState
from gauntlet.platform.auth.tokens import Claims
from gauntlet.platform.db import UNAVAILABLE
from gauntlet.platform.metrics import RpcSample
from gauntlet.platform.ratelimit import Profile

# Lost on our side of the connection (asyncpg's 08003 is its own, not the server's): an error the
# server reported means the transaction rolled back, but these leave the outcome unknown.
CONNECTION_LOST: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    asyncpg.ConnectionDoesNotExistError,
)

router = APIRouter(prefix="/rest/v1/rpc", tags=["rpc"])

_HIGH: frozenset[str] = frozenset(
    {"interest_catalog_search", "interest_catalog_browse", "flags_for", "check_handle_available"}
)
_EXPENSIVE: frozenset[str] = frozenset(
    {
        "marketplace_suggestions_for_user",
        "recompute_profile_embedding",
        "enqueue_discovery_for_user",
        "ensure_category_for_interest",
    }
)
_ADMIN_PREFIXES = ("lease_", "ack_", "fail_", "worker_", "gc_")


def rate_profile(function: str) -> Profile:
    """Which edge rate-limit profile a function's callers draw from."""
    if function in _HIGH:
        return "high"
    if function in _EXPENSIVE:
        return "expensive"
    if function.startswith(_ADMIN_PREFIXES):
        return "admin"
    return "standard"


# The OpenAPI document names every allow-listed function (so a fuzzer reaches each) and describes
# the body as what it is: a JSON object of named arguments, checked against pg_proc at call time.
FunctionName = Annotated[
    str,
    Path(description="an allow-listed SQL function", json_schema_extra={"enum": sorted(ALLOWED_FUNCTIONS)}),
]
ARGUMENTS_BODY: dict[str, Any] = {
    "requestBody": {
        "required": False,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "additionalProperties": True,
                    "description": f"named arguments (p_...); at most {RPC_BODY_BYTES} bytes, "
                    f"nested at most {MAX_JSON_DEPTH} levels",
                }
            }
        },
    }
}


@router.post("/{function}", openapi_extra=ARGUMENTS_BODY)
async def call_rpc(function: FunctionName, request: Request, state: StateDep, claims: ClaimsDep) -> JSONResponse:
    started = time.perf_counter()
    status, error_code = 200, None
    try:
        if not is_allowed(function):
            raise ApiError(
                404,
                "unknown_function",
                f"No RPC named {function!r}",
                hint="Call one of the platform's allow-listed functions",
            )
        await enforce_rate_limit(state, rate_profile(function), rate_subject(request, claims), claims)
        args = await read_arguments(request, function)
        result = await run_rpc(state, function, args, claims)
        return JsonAnswer(result)
    except ApiError as exc:
        status, error_code = exc.status, exc.code
        raise
    except asyncpg.PostgresError as exc:
        if exc.sqlstate == "42883":  # the function changed under a cached signature
            state.signatures.forget(function)
        mapped = from_postgres(exc)
        status, error_code = mapped.status, mapped.code
        raise mapped from exc
    except UNAVAILABLE as exc:
        mapped = unavailable("The database", exc)
        status, error_code = mapped.status, mapped.code
        raise mapped from exc
    except Exception:
        status, error_code = 500, "internal_error"
        raise
    finally:
        record_call(state, function, claims, started, status, error_code)


def record_call(
    state: PlatformState, function: str, claims: Claims, started: float, status: int, error_code: str | None
) -> None:
    """One RPC call in rpc_metrics (an RPC off the allow-list as `<unknown>`), by whichever route served it."""
    state.metrics.record_rpc(
        RpcSample(
            name=function if is_allowed(function) else "<unknown>",
            role=claims.role,
            duration_ms=(time.perf_counter() - started) * 1000,
            status=status,
            error_code=error_code,
            user_id=claims.sub,
            at=time.time(),
        )
    )


async def read_arguments(request: Request, function: str) -> dict[str, Any]:
    """The JSON object of named arguments (an empty body means no arguments), within the body limits."""
    body = await read_body(request, limit=RPC_BODY_BYTES)
    if not body.strip():
        return {}
    try:
        args = loads(body)
    except ApiError as exc:
        exc.message = f"{function}: {exc.message}"
        raise
    if not isinstance(args, dict):
        raise ApiError(
            400,
            "invalid_arguments",
            f"{function}: arguments must be a JSON object of named arguments, got {type(args).__name__}",
        )
    return args


async def signatures(state: PlatformState, function: str) -> list[Signature]:
    """The function's overloads (cached); read from a replica when one is up, the catalog is the same.

    A cached answer takes no connection (a pool round trip, and the pool's reset query on release,
    on every call otherwise). A replica that has not replayed a fresh migration yet finds nothing:
    then ask the primary.
    """
    cached = state.signatures.cached(function)
    if cached is not None:
        return cached
    found = await state.db.read(lambda conn: state.signatures.get(conn, function))
    if found:
        return found
    async with state.db.primary() as conn:
        return await state.signatures.get(conn, function)


async def run_rpc(state: PlatformState, function: str, args: dict[str, Any], claims: Claims) -> Any:
    overloads = await signatures(state, function)
    if not overloads:
        raise ApiError(
            404,
            "unknown_function",
            f"RPC {function!r} is allowed but not defined in the database",
            hint="Run the migrations (gauntlet migrate)",
        )
    try:
        call = bind(choose_overload(function, overloads, args), args)
    except ArgumentError as exc:
        raise ApiError(400, "invalid_arguments", str(exc)) from exc
    if function in REPLICA_READS and call.signature.read_only:
        return await state.db.read(lambda conn: execute(conn, call, claims, json_as_text=True))
    async with state.db.primary() as conn:  # failing here: nothing was sent, so a plain 503
        try:
            return await execute(conn, call, claims, json_as_text=True)
        except CONNECTION_LOST as exc:
            if call.signature.read_only:
                raise
            # The write (or its COMMIT) went out and no answer came back: it may have committed.
            raise outcome_unknown("The database", exc) from exc
