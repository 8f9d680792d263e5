"""The real processes: uvicorn serving the API (and the smoke test against it), and worker processes."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import asyncpg
import httpx
import pytest

from gauntlet.platform.smoke import SECTIONS, run_smoke

if TYPE_CHECKING:
    from tests.integration.api.conftest import Services

pytestmark = pytest.mark.integration


def _wait_for(predicate: object, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


@pytest.fixture(scope="module")
def api_url(services: Services) -> Iterator[str]:
    from tests.integration.api.conftest import free_port

    port = free_port()
    log = services.root / f"uvicorn-{port}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "gauntlet.platform.api.main:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            env=services.env(),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return httpx.get(f"{url}/functions/v1/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        _wait_for(up, 20, f"the API on {url} ({log.read_text()[-500:] if log.exists() else ''})")
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


async def test_smoke_sections_2a_to_2h_pass(services: Services, api_url: str) -> None:
    report = await run_smoke(services.primary_dsn, api_url, services.service_key)
    assert [s.section for s in report.sections] == [s[0] for s in SECTIONS]
    assert report.ok, [(s.section, s.detail) for s in report.failed()]
    # Run twice: the smoke user and its interests are reused, not duplicated.
    again = await run_smoke(services.primary_dsn, api_url, services.service_key)
    assert again.ok, [(s.section, s.detail) for s in again.failed()]


def test_smoke_cli_fails_with_exit_1_when_a_section_fails(services: Services, api_url: str) -> None:
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "gauntlet"),
            "smoke",
            "--api-url",
            api_url,
            "--dsn",
            services.primary_dsn,
            "--service-key",
            "not-a-service-key",
            "--json",
        ],
        capture_output=True,
        text=True,
        check=False,
        env=services.env(),
        timeout=120,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    body = json.loads(result.stdout)
    failed = {s["section"]: s["detail"] for s in body["sections"] if not s["ok"]}
    assert set(failed) == {"2F"} and "401" in failed["2F"]


def test_smoke_cli_passes_with_the_right_key(services: Services, api_url: str) -> None:
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "gauntlet"),
            "smoke",
            "--api-url",
            api_url,
            "--dsn",
            services.primary_dsn,
            "--service-key",
            services.service_key,
        ],
        capture_output=True,
        text=True,
        check=False,
        env=services.env(),
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _start_worker(services: Services, kind: str, name: str, **env: str) -> tuple[subprocess.Popen[bytes], Path]:
    log = services.root / f"{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gauntlet.platform.workers", kind],
            env=services.env(GAUNTLET_WORKER_NAME=name, **env),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return proc, log


def _heartbeat(services: Services, name: str) -> dict[str, object] | None:
    path = services.root / "state" / "run" / f"{name}.heartbeat"
    try:
        beat: dict[str, object] = json.loads(path.read_text())
        return beat
    except (FileNotFoundError, ValueError):
        return None


async def test_queue_worker_process_works_the_queue_and_stops_cleanly_on_sigterm(
    services: Services, db: asyncpg.Connection
) -> None:
    user_id = await db.fetchval(
        "INSERT INTO auth.users (email, encrypted_password) VALUES ($1, '!') RETURNING id",
        f"w-{uuid.uuid4().hex[:8]}@example.test",
    )
    keys = [f"proc-{uuid.uuid4().hex[:8]}-{i}" for i in range(5)]
    for key in keys:
        payload = json.dumps({"user_id": str(user_id), "name": "follow", "metadata": {"key": key}})
        await db.execute("SELECT enqueue_event('telemetry.signal', $1, $2::jsonb)", key, payload)
    name = f"queue-{uuid.uuid4().hex[:6]}"
    proc, log = _start_worker(services, "queue", name, GAUNTLET_QUEUE_POLL_INTERVAL_S="0.1")
    try:
        _wait_for(lambda: _heartbeat(services, name) is not None, 15, "the first heartbeat")
        deadline = time.monotonic() + 15
        while await db.fetchval("SELECT count(*) FROM intent_signals WHERE user_id = $1", user_id) < 5:
            assert time.monotonic() < deadline, log.read_text()[-2000:]
            await asyncio.sleep(0.1)
        # The heartbeat (rewritten every second) carries the worker's counters.
        _wait_for(
            lambda: int((_heartbeat(services, name) or {}).get("processed", 0)) >= 5,  # type: ignore[call-overload]
            5,
            "the heartbeat to count the processed events",
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=10)
    assert code == 0
    text = log.read_text()
    assert "action=stop_requested" in text and "action=stop " in text
    assert await db.fetchval("SELECT count(*) FROM intent_signals WHERE user_id = $1", user_id) == 5


@pytest.mark.parametrize("kind", ["discovery", "gc", "notifications"])
def test_other_worker_kinds_beat_and_stop_cleanly(services: Services, kind: str) -> None:
    name = f"{kind}-{uuid.uuid4().hex[:6]}"
    proc, log = _start_worker(services, kind, name, GAUNTLET_DISCOVERY_INTERVAL_S="0.5", GAUNTLET_GC_INTERVAL_S="0.5")
    try:
        _wait_for(lambda: _heartbeat(services, name) is not None, 15, f"the {kind} heartbeat")
        if kind == "discovery":
            _wait_for(
                lambda: int((_heartbeat(services, name) or {}).get("discovery_runs", 0)) >= 1,  # type: ignore[call-overload]
                15,
                "a discovery run",
            )
        if kind == "gc":
            _wait_for(
                lambda: int((_heartbeat(services, name) or {}).get("gc_runs", 0)) >= 1,  # type: ignore[call-overload]
                15,
                "a gc run",
            )
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=10)
    assert code == 0, log.read_text()[-2000:]
    assert "level=error" not in log.read_text()
