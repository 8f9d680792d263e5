"""Reading JSON request bodies into models, with errors in the API's one shape.

Every route that takes a body reads it here, so each limit holds everywhere:

- size: the body is streamed and counted, and refused (413 `payload_too_large`)
  as soon as it passes the route's limit, before the rest is read; a
  Content-Length over the limit is refused before reading anything;
- time: the whole body must arrive within `http_body_timeout_s` (408);
- shape: JSON only, nested at most `MAX_JSON_DEPTH` levels (400
  `json_too_deep`), no unpaired UTF-16 surrogate escapes (400 `invalid_json`).

None of these is ever a 500, and an error answered before the body was read
whole closes the connection (the unread rest would otherwise be parsed as the
next request); any other error leaves the keep-alive connection usable.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError
from starlette.requests import ClientDisconnect

from gauntlet.platform.api.errors import ApiError

Model = TypeVar("Model", bound=BaseModel)

# Limits per kind of body (bytes). RPC arguments keep the 1 MB they always had.
RPC_BODY_BYTES = 1_000_000
AUTH_BODY_BYTES = 8 * 1024  # a password or refresh grant: e-mail, password, token
SIGNUP_BODY_BYTES = 64 * 1024  # the grant plus `data` (itself at most USER_METADATA_BYTES)
USER_METADATA_BYTES = 16 * 1024  # GoTrue `data` (user_metadata), serialised
FUNCTION_BODY_BYTES = 64 * 1024  # the edge functions' small option objects
MAX_JSON_DEPTH = 64  # arrays/objects inside each other; real calls use a handful
DEFAULT_BODY_TIMEOUT_S = 30.0

_SURROGATE = re.compile("[\ud800-\udfff]")


def too_large(limit: int, what: str = "request body") -> ApiError:
    return ApiError(
        413,
        "payload_too_large",
        f"The {what} is limited to {limit} bytes",
        details={"limit_bytes": limit},
        # The unread rest of the body must not be parsed as the next request.
        headers={"Connection": "close"},
    )


async def read_body(request: Request, *, limit: int) -> bytes:
    """The raw body, streamed with a running size check and a deadline for the whole of it."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            declared_bytes = int(declared)
        except ValueError:
            raise ApiError(400, "invalid_request", "Content-Length is not a number") from None
        if declared_bytes > limit:
            raise too_large(limit)
    settings = getattr(getattr(request.app.state, "platform", None), "settings", None)
    timeout_s = float(getattr(settings, "http_body_timeout_s", DEFAULT_BODY_TIMEOUT_S))
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(timeout_s):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise too_large(limit)
                chunks.append(chunk)
    except TimeoutError:
        raise ApiError(
            408,
            "request_timeout",
            f"The request body did not arrive within {timeout_s:g} s",
            headers={"Connection": "close"},
        ) from None
    except ClientDisconnect:
        # Nobody is left to read the answer; a 400 keeps it out of the defects' log.
        raise ApiError(400, "client_disconnected", "The client went away while sending the body") from None
    body = b"".join(chunks)
    request._body = body  # Starlette's cache: a later request.body() sees the same bytes
    return body


def loads(raw: bytes | str, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Parse JSON text; 400 with a code for anything that is not acceptable JSON (never a 500)."""
    try:
        value = json.loads(raw)
    except RecursionError:
        raise _too_deep(max_depth) from None
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError is a ValueError
        raise ApiError(400, "invalid_json", f"request body is not valid JSON ({exc})") from None
    escaped = b"\\ud" in (raw if isinstance(raw, bytes) else raw.encode(errors="replace")).lower()
    check_shape(value, max_depth=max_depth, surrogates=escaped)
    return value


def check_shape(value: Any, *, max_depth: int = MAX_JSON_DEPTH, surrogates: bool = True) -> None:
    """Refuse nesting deeper than `max_depth` and (when `surrogates`) unpaired surrogates in strings."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:  # iterative: the value may nest as deep as the decoder allowed
        node, depth = stack.pop()
        if isinstance(node, dict):
            if depth > max_depth:
                raise _too_deep(max_depth)
            if surrogates and any(_SURROGATE.search(k) for k in node):
                raise _surrogate()
            stack.extend((item, depth + 1) for item in node.values())
        elif isinstance(node, list):
            if depth > max_depth:
                raise _too_deep(max_depth)
            stack.extend((item, depth + 1) for item in node)
        elif surrogates and isinstance(node, str) and _SURROGATE.search(node):
            raise _surrogate()


def _too_deep(max_depth: int) -> ApiError:
    return ApiError(
        400, "json_too_deep", f"JSON nests deeper than {max_depth} levels", details={"max_depth": max_depth}
    )


def _surrogate() -> ApiError:
    return ApiError(400, "invalid_json", "JSON strings must be valid Unicode (an unpaired surrogate escape was found)")


async def json_object(request: Request, *, limit: int, required: bool = True) -> dict[str, Any]:
    """The body as a JSON object within `limit` bytes; an empty body is {} unless `required`."""
    raw = await read_body(request, limit=limit)
    if not raw.strip():
        if required:
            raise ApiError(400, "invalid_json", "request body must be a JSON object (it is empty)")
        return {}
    parsed = loads(raw)
    if not isinstance(parsed, dict):
        raise ApiError(400, "invalid_json", f"request body must be a JSON object, got {type(parsed).__name__}")
    return parsed


def json_size(value: Any) -> int:
    """Bytes of `value` as compact JSON (what a limit on a stored JSON field counts)."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def openapi_body(*models: type[BaseModel], required: bool = True) -> dict[str, Any]:
    """`openapi_extra` for a route that reads its JSON itself: the body's schema in the OpenAPI document."""
    schemas = [m.model_json_schema() for m in models]
    schema = schemas[0] if len(schemas) == 1 else {"oneOf": schemas}
    return {"requestBody": {"required": required, "content": {"application/json": {"schema": schema}}}}


def parse(model: type[Model], raw: dict[str, Any]) -> Model:
    """Validate into `model`; a 422 naming the first bad field otherwise."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "body"
        raise ApiError(
            422,
            "invalid_request",
            f"{field}: {first['msg']}",
            details=[{"field": ".".join(str(p) for p in e["loc"]), "problem": e["msg"]} for e in exc.errors()],
        ) from exc
