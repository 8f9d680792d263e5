"""`gauntlet monitor serve`: the status page, /metrics, /status.json and the artifacts, read-only.

stdlib `ThreadingHTTPServer`: a handful of requests a minute do not need an ASGI stack, and
each request renders from the history file afresh, so the page is never staler than the
last run. Loopback by default. Artifacts are served only from under the artifacts folder
(resolved paths, no `..`, no symlinks out), with types from an allow-list and `nosniff`, so
a page captured by a journey can never run as this origin.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from gauntlet.journeys.monitor import metrics, page
from gauntlet.journeys.monitor.history import History
from gauntlet.journeys.monitor.stats import StatusSnapshot, build_snapshot

log = logging.getLogger("gauntlet.monitor.serve")
LOOPBACK = ("127.0.0.1", "::1", "localhost")
ARTIFACT_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".zip": "application/zip",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
    ".log": "text/plain; charset=utf-8",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class ServeConfig:
    history_path: Path
    artifacts_dir: Path
    host: str = "127.0.0.1"
    port: int = 8787
    refresh_s: int = 60


def empty_snapshot(now: float) -> StatusSnapshot:
    return build_snapshot(
        now=now, journeys=[], states=[], samples=[], step_p95={}, last_steps={}, failures=[], probes=(), run_oks=[]
    )


def load_snapshot(history_path: Path, now: float) -> tuple[StatusSnapshot, str]:
    """The current snapshot and target; an empty one before the first run wrote history."""
    if not history_path.exists():
        return empty_snapshot(now), "(no runs yet)"
    with History(history_path, readonly=True) as history:
        return history.snapshot(now=now, journeys=[]), history.last_target() or "(no runs yet)"


def snapshot_json(snapshot: StatusSnapshot) -> dict[str, Any]:
    return {
        "overall": snapshot.overall,
        "generated_at": snapshot.generated_at,
        "last_run_at": snapshot.last_run_at,
        "uptime_percent": snapshot.overall_uptime,
        "checks": [
            {
                "check": s.check,
                "status": s.colour,
                "since": s.since,
                "failing_streak": s.failing_streak,
                "reasons": list(s.reasons),
            }
            for s in snapshot.checks
        ],
        "journeys": [
            {"name": j.name, "status": j.colour, "uptime_percent": j.uptime, "duration_p95_ms": j.duration_p95_ms}
            for j in snapshot.journeys
        ],
    }


def artifact_path(root: Path, url_path: str) -> Path | None:
    """The file a `/artifacts/...` URL names, or None when it is outside the root or not a file."""
    relative = unquote(url_path.removeprefix("/artifacts/"))
    if not relative or "\x00" in relative:
        return None
    base = root.resolve()
    candidate = (base / relative).resolve()
    if not candidate.is_relative_to(base) or not candidate.is_file():
        return None
    return candidate


def make_handler(config: ServeConfig, clock: Callable[[], float] = time.time) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "gauntlet-monitor"

        def do_GET(self) -> None:
            self._respond(send_body=True)

        def do_HEAD(self) -> None:
            self._respond(send_body=False)

        def _respond(self, *, send_body: bool) -> None:
            path = urlsplit(self.path).path
            try:
                status, content_type, body = self._route(path)
            except Exception:  # one bad request must not kill the server; the log has the traceback
                log.exception("status page request failed", extra={"action": "serve_error", "path": path})
                status, content_type, body = HTTPStatus.INTERNAL_SERVER_ERROR, "text/plain", b"internal error\n"
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            if send_body:
                self.wfile.write(body)

        def _route(self, path: str) -> tuple[HTTPStatus, str, bytes]:
            if path in ("/", "/index.html"):
                snapshot, target = load_snapshot(config.history_path, clock())
                html = page.render(
                    snapshot,
                    target=target,
                    link_for=page.served_links(config.artifacts_dir),
                    refresh_s=config.refresh_s,
                )
                return HTTPStatus.OK, "text/html; charset=utf-8", html.encode()
            if path == "/metrics":
                snapshot, _ = load_snapshot(config.history_path, clock())
                return HTTPStatus.OK, "text/plain; version=0.0.4; charset=utf-8", metrics.exposition(snapshot)
            if path == "/status.json":
                snapshot, _ = load_snapshot(config.history_path, clock())
                return HTTPStatus.OK, "application/json", json.dumps(snapshot_json(snapshot)).encode()
            if path.startswith("/artifacts/"):
                file = artifact_path(config.artifacts_dir, path)
                if file is not None:
                    kind = ARTIFACT_TYPES.get(file.suffix.lower(), "application/octet-stream")
                    return HTTPStatus.OK, kind, file.read_bytes()
            return HTTPStatus.NOT_FOUND, "text/plain", b"not found\n"

        def do_POST(self) -> None:
            self.send_error(HTTPStatus.METHOD_NOT_ALLOWED, "the status server is read-only")

        do_PUT = do_DELETE = do_PATCH = do_POST

        def log_message(self, format: str, *args: Any) -> None:
            log.debug(format % args, extra={"action": "request"})

    return Handler


def make_server(config: ServeConfig, clock: Callable[[], float] = time.time) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer((config.host, config.port), make_handler(config, clock))
    server.daemon_threads = True
    return server
