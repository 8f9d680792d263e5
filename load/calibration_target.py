"""A trivial, fast stand-in for the platform: for calibrating the load generator itself.

It answers every route the profiles use with a small canned, *valid* answer
(so profiles run end to end), after an optional fixed delay, and counts
requests by the same names Gauntlet's statistics use. Tests compare those
counts and the injected delay with what `gauntlet load` measured; the
benchmark measures the harness's own overhead against it.

    python -m gauntlet.load.calibration_target --port 8099 [--delay-ms 50]

Loopback only. Not a platform: no auth, no state, canned rows.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, cast

from gauntlet.load.profiles import surface as s

USER_ID = "00000000-0000-4000-8000-000000000001"
FEED_PAGES = 4


def _json(status: int, body: Any) -> bytes:
    payload = json.dumps(body).encode() if body is not None else b""
    reason = {200: "OK", 204: "No Content", 404: "Not Found", 500: "Internal Server Error"}.get(status, "OK")
    head = f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json; charset=utf-8\r\n"
    return head.encode() + f"Content-Length: {len(payload)}\r\n\r\n".encode() + payload


_SESSION = _json(
    200,
    {
        "access_token": "calibration-token",
        "token_type": "bearer",
        "expires_in": 3600,
        "refresh_token": "calibration-refresh",
        "user": {"id": USER_ID, "email": "someone@load.gauntlet.test"},
    },
)
_INTERESTS = [{"id": f"int_{i}", "name": f"Interest {i}", "domain": "equine"} for i in range(8)]
_SUGGESTIONS = [
    {"interest_id": "int_1", "title": f"Saddle {i}", "price_cents": 1000 + i, "score": 0.5} for i in range(5)
]
_PLAIN = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"


def _feed_page(page: int) -> bytes:
    """A page of the platform's shape: {"lane", "items": [{"kind", "id", ...}], "next_cursor", "has_more"}."""
    kinds = ("post", "listing", "event")
    items = [
        {"kind": kinds[i % 3], "id": f"00000000-0000-4000-8000-{page:06d}{i:06d}", "score": 0.5}
        for i in range(s.FEED_PAGE_SIZE)
    ]
    more = page + 1 < FEED_PAGES
    return _json(
        200, {"lane": "for_you", "items": items, "next_cursor": f"c{page + 1}" if more else None, "has_more": more}
    )


_FEED_PAGES = {page: _feed_page(page) for page in range(FEED_PAGES)}
_RPC_ANSWERS: dict[str, bytes] = {
    s.CHECK_HANDLE: _json(200, True),
    s.CATALOG_BROWSE: _json(200, _INTERESTS),
    s.CATALOG_SEARCH: _json(200, _INTERESTS[:3]),
    s.INTEREST_UPSERT: _json(204, None),
    s.PROFILE_UPDATE: _json(200, {"user_id": USER_ID, "handle": "u_calibration"}),
    s.COMPLETE_ONBOARDING: _json(200, {"user_id": USER_ID, "onboarding_complete": True, "interests": 3}),
    s.SUGGESTIONS: _json(200, _SUGGESTIONS),
    s.EMIT_SIGNAL: _json(204, None),
    s.FEED_HIDE: _json(200, True),
    s.LISTING_DETAIL: _json(200, {"id": "x", "title": "Saddle", "price_cents": 1000, "in_cart": False}),
    s.CART_ADD: _json(200, {"listing_id": "x", "quantity": 1}),
}


@dataclass
class TargetConfig:
    delay_s: float = 0.0
    # RPC functions to answer 404 "unknown function", as a platform that lacks them would.
    missing: frozenset[str] = frozenset()
    counts: Counter[str] = field(default_factory=Counter)
    connections: set[asyncio.Transport] = field(default_factory=set)


def answer(config: TargetConfig, method: str, path: str, body: bytes) -> tuple[str, bytes]:
    """(request name, raw HTTP response) for one request."""
    if path.startswith(s.RPC_PREFIX):
        function = path[len(s.RPC_PREFIX) :]
        name = s.rpc_name(function)
        if function in config.missing or (function not in _RPC_ANSWERS and function != s.FEED):
            return name, _json(404, {"code": "PGRST202", "message": f"Could not find the function {function}"})
        if function == s.FEED:
            try:
                cursor = json.loads(body or b"{}").get("p_cursor")
            except ValueError:
                cursor = None
            page = int(cursor[1:]) if isinstance(cursor, str) and cursor[1:].isdigit() else 0
            return name, _FEED_PAGES.get(page, _FEED_PAGES[0])
        return name, _RPC_ANSWERS[function]
    if path == s.SIGNUP_PATH:
        return s.AUTH_SIGNUP, _SESSION
    if path == s.TOKEN_PATH:
        return s.AUTH_TOKEN, _SESSION
    if path == s.HEALTH_PATH:
        return s.HEALTH, _json(200, {"status": "ok"})
    if path == "/plain":
        return "plain", _PLAIN
    return f"{method} {path}", _json(404, {"message": "no such route"})


class _HttpProtocol(asyncio.Protocol):
    def __init__(self, config: TargetConfig) -> None:
        self.config = config
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports are not subclasses
        self.config.connections.add(self.transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.transport is not None:
            self.config.connections.discard(self.transport)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].decode("latin-1")
            lines = head.split("\r\n")
            length = 0
            for line in lines[1:]:
                key, _, value = line.partition(":")
                if key.strip().lower() == "content-length":
                    length = int(value.strip())
            if len(self.buffer) < end + 4 + length:
                return
            body = self.buffer[end + 4 : end + 4 + length]
            self.buffer = self.buffer[end + 4 + length :]
            method, path = [*lines[0].split(" "), "", ""][:2]
            name, response = answer(self.config, method, path, body)
            self.config.counts[name] += 1
            self._send(response)

    def _send(self, response: bytes) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        if self.config.delay_s > 0:
            asyncio.get_running_loop().call_later(self.config.delay_s, self._write, response)
        else:
            self.transport.write(response)

    def _write(self, response: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(response)


class CalibrationTarget:
    """The server in a background thread: `with CalibrationTarget(delay_s=0.05) as target: target.url`."""

    def __init__(self, *, delay_s: float = 0.0, missing: frozenset[str] = frozenset(), port: int = 0) -> None:
        self.config = TargetConfig(delay_s=delay_s, missing=missing)
        self._port = port
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, name="calibration-target", daemon=True)

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    @property
    def counts(self) -> Counter[str]:
        return self.config.counts

    def __enter__(self) -> CalibrationTarget:
        self._thread.start()
        create = self._loop.create_server(lambda: _HttpProtocol(self.config), "127.0.0.1", self._port, backlog=1024)
        self._server = asyncio.run_coroutine_threadsafe(create, self._loop).result(timeout=10)
        return self

    def __exit__(self, *exc: object) -> None:
        server = self._server

        async def _close() -> None:
            if server is not None:
                server.close()
            for transport in list(self.config.connections):
                transport.close()
            await asyncio.sleep(0)

        asyncio.run_coroutine_threadsafe(_close(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()


async def _serve_forever(port: int, config: TargetConfig) -> None:
    server = await asyncio.get_running_loop().create_server(
        lambda: _HttpProtocol(config), "127.0.0.1", port, backlog=1024
    )
    print(f"calibration target on http://127.0.0.1:{server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--delay-ms", type=float, default=0.0)
    args = parser.parse_args(argv)
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve_forever(args.port, TargetConfig(delay_s=args.delay_ms / 1000.0)))


if __name__ == "__main__":
    main()
