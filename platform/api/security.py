"""Security headers on every response, and who may read `/metrics`.

The headers (values in docs/security.md) are added by a plain ASGI middleware,
like HttpMetrics, so they cost no extra task per request and also reach error
responses. A header the route set itself is kept.

`/metrics` is open in development (the embedded stack, its drills and tests
scrape it from loopback); in any other environment it needs
`Authorization: Bearer <GAUNTLET_METRICS_TOKEN>` or the service_role key.
"""

from __future__ import annotations

import hmac

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gauntlet.platform.api.errors import ApiError
from gauntlet.platform.auth.tokens import InvalidToken, verify
from gauntlet.platform.settings import PlatformSettings

# Pages load their scripts and styles from /web/static only; the config is a JSON data block
# (not executed, so no 'unsafe-inline'), the favicon a data: URL; nothing may frame a page.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS: tuple[tuple[str, str], ...] = (
    ("content-security-policy", CONTENT_SECURITY_POLICY),
    ("x-frame-options", "DENY"),
    ("x-content-type-options", "nosniff"),
    # /login carries a ?next=, a page's URL its parameters: never send them to another site.
    ("referrer-policy", "same-origin"),
    ("cross-origin-opener-policy", "same-origin"),
)


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS:
                    if name not in headers:
                        headers.append(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def authorize_metrics(settings: PlatformSettings, authorization: str | None) -> None:
    """Raise 401/403 unless this caller may read /metrics (see the module's docstring)."""
    if settings.environment == "development":
        return
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise ApiError(
            401,
            "metrics_token_required",
            "/metrics needs 'Authorization: Bearer <GAUNTLET_METRICS_TOKEN>' (or the service_role key) "
            "outside development",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if settings.metrics_token and hmac.compare_digest(token.encode(), settings.metrics_token.encode()):
        return
    try:
        claims = verify(settings.jwt_secret, token)
    except InvalidToken:
        claims = None
    if claims is None or claims.role != "service_role":
        raise ApiError(403, "metrics_forbidden", "This token may not read /metrics")
