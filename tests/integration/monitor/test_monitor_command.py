"""The real `gauntlet monitor` command in a subprocess, bounded by --max-runs.

- Against a target where nothing listens: every journey and the health probe fail, the
  monitor turns red after K=2 and the webhook receiver gets exactly one alert; exit 1.
- Against the embedded stack (`gauntlet_stack`) with a real journey in Chromium: two runs,
  history and page written, no alert; exit 0.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.monitor.conftest import WebhookReceiver

pytestmark = pytest.mark.integration


def monitor_argv() -> list[str]:
    """`gauntlet monitor` as the installed CLI runs it."""
    return [sys.executable, "-c", "from gauntlet.cli import main; main()", "monitor"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def history_rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    db = sqlite3.connect(path)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


@pytest.mark.timeout(240)
def test_a_dead_target_turns_red_after_k_alerts_once_and_exits_1(
    tmp_path: Path, webhook_receiver: WebhookReceiver
) -> None:
    target = f"http://127.0.0.1:{free_port()}"
    argv = [
        *monitor_argv(),
        "--target", target, "--journeys", "returning_user", "--every", "1s", "--jitter", "0s",
        "--max-runs", "2", "--fail-after", "2", "--retries", "0", "--journey-timeout", "90s",
        "--webhook", webhook_receiver.url,
        "--history", str(tmp_path / "history.sqlite3"), "--page", str(tmp_path / "status.html"),
        "--artifacts", str(tmp_path / "artifacts"), "--state-dir", str(tmp_path / "state"),
    ]  # fmt: skip
    # A target: the monitor signs in as its accounts (never signs up), so it needs an accounts file.
    accounts = tmp_path / "accounts.json"
    accounts.write_text('[{"email": "a@accounts.gauntlet.test", "password": "Secret-pass-1"}]')
    env = {**os.environ, "GAUNTLET_ACCOUNTS_FILE": str(accounts)}
    done = subprocess.run(argv, capture_output=True, text=True, timeout=220, stdin=subprocess.DEVNULL, env=env)
    assert done.returncode == 1, done.stderr
    assert "final status red" in done.stderr
    texts = webhook_receiver.texts()
    assert len(texts) == 1, texts
    assert texts[0].startswith(f"Gauntlet monitor ({target}): RED: platform_health, returning_user")
    html = (tmp_path / "status.html").read_text()
    assert 'data-status="red"' in html and html.count('data-testid="failure"') == 2
    assert (tmp_path / "metrics.prom").read_text().count("gauntlet_monitor_status{") == 2
    assert history_rows(tmp_path / "history.sqlite3", "SELECT colour FROM runs ORDER BY id") == [("yellow",), ("red",)]


@pytest.mark.browser
@pytest.mark.timeout(600)
def test_the_monitor_runs_a_real_journey_against_the_stack(
    gauntlet_stack_dir: Path, tmp_path: Path, webhook_receiver: WebhookReceiver
) -> None:
    try:
        from gauntlet.journeys.browser import find_chromium
        from gauntlet.journeys.runner import run_journey  # noqa: F401  (the journeys must exist)
    except ImportError as exc:
        pytest.skip(f"the journeys module is missing ({exc}); the monitor has nothing real to run")
    if find_chromium() is None:
        pytest.skip("no system Chromium (apt-get install chromium, or set GAUNTLET_CHROMIUM)")
    from tests.integration.journeys.apisettings import RAISED_LIMITS, api_settings

    argv = [
        *monitor_argv(),
        "--journeys", "returning_user", "--every", "1s", "--jitter", "0s", "--max-runs", "2", "--fail-after", "1",
        "--webhook", webhook_receiver.url,
        "--history", str(tmp_path / "history.sqlite3"), "--page", str(tmp_path / "status.html"),
        "--artifacts", str(tmp_path / "artifacts"), "--state-dir", str(gauntlet_stack_dir),
    ]  # fmt: skip
    # Journeys sign users up from one loopback address; the stack's strict auth limits would trip.
    with api_settings(gauntlet_stack_dir, RAISED_LIMITS):
        done = subprocess.run(argv, capture_output=True, text=True, timeout=560, stdin=subprocess.DEVNULL)
    errors = history_rows(
        tmp_path / "history.sqlite3", "SELECT journey, attempt, error FROM journey_attempts WHERE ok = 0"
    )
    assert done.returncode == 0, f"{done.stderr}\nfailed attempts: {errors}"
    assert "final status green" in done.stderr or "final status yellow" in done.stderr
    assert webhook_receiver.received == []  # nothing went red
    runs = history_rows(tmp_path / "history.sqlite3", "SELECT colour, ok FROM runs ORDER BY id")
    assert len(runs) == 2 and all(ok == 1 for _, ok in runs)
    steps = history_rows(
        tmp_path / "history.sqlite3",
        "SELECT count(*) FROM steps s JOIN journey_attempts a ON a.id = s.attempt_id WHERE a.final = 1 AND s.ok = 1",
    )
    assert int(str(steps[0][0])) >= 2 * 5  # every step of both runs recorded with its time
    probes = history_rows(tmp_path / "history.sqlite3", "SELECT name, status, detail FROM probes ORDER BY id")
    assert [name for name, _, _ in probes] == ["health", "vw_discovery_queue_health", "vw_events_queue_health"] * 2
    # Health must be ok; a queue view may be degraded by work earlier tests left waiting, never unreadable.
    assert all(status == "ok" for name, status, _ in probes if name == "health"), probes
    assert all("cannot read" not in str(detail) for _, _, detail in probes), probes
    html = (tmp_path / "status.html").read_text()
    assert 'data-testid="journey-returning_user"' in html and 'data-testid="uptime-returning_user-1h">100.00%<' in html
