"""`gauntlet monitor serve` for real: page, /metrics, /status.json and artifacts, read-only, on loopback."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from gauntlet.journeys.monitor.fakes import FakeClock, RecordingSink, ScriptedJourneys, outcomes
from gauntlet.journeys.monitor.history import History
from gauntlet.journeys.monitor.runner import Monitor, MonitorConfig
from gauntlet.journeys.monitor.schedule import Schedule
from gauntlet.journeys.monitor.serve import ServeConfig, make_server
from gauntlet.journeys.monitor.status import AlertPolicy

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


@pytest.fixture
def monitor_home(tmp_path: Path) -> Path:
    """A monitor folder after three runs: fail, fail (red with K=2), pass."""
    clock = FakeClock()
    clock.now = time.time() - 600  # recent, so the 1 h window holds the runs
    journeys = ScriptedJourneys(clock, {"seller": outcomes(0, 0, 1)}, write_evidence=True)
    config = MonitorConfig(
        target="http://127.0.0.1:9",
        journeys=("seller",),
        schedule=Schedule(every_s=60, max_runs=3),
        policy=AlertPolicy(fail_after=2),
        retries=0,
        artifacts_dir=tmp_path / "artifacts",
    )
    with History(tmp_path / "history.sqlite3") as history:
        Monitor(config, journeys=journeys, prober=None, history=history, sink=RecordingSink(), clock=clock).run()
    (tmp_path / "secret.txt").write_text("outside the artifacts folder")
    return tmp_path


@pytest.fixture
def served(monitor_home: Path) -> Iterator[str]:
    server = make_server(
        ServeConfig(history_path=monitor_home / "history.sqlite3", artifacts_dir=monitor_home / "artifacts", port=0)
    )
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_the_page_renders_from_history_with_working_artifact_links(served: str) -> None:
    with httpx.Client(base_url=served, timeout=10) as client:
        page = client.get("/")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert 'data-testid="overall-status" data-status="green"' in page.text
        assert page.text.count('data-testid="failure"') == 2
        assert "http://127.0.0.1:9" in page.text
        links = [part.split('"')[0] for part in page.text.split('href="')[1:]]
        screenshots = [link for link in links if link.endswith(".png")]
        assert screenshots and all(link.startswith("/artifacts/seller-") for link in screenshots)
        shot = client.get(screenshots[0])
        assert shot.status_code == 200 and shot.headers["content-type"] == "image/png" and shot.content == b"evidence"
        assert shot.headers["x-content-type-options"] == "nosniff"


def test_metrics_and_status_json(served: str) -> None:
    with httpx.Client(base_url=served, timeout=10) as client:
        metrics = client.get("/metrics")
        names = {f.name for f in text_string_to_metric_families(metrics.text)}
        assert {"gauntlet_journey_success", "gauntlet_journey_duration_seconds", "gauntlet_monitor_status"} <= names
        status = client.get("/status.json").json()
        assert status["overall"] == "green"
        assert status["journeys"][0]["name"] == "seller"
        assert status["uptime_percent"]["1h"] == pytest.approx(100 / 3)


@pytest.mark.parametrize(
    "path",
    ["/artifacts/../secret.txt", "/artifacts/%2e%2e/secret.txt", "/artifacts/", "/history.sqlite3", "/etc/passwd"],
)
def test_nothing_outside_the_artifacts_folder_is_served(served: str, path: str) -> None:
    # httpx would normalise "..": send the raw path as a browser-bypassing client would.
    with httpx.Client(timeout=10) as client:
        request = client.build_request("GET", served)
        request.url = request.url.copy_with(raw_path=path.encode())
        response = client.send(request)
    assert response.status_code == 404


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_the_server_is_read_only(served: str, method: str) -> None:
    assert httpx.request(method, f"{served}/", timeout=10).status_code == 405


def test_before_any_run_the_page_says_so(tmp_path: Path) -> None:
    server = make_server(ServeConfig(history_path=tmp_path / "none.sqlite3", artifacts_dir=tmp_path, port=0))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        page = httpx.get(f"http://127.0.0.1:{server.server_address[1]}/", timeout=10)
        assert page.status_code == 200 and "no runs yet" in page.text
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
