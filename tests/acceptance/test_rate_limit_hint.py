"""A load run refused with HTTP 429 names the limit that was hit and how to raise it, on screen and in the report."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from gauntlet.reports.formatting import rate_limit_hint
from tests.acceptance.cli_harness import GAUNTLET

pytestmark = pytest.mark.acceptance

# The platform's answer when a bucket is empty (platform/api/deps.py enforce_rate_limit).
BODY = json.dumps(
    {"code": "rate_limited", "message": "Too many requests (auth limit); retry in 3 s", "details": None, "hint": None}
).encode()


class _Refuse(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(429)
        self.send_header("Content-Type", "application/json")
        self.send_header("Retry-After", "3")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    do_GET = do_POST

    def log_message(self, *_: object) -> None:
        return


@pytest.fixture
def refusing_platform() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Refuse)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_the_hint_names_the_limit_and_the_setting() -> None:
    hint = rate_limit_hint(f"HTTP 429: {BODY.decode()}")
    assert hint is not None and "`auth` rate limit" in hint and "GAUNTLET_RATE_LIMIT_MULTIPLIER" in hint
    assert rate_limit_hint("HTTP 500: boom") is None


def test_a_429_in_a_load_run_names_the_limit_on_screen_and_in_the_report(
    refusing_platform: str, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    args = ["load", "suggestions", "--scenario", "smoke", "--users", "2", "--duration", "4s"]
    done = subprocess.run(
        [*GAUNTLET, *args, "--target", refusing_platform, "--out", str(out), "--no-progress", "--think-time", "0.2"],
        capture_output=True,
        text=True,
        timeout=180,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    screen = " ".join(done.stdout.split())
    assert "rate_limited" in screen and "`auth` rate limit was hit" in screen, screen
    assert "GAUNTLET_RATE_LIMIT_MULTIPLIER" in screen

    report = tmp_path / "report"
    rendered = subprocess.run(
        [*GAUNTLET, "report", str(report), "--from", str(out / "results.json")],
        capture_output=True,
        text=True,
        timeout=180,
        stdin=subprocess.DEVNULL,
    )
    assert rendered.returncode == 1, rendered.stdout + rendered.stderr
    html = (report / "report.html").read_text()
    assert "rate_limited" in html and "GAUNTLET_RATE_LIMIT_MULTIPLIER" in html
