"""Real local HTTP servers for the monitor's tests, all on 127.0.0.1 with free ports.

- `webhook_receiver`: records every POST (path, headers, JSON body), as Slack would receive it;
  `fail_next` makes it answer 503 a number of times.
- `platform_stub`: a tiny stand-in for the platform's cheap probe surface (`/functions/v1/health`
  and the queue health views) whose answers a test sets.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class WebhookReceiver:
    url: str = ""
    received: list[Received] = field(default_factory=list)
    fail_next: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def texts(self) -> list[str]:
        with self.lock:
            return [str(r.body.get("text", "")) for r in self.received]


@dataclass
class PlatformStub:
    url: str = ""
    health: dict[str, Any] = field(default_factory=lambda: {"status": "ok", "checks": {}})
    health_code: int = 200
    views: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    service_key: str = "stub-service-key"
    requests: list[tuple[str, str | None]] = field(default_factory=list)


def _serve(handler: type[BaseHTTPRequestHandler]) -> tuple[ThreadingHTTPServer, threading.Thread]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), name=f"{handler.__name__}-server", daemon=True)
    thread.start()
    return server, thread


def _reply(handler: BaseHTTPRequestHandler, code: int, body: Any) -> None:
    data = json.dumps(body).encode()
    handler.send_response(code)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}")
            with receiver.lock:
                receiver.received.append(Received(self.path, dict(self.headers.items()), body))
                failing = receiver.fail_next > 0
                receiver.fail_next -= failing
            _reply(self, 503 if failing else 200, {"ok": not failing})

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server, thread = _serve(Hook)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/services/T000/B000/XXXX"
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def platform_stub() -> Iterator[PlatformStub]:
    stub = PlatformStub()

    class Platform(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            stub.requests.append((self.path, self.headers.get("Authorization")))
            if self.path == "/functions/v1/health":
                _reply(self, stub.health_code, stub.health)
                return
            view = self.path.removeprefix("/rest/v1/")
            if view in ("vw_discovery_queue_health", "vw_events_queue_health"):
                if self.headers.get("Authorization") != f"Bearer {stub.service_key}":
                    _reply(self, 403, {"message": "permission denied for view"})
                    return
                _reply(self, 200, stub.views.get(view, []))
                return
            _reply(self, 404, {"message": "no such path"})

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server, thread = _serve(Platform)
    stub.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
