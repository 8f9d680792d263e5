"""`gauntlet load --out` against the embedded stack: a JSON line per request, a Prometheus endpoint
scraped while the run lasts, and OTLP pushed to a loopback receiver, in one process and with a master
and workers."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from gauntlet.stack.state import StackState
from tests.integration.load.loadrun import LoadRun, RunLoad
from tests.integration.load.test_platform import accounts_file  # noqa: F401 (a fixture)
from tests.unit.otlp_receiver import OtlpReceiver, otlp_receiver

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]
REQUESTS = re.compile(r'^gauntlet_load_requests_total\{name="([^"]+)"\} ([0-9.e+]+)$', re.M)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Scraper:
    """Scrapes /metrics every 0.2 s while the run lasts; keeps the largest request count it saw."""

    def __init__(self, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}/metrics"
        self.most = 0.0
        self.names: set[str] = set()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self.stop.wait(0.2):
            try:
                text = httpx.get(self.url, timeout=1).text
            except httpx.HTTPError:
                continue  # not up yet, or the run has ended
            found = REQUESTS.findall(text)
            self.names |= {name for name, _ in found}
            self.most = max(self.most, sum(float(count) for _, count in found))

    def __enter__(self) -> Scraper:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join(5)


def json_lines_match_results(run: LoadRun, path: Path) -> None:
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines and set(lines[0]) == {"time", "name", "ms", "ok"}
    result = run.result
    assert len(lines) == result["overall"]["requests"]
    assert Counter(line["name"] for line in lines) == {n: s["requests"] for n, s in result["requests"].items()}
    assert sum(not line["ok"] for line in lines) == sum(s["failures"] for s in result["requests"].values())


def otlp_matches_results(run: LoadRun, receiver: OtlpReceiver) -> None:
    """The last push (at the end of the run) carries every request Gauntlet recorded."""
    requests = {n: s["requests"] for n, s in run.result["requests"].items()}
    failures = {n: s["failures"] for n, s in run.result["requests"].items() if s["failures"]}
    assert receiver.latest_sum("gauntlet.load.requests") == requests
    assert {n: v for n, v in receiver.latest_sum("gauntlet.load.request.failures").items() if v} == failures


def test_out_json_writes_a_line_per_request_prometheus_is_scraped_and_otlp_pushed(
    run_load: RunLoad,
    gauntlet_stack: StackState,
    accounts_file: Path,  # noqa: F811 (the fixture imported above)
    tmp_path: Path,
) -> None:
    port = free_port()
    requests = tmp_path / "requests.jsonl"
    with Scraper(port) as scraper, otlp_receiver() as receiver:
        run = run_load(
            "suggestions", "-s", "rate", "--rate", "10", "--users", "2", "--duration", "4s",
            "--target", gauntlet_stack.api_url, "--accounts", str(accounts_file),
            "--api-key", gauntlet_stack.anon_key,
            "--out", f"json={requests}", "--out", f"prometheus=127.0.0.1:{port}", "--out", f"otlp={receiver.url}",
        )  # fmt: skip
    assert run.exit_code in (0, 1), run.output + run.locust_log()
    json_lines_match_results(run, requests)
    assert scraper.most > 0, "no request counted on /metrics during the run"
    assert scraper.names <= set(run.result["requests"])
    otlp_matches_results(run, receiver)


def test_with_workers_each_worker_writes_its_lines_and_the_master_serves_prometheus_and_otlp(
    run_load: RunLoad,
    gauntlet_stack: StackState,
    accounts_file: Path,  # noqa: F811 (the fixture imported above)
    tmp_path: Path,
) -> None:
    port = free_port()
    requests = tmp_path / "requests.jsonl"
    started = time.monotonic()
    with Scraper(port) as scraper, otlp_receiver() as receiver:
        run = run_load(
            "suggestions", "-s", "rate", "--rate", "10", "--users", "2", "--duration", "6s", "--workers", "2",
            "--target", gauntlet_stack.api_url, "--accounts", str(accounts_file),
            "--api-key", gauntlet_stack.anon_key,
            "--out", f"json={requests}", "--out", f"prometheus=127.0.0.1:{port}", "--out", f"otlp={receiver.url}",
        )  # fmt: skip
    assert run.exit_code in (0, 1), run.output + run.locust_log()
    json_lines_match_results(run, requests)
    assert scraper.most > 0, f"no request counted on /metrics in {time.monotonic() - started:.0f} s"
    otlp_matches_results(run, receiver)  # the master's, from the workers' HDR deltas


def test_a_prometheus_port_in_use_is_exit_2_before_any_load(
    run_load: RunLoad, gauntlet_stack: StackState, tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = run_load("suggestions", "--target", gauntlet_stack.api_url, "--out", f"prometheus=127.0.0.1:{port}")
    assert run.exit_code == 2 and f"prometheus=127.0.0.1:{port}: cannot listen there" in run.output
    assert not (run.out_dir / "results.json").exists()
