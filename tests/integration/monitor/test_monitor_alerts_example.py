"""examples/alerts.toml as shipped, run by `gauntlet monitor run --alerts` against the embedded stack.

The example's two live channels (its JSON webhook, and PagerDuty from GAUNTLET_PAGERDUTY_URL) are
pointed at a loopback receiver: its webhook's port replaced by the receiver's, and the PagerDuty
variable set to a `json://` URL (pagerduty:// would leave this machine). A journey file that
fails on the stack's login page turns the monitor red at once (`--fail-after 1`): each channel gets
exactly one red alert, and the run exits 1.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.integration.monitor.conftest import WebhookReceiver
from tests.integration.monitor.test_monitor_command import monitor_argv

pytestmark = [pytest.mark.integration, pytest.mark.browser, pytest.mark.timeout(300)]

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "alerts.toml"
EXAMPLE_WEBHOOK = "127.0.0.1:8099"  # where the example's JSON webhook points
JOURNEY = """
def test_login_has_a_banner(page, journey):
    with journey.step("banner", budget_ms=8000):
        page.goto(journey.url("/login"))
        page.get_by_test_id("no-such-banner").wait_for(timeout=1500)
"""


def test_the_example_alerts_file_sends_one_red_alert_to_each_of_its_channels(
    gauntlet_stack_dir: Path, tmp_path: Path, webhook_receiver: WebhookReceiver
) -> None:
    receiver = webhook_receiver.url.split("//", 1)[1].split("/", 1)[0]
    shipped = EXAMPLE.read_text()
    assert EXAMPLE_WEBHOOK in shipped, "the example's webhook moved: update EXAMPLE_WEBHOOK"
    alerts = tmp_path / "alerts.toml"
    alerts.write_text(shipped.replace(EXAMPLE_WEBHOOK, receiver))
    journey = tmp_path / "login_banner.py"
    journey.write_text(JOURNEY)
    argv = [
        *monitor_argv(),
        "run", "--journeys", str(journey), "--no-probes", "--every", "1s", "--jitter", "0s", "--max-runs", "1",
        "--fail-after", "1", "--retries", "0", "--alerts", str(alerts),
        "--history", str(tmp_path / "history.sqlite3"), "--page", str(tmp_path / "status.html"),
        "--artifacts", str(tmp_path / "artifacts"), "--state-dir", str(gauntlet_stack_dir),
    ]  # fmt: skip
    env = {**os.environ, "GAUNTLET_PAGERDUTY_URL": f"json://{receiver}/pagerduty"}
    done = subprocess.run(argv, capture_output=True, text=True, timeout=240, stdin=subprocess.DEVNULL, env=env)
    assert done.returncode == 1, done.stderr
    assert "final status red" in done.stderr, done.stderr
    with webhook_receiver.lock:
        by_path: dict[str, list[dict[str, object]]] = {}
        for received in webhook_receiver.received:
            by_path.setdefault(received.path, []).append(received.body)
    assert set(by_path) == {"/gauntlet-alerts", "/pagerduty"}, by_path
    for path, messages in by_path.items():
        assert len(messages) == 1, (path, messages)
        [message] = messages
        assert message["type"] == "failure" and "RED: login_has_a_banner" in str(message["title"]), (path, message)
