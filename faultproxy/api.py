"""The Toxiproxy 2.x HTTP API: routes, status codes, bodies and headers as the Go server sends them."""

from __future__ import annotations

import json
import logging
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import unquote

from gauntlet.faultproxy.model import (
    VERSION,
    ApiError,
    ProxyInput,
    decode_body,
    parse_populate,
    parse_proxy,
    parse_proxy_create,
    parse_toxic_create,
    parse_toxic_update,
)
from gauntlet.faultproxy.proxy import ProxyCollection

log = logging.getLogger(__name__)

JSON = "application/json"
TEXT = "text/plain; charset=utf-8"


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # percent-decoded, without the query string, as gorilla/mux matches it
    user_agent: str
    body: bytes


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: tuple[tuple[str, str], ...] = field(default_factory=tuple)


def encode_json(value: object) -> bytes:
    """Compact JSON with Go's HTML-safe escaping, as ``json.Marshal`` writes it."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(char, escaped)
    return text.encode()


def _json(value: object, status: int = 200) -> Response:
    return Response(status, encode_json(value), JSON)


def error_response(error: ApiError) -> Response:
    # Toxiproxy writes errors through http.Error: JSON text, a newline, text/plain.
    body = encode_json({"error": error.message, "status": error.status}) + b"\n"
    return Response(error.status, body, TEXT, (("X-Content-Type-Options", "nosniff"),))


Handler = Callable[["ToxiproxyApi", Request, dict[str, str]], Awaitable[Response]]


class ToxiproxyApi:
    """Answers one decoded HTTP request; never raises for bad input."""

    def __init__(self, collection: ProxyCollection) -> None:
        self.collection = collection
        self._routes: list[tuple[re.Pattern[str], dict[str, Handler]]] = [
            (re.compile(r"/reset"), {"POST": ToxiproxyApi.reset}),
            (re.compile(r"/proxies"), {"GET": ToxiproxyApi.proxy_index, "POST": ToxiproxyApi.proxy_create}),
            (re.compile(r"/populate"), {"POST": ToxiproxyApi.populate}),
            (
                re.compile(r"/proxies/(?P<proxy>[^/]+)"),
                {
                    "GET": ToxiproxyApi.proxy_show,
                    "POST": ToxiproxyApi.proxy_update,
                    "PATCH": ToxiproxyApi.proxy_update,
                    "DELETE": ToxiproxyApi.proxy_delete,
                },
            ),
            (
                re.compile(r"/proxies/(?P<proxy>[^/]+)/toxics"),
                {"GET": ToxiproxyApi.toxic_index, "POST": ToxiproxyApi.toxic_create},
            ),
            (
                re.compile(r"/proxies/(?P<proxy>[^/]+)/toxics/(?P<toxic>[^/]+)"),
                {
                    "GET": ToxiproxyApi.toxic_show,
                    "POST": ToxiproxyApi.toxic_update,
                    "PATCH": ToxiproxyApi.toxic_update,
                    "DELETE": ToxiproxyApi.toxic_delete,
                },
            ),
            (re.compile(r"/version"), {"GET": ToxiproxyApi.version}),
        ]

    async def handle(self, request: Request) -> Response:
        path = unquote(request.path)
        if path == "/metrics":  # registered for every method, like promhttp under mux
            return self._guarded(request) or self.metrics()
        for pattern, methods in self._routes:
            match = pattern.fullmatch(path)
            if match is None:
                continue
            handler = methods.get(request.method)
            if handler is None:
                return Response(405)
            refused = self._guarded(request)
            if refused is not None:
                return refused
            try:
                response = await handler(self, request, match.groupdict())
            except ApiError as error:
                response = error_response(error)
            except Exception as exc:  # a bug answers 500 for this request; the server carries on
                log.exception("action=api_request_failed method=%s path=%s", request.method, path)
                response = error_response(ApiError(f"internal error: {exc}", 500))
            request_id = (("X-Toxiproxy-Request-Id", secrets.token_hex(10)),)
            return Response(response.status, response.body, response.content_type, response.headers + request_id)
        return Response(404, b"404 page not found\n", TEXT, (("X-Content-Type-Options", "nosniff"),))

    @staticmethod
    def _guarded(request: Request) -> Response | None:
        # Toxiproxy refuses browsers so a web page cannot drive it by cross-site requests.
        if request.user_agent.startswith("Mozilla/"):
            return Response(403, b"User agent not allowed\n", TEXT, (("X-Content-Type-Options", "nosniff"),))
        return None

    def metrics(self) -> Response:
        text = self.collection.metrics.render().encode()
        return Response(200, text, "text/plain; version=0.0.4; charset=utf-8")

    async def version(self, request: Request, params: dict[str, str]) -> Response:
        body = f'{{"version": "{VERSION}"}}\n'.encode()
        return Response(200, body, "application/json;charset=utf-8")

    async def reset(self, request: Request, params: dict[str, str]) -> Response:
        async with self.collection.lock:
            await self.collection.reset()
        return Response(204)

    async def proxy_index(self, request: Request, params: dict[str, str]) -> Response:
        proxies = self.collection.proxies
        return _json({name: proxies[name].to_json() for name in sorted(proxies)})

    async def proxy_create(self, request: Request, params: dict[str, str]) -> Response:
        spec = parse_proxy_create(decode_body(request.body))
        async with self.collection.lock:
            proxy = await self.collection.add(spec)
        return _json(proxy.to_json(), 201)

    async def populate(self, request: Request, params: dict[str, str]) -> Response:
        try:
            specs = parse_populate(decode_body(request.body))
            async with self.collection.lock:
                proxies = await self.collection.populate(specs)
        except ApiError as error:
            # Populate reports errors in its own envelope, with "proxies": null.
            return _json({"error": error.message, "status": error.status, "proxies": None}, error.status)
        # Go marshals the empty result of an empty populate as null.
        return _json({"proxies": [proxy.to_json() for proxy in proxies] or None}, 201)

    async def proxy_show(self, request: Request, params: dict[str, str]) -> Response:
        return _json(self.collection.get(params["proxy"]).to_json())

    async def proxy_update(self, request: Request, params: dict[str, str]) -> Response:
        async with self.collection.lock:
            proxy = self.collection.get(params["proxy"])
            current = ProxyInput(proxy.name, proxy.listen, proxy.upstream, proxy.enabled)
            await proxy.update(parse_proxy(decode_body(request.body), current))
        return _json(proxy.to_json())

    async def proxy_delete(self, request: Request, params: dict[str, str]) -> Response:
        async with self.collection.lock:
            await self.collection.remove(params["proxy"])
        return Response(204)

    async def toxic_index(self, request: Request, params: dict[str, str]) -> Response:
        proxy = self.collection.get(params["proxy"])
        return _json([toxic.to_json() for toxic in proxy.toxic_list()])

    async def toxic_create(self, request: Request, params: dict[str, str]) -> Response:
        async with self.collection.lock:
            proxy = self.collection.get(params["proxy"])
            names = {toxic.name for toxic in proxy.toxic_list()}
            toxic = parse_toxic_create(decode_body(request.body), names.__contains__)
            proxy.add_toxic(toxic)
        return _json(toxic.to_json())

    async def toxic_show(self, request: Request, params: dict[str, str]) -> Response:
        proxy = self.collection.get(params["proxy"])
        return _json(proxy.find_toxic(params["toxic"]).to_json())

    async def toxic_update(self, request: Request, params: dict[str, str]) -> Response:
        async with self.collection.lock:
            proxy = self.collection.get(params["proxy"])
            toxic = parse_toxic_update(decode_body(request.body), proxy.find_toxic(params["toxic"]))
            await proxy.update_toxic(toxic)
        return _json(toxic.to_json())

    async def toxic_delete(self, request: Request, params: dict[str, str]) -> Response:
        async with self.collection.lock:
            await self.collection.get(params["proxy"]).remove_toxic(params["toxic"])
        return Response(204)
