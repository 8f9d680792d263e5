"""One error shape for the whole HTTP surface, and the Postgres error -> HTTP status mapping.

Every error body is `{"code": ..., "message": ..., "details": ..., "hint": ...}`
(PostgREST's shape). Bad input is always a 4xx naming the problem; only a
defect on our side is a 500, and its body never carries a traceback.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("gauntlet.platform.api")

RETRY_AFTER_UNAVAILABLE_S = 1


class ApiError(Exception):
    """An error the API answers with; `status` and `code` are what the caller sees."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        details: Any = None,
        hint: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.hint = hint
        self.headers = headers or {}

    def response(self) -> JSONResponse:
        body = {"code": self.code, "message": self.message, "details": self.details, "hint": self.hint}
        return JSONResponse(body, status_code=self.status, headers=self.headers)


def gotrue_body(exc: ApiError) -> dict[str, Any]:
    """The error body with GoTrue's fields (`error_code`, `msg`) too, which supabase clients read."""
    body: dict[str, Any] = {
        "code": exc.code,
        "error_code": exc.code,
        "msg": exc.message,
        "message": exc.message,
        "details": exc.details,
        "hint": exc.hint,
    }
    if exc.code == "weak_password":  # clients read the reasons from here
        body["weak_password"] = {"reasons": ["length", "characters"]}
    return body


class SessionEnded(ApiError):
    """An access token whose session ended (logout, a reused refresh token): 401 in GoTrue's shape."""

    def __init__(self) -> None:
        super().__init__(
            401,
            "session_not_found",
            "Session from session_id claim in JWT does not exist",
            hint="The session was ended by a logout or a reused refresh token: sign in again",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token", error_description="session ended"'},
        )

    def response(self) -> JSONResponse:
        return JSONResponse(gotrue_body(self), status_code=self.status, headers=self.headers)


@dataclass(frozen=True, slots=True)
class Mapped:
    status: int
    retry_after: int | None = None


# SQLSTATE -> HTTP status for errors a caller's input or permissions caused.
_BY_SQLSTATE: dict[str, Mapped] = {
    "23505": Mapped(409),  # unique_violation
    "23503": Mapped(409),  # foreign_key_violation
    "23514": Mapped(422),  # check_violation / refused by a rule (affinity outside [0, 1], reserved handle)
    "23502": Mapped(400),  # not_null_violation
    "22P02": Mapped(400),  # invalid_text_representation
    "P0001": Mapped(400),  # raise_exception (e.g. complete_onboarding's gates)
    "P0002": Mapped(404),  # no_data_found
    "28000": Mapped(401),  # not signed in (the migrations' convention)
    "42501": Mapped(403),  # insufficient_privilege (RLS or a revoked grant)
    "42883": Mapped(404),  # undefined_function: allow-listed but not (yet) migrated
    "57014": Mapped(503, RETRY_AFTER_UNAVAILABLE_S),  # query_canceled: statement timeout
    "40001": Mapped(503, RETRY_AFTER_UNAVAILABLE_S),  # serialization failure / recovery conflict
    "40P01": Mapped(503, RETRY_AFTER_UNAVAILABLE_S),  # deadlock_detected
    "55P03": Mapped(503, RETRY_AFTER_UNAVAILABLE_S),  # lock_not_available
}
# Whole SQLSTATE classes: data exceptions are bad input, the rest mean "try again".
_BY_CLASS: dict[str, Mapped] = {
    "22": Mapped(400),  # data_exception: out of range, bad format, division by zero...
    "23": Mapped(409),  # other integrity violations
    "08": Mapped(503, RETRY_AFTER_UNAVAILABLE_S),  # connection_exception
    "53": Mapped(503, RETRY_AFTER_UNAVAILABLE_S),  # insufficient_resources
    "57": Mapped(503, RETRY_AFTER_UNAVAILABLE_S),  # operator intervention (shutdown, crash)
}


def map_sqlstate(sqlstate: str | None) -> Mapped:
    """The HTTP status (and Retry-After) for a Postgres SQLSTATE; 500 for ours to fix."""
    if not sqlstate:
        return Mapped(500)
    return _BY_SQLSTATE.get(sqlstate) or _BY_CLASS.get(sqlstate[:2]) or Mapped(500)


