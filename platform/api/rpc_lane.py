"""Plain RPC calls, most of the platform's traffic, answered before FastAPI routes them.

`POST /rest/v1/rpc/{function}` with no modifiers (no query string, `Prefer`, `Range` or object
`Accept`) is answered here by the functions its route runs: `get_claims` (the token and its
session), then `rest.plain_rpc` (allow-list, rate limit, body limits, the call as the caller,
rpc_metrics). Errors get the app's own answers (`errors.answer_for`); a defect goes on up to
ServerErrorMiddleware, as from the route. The lane sits innermost of the app's middlewares, so
HttpMetrics times these calls (under the route's template) and SecurityHeaders adds its headers,
as for every answer. Everything else, plain calls the lane is unsure of included, goes on to
FastAPI unchanged, and the route stays for them and for the OpenAPI document.

Why: FastAPI's per-request machinery (matching through every router, the request handler,
dependency solving, its exit stacks) cost more CPU than the call's own rules. bench_knee's `ruled`
floor, the route's rules in a plain function over the API's own process state, took 0.68 ms of
CPU a call at 240/s where the API took 1.07 ms (suggestions, 2026-12-07).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from gauntlet.platform.api.deps import get_claims, platform_state
from gauntlet.platform.api.errors import answer_for
from gauntlet.platform.api.routes import rest

PREFIX = "/rest/v1/rpc/"
# A request carrying any of these may have modifiers: FastAPI's route decides (rest._has_modifiers).
_MODIFIER_HEADERS = frozenset({b"prefer", b"range"})
_OBJECT_MEDIA = rest.OBJECT_MEDIA.encode()
# The route plain calls are counted under in HttpMetrics, as when FastAPI serves them.
ROUTE = next(r for r in rest.router.routes if getattr(r, "endpoint", None) is rest.post_rpc)


def plain_call(scope: Scope) -> str | None:
    """The function a plain RPC call names, or None when the request is anything else."""
    if scope["type"] != "http" or scope["method"] != "POST" or scope.get("root_path") or scope["query_string"]:
        return None
    path: str = scope["path"]
    function = path[len(PREFIX) :]
    if not path.startswith(PREFIX) or not function or "/" in function:
        return None
    for name, value in scope["headers"]:
        if name in _MODIFIER_HEADERS or (name == b"accept" and _OBJECT_MEDIA in value):
            return None
    return function


class RpcLane:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        function = plain_call(scope)
        if function is None:
            await self.app(scope, receive, send)
            return
        scope["route"] = ROUTE
        request = Request(scope, receive)
        try:
            response = await rest.plain_rpc(function, request, platform_state(request), await get_claims(request))
        except Exception as exc:
            answer = answer_for(exc)
            if answer is None:
                raise
            response = answer
        await response(scope, receive, send)
