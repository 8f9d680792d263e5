"""How the API process is served: uvicorn's command line with its limits, and a slow-header guard.

`uvicorn_command()` is the one command line that starts the API (the platform's
program, `python -m gauntlet.platform serve`, which the stacks run, and the tests use
it), so every API runs with:

- `--timeout-keep-alive 5`: an idle keep-alive connection is closed after 5 s;
- `--limit-concurrency 1000`: past 1000 open connections or tasks, a request
  gets 503 at once instead of piling up;
- `--h11-max-incomplete-event-size 16384`: a request's headers are at most
  16 KiB (h11 applies it itself; the guarded httptools protocol below applies
  the same number);
- `--http gauntlet.platform.api.serve:GuardedHttpToolsProtocol`: uvicorn's
  httptools protocol plus a header deadline. uvicorn has none: a client that
  connects and sends nothing, or sends its headers a byte at a time, holds a
  connection forever. Here a new connection must start a request, and every
  request must finish its headers, within `GAUNTLET_HTTP_HEADER_TIMEOUT_S`
  (default 10 s) of the connection or of the request's first byte, else it
  gets 408 and is closed; headers past the size limit get 431 and a close.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from gauntlet.platform.settings import get_settings

APP = "gauntlet.platform.api.main:app"
TIMEOUT_KEEP_ALIVE_S = 5
LIMIT_CONCURRENCY = 1000
MAX_HEADER_BYTES = 16 * 1024
PROTOCOL = "gauntlet.platform.api.serve:GuardedHttpToolsProtocol"

_REASONS = {408: b"Request Timeout", 431: b"Request Header Fields Too Large"}


def uvicorn_flags() -> list[str]:
    """The limits every API process runs with (see the module's docstring)."""
    return [
        "--http",
        PROTOCOL,
        "--timeout-keep-alive",
        str(TIMEOUT_KEEP_ALIVE_S),
        "--limit-concurrency",
        str(LIMIT_CONCURRENCY),
        "--h11-max-incomplete-event-size",
        str(MAX_HEADER_BYTES),
    ]


def uvicorn_command(host: str, port: int, *, python: str = sys.executable, access_log: bool = False) -> list[str]:
    """The API's command line: uvicorn serving the app on host:port with the limits above."""
    argv = [python, "-m", "uvicorn", APP, "--host", host, "--port", str(port), "--log-level", "warning"]
    return [*argv, *([] if access_log else ["--no-access-log"]), *uvicorn_flags()]


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline and a size limit on each request's headers."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._header_timeout_s = get_settings().http_header_timeout_s
        self._max_header_bytes = config.h11_max_incomplete_event_size or MAX_HEADER_BYTES
        self._header_timer: asyncio.TimerHandle | None = None
        self._awaiting_headers = False
        self._header_bytes = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_headers()  # a connection that never sends a request is closed too

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_headers()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._awaiting_headers:
            self._header_bytes += len(data)
        super().data_received(data)
        # Still in the headers after this chunk: every byte so far was header bytes.
        if self._awaiting_headers and self._header_bytes > self._max_header_bytes:
            self._refuse(431, f"request headers are limited to {self._max_header_bytes} bytes")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if not self._awaiting_headers:
            self._start_headers()

    def on_headers_complete(self) -> None:
        self._stop_headers()
        super().on_headers_complete()

    def _start_headers(self) -> None:
        self._stop_headers()
        self._awaiting_headers = True
        self._header_bytes = 0
        self._header_timer = self.loop.call_later(self._header_timeout_s, self._headers_too_slow)

    def _stop_headers(self) -> None:
        self._awaiting_headers = False
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if not self._awaiting_headers:
            return
        if self.cycle is not None and not self.cycle.response_complete:
            return  # a response (e.g. an event stream) is still going out on this connection
        self._refuse(408, f"request headers did not arrive within {self._header_timeout_s:g} s")

    def _refuse(self, status: int, message: str) -> None:
        """Answer in the API's error shape and close, without involving the app."""
        self._stop_headers()
        if self.transport.is_closing():
            return
        code = "request_timeout" if status == 408 else "headers_too_large"
        body = json.dumps({"code": code, "message": message, "details": None, "hint": None}).encode()
        head = [
            b"HTTP/1.1 %d %s\r\n" % (status, _REASONS[status]),
            b"content-type: application/json\r\n",
            b"content-length: %d\r\n" % len(body),
            b"connection: close\r\n\r\n",
        ]
        self.transport.write(b"".join(head) + body)
        self.transport.close()