def from_postgres(exc: asyncpg.PostgresError) -> ApiError:
    """Turn a Postgres error into the ApiError the caller sees."""
    sqlstate = getattr(exc, "sqlstate", None)
    mapped = map_sqlstate(sqlstate)
    headers = {"Retry-After": str(mapped.retry_after)} if mapped.retry_after else None
    if mapped.status == 500:
        log.error("unmapped database error", extra={"action": "rpc_error", "sqlstate": sqlstate, "error": repr(exc)})
        return ApiError(
            500, "internal_error", "The database reported an unexpected error", details={"sqlstate": sqlstate}
        )
    message = getattr(exc, "message", None) or str(exc)
    if mapped.status == 503 and sqlstate == "57014":
        message = "The request took too long (statement timeout); retry later"
    return ApiError(
        mapped.status,
        sqlstate or "database_error",
        message,
        details=_detail(getattr(exc, "detail", None)),
        hint=getattr(exc, "hint", None),
        headers=headers,
    )


def _detail(detail: str | None) -> Any:
    """The migrations put JSON in DETAIL (e.g. complete_onboarding's missing gates): pass it as JSON."""
    if detail is None:
        return None
    try:
        return json.loads(detail)
    except ValueError:
        return detail


OUTCOME_UNKNOWN = "outcome_unknown"  # the error code of a write that may or may not have been applied


def unavailable(what: str, exc: BaseException) -> ApiError:
    """A 503 for a backing service that cannot be reached right now."""
    return ApiError(
        503,
        "service_unavailable",
        f"{what} is unavailable; retry later",
        details=type(exc).__name__,
        headers={"Retry-After": str(RETRY_AFTER_UNAVAILABLE_S)},
    )


def outcome_unknown(what: str, exc: BaseException) -> ApiError:
    """A 503 for a write whose connection was lost after it was sent: it may or may not have committed.

    Unlike `unavailable`, the caller cannot assume nothing happened; it should retry only a write
    that is safe to repeat, or look first.
    """
    return ApiError(
        503,
        OUTCOME_UNKNOWN,
        f"{what} connection was lost during the write; it may or may not have been applied; check before retrying",
        details=type(exc).__name__,
        headers={"Retry-After": str(RETRY_AFTER_UNAVAILABLE_S)},
    )


def _validation(exc: RequestValidationError) -> JSONResponse:
    problems = [
        {"field": ".".join(str(p) for p in err.get("loc", ()) if p != "body"), "problem": err.get("msg")}
        for err in exc.errors()
    ]
    first = problems[0] if problems else {"field": "", "problem": "invalid request"}
    message = f"{first['field'] or 'request'}: {first['problem']}"
    return ApiError(422, "invalid_request", message, details=problems).response()


def _database_unavailable(exc: Exception) -> JSONResponse:
    return unavailable("The database", exc).response()


# The answer for each exception class the API maps; anything else is a defect (500, logged).
_ANSWERS: dict[type[Exception], Callable[[Any], JSONResponse]] = {
    ApiError: lambda exc: exc.response(),
    asyncpg.PostgresError: lambda exc: from_postgres(exc).response(),
    RequestValidationError: _validation,
    StarletteHTTPException: lambda exc: ApiError(
        exc.status_code, "http_error", str(exc.detail), headers=dict(exc.headers or {})
    ).response(),
    OSError: _database_unavailable,
    asyncio.TimeoutError: _database_unavailable,
    asyncpg.InterfaceError: _database_unavailable,
}


def answer_for(exc: BaseException) -> JSONResponse | None:
    """The JSON answer for a mapped exception, by the nearest class in its MRO (as Starlette looks
    handlers up); None for a defect, which ServerErrorMiddleware answers with a 500."""
    for cls in type(exc).__mro__:
        answer = _ANSWERS.get(cls)
        if answer is not None:
            return answer(exc)
    return None


def install_handlers(app: FastAPI) -> None:
    """Route every error through the one JSON shape (the RPC lane answers with `answer_for` too)."""

    async def _mapped(_: Request, exc: Exception) -> JSONResponse:
        answer = answer_for(exc)
        assert answer is not None  # registered for the mapped classes only
        return answer

    for cls in _ANSWERS:
        app.add_exception_handler(cls, _mapped)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        # A defect on our side: log it with the traceback, answer without one.
        log.error("unhandled error", exc_info=exc, extra={"action": "unhandled_error", "error": repr(exc)})
        return ApiError(500, "internal_error", "Internal error; it has been logged").response()
