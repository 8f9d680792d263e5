"""`gauntlet monitor run --out`: each run's journeys, steps and probes streamed as JSON lines and on
a Prometheus endpoint, from the real loop (scripted journeys, real probes over loopback HTTP)."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import httpx
import pytest

from gauntlet.journeys.monitor.cli import _open_streams, _print_and_stream
from gauntlet.journeys.monitor.fakes import outcomes
from gauntlet.load.outputs import OutputDict
from tests.integration.monitor.conftest import PlatformStub, WebhookReceiver
from tests.integration.monitor.test_monitor_alerts import run_monitor

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


def test_each_attempt_step_and_probe_is_a_line_and_a_counted_check(
    tmp_path: Path, platform_stub: PlatformStub, webhook_receiver: WebhookReceiver
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    lines_file = tmp_path / "monitor.jsonl"
    streams = _open_streams(
        (OutputDict(kind="json", target=str(lines_file)), OutputDict(kind="prometheus", target=f"127.0.0.1:{port}"))
    )
    assert streams is not None
    try:
        script = {"seller": outcomes(0, 1, 1)}  # run 1: a failed attempt, then a passing retry
        report, _ = run_monitor(
            tmp_path, platform_stub, webhook_receiver, script, runs=2, on_run=_print_and_stream(streams)
        )
        scraped = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    finally:
        streams.close()
    assert len(report.runs) == 2
    lines = [json.loads(line) for line in lines_file.read_text().splitlines()]
    journeys = [(line["name"], line["ok"]) for line in lines if line["name"].startswith("journey:")]
    assert journeys == [("journey:seller", False), ("journey:seller", True), ("journey:seller", True)]
    assert [line["name"] for line in lines if line["name"].startswith("step:")] == ["step:seller/load"] * 3
    probes = {line["name"] for line in lines if line["name"].startswith("probe:")}
    assert "probe:health" in probes and all(line["ok"] for line in lines if line["name"].startswith("probe:"))
    assert 'gauntlet_monitor_checks_total{name="journey:seller"} 3.0' in scraped
    assert 'gauntlet_monitor_check_failures_total{name="journey:seller"} 1.0' in scraped
