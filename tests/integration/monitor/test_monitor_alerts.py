"""The monitor loop end to end on loopback: a real webhook receiver, real HTTP probes, real SQLite.

Only the journeys are scripted (a fake runner: fail, fail, fail, ..., succeed), so each test
knows exactly when the monitor must turn red, alert, and recover. The loop runs on the real
clock with a short period, bounded by --max-runs.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from gauntlet.journeys.monitor.alerts import AlertSink, WebhookSink
from gauntlet.journeys.monitor.fakes import ScriptedJourneys, outcomes
from gauntlet.journeys.monitor.history import History
from gauntlet.journeys.monitor.model import HEALTH_CHECK
from gauntlet.journeys.monitor.probes import HttpProber
from gauntlet.journeys.monitor.runner import LoopReport, Monitor, MonitorConfig, RunReport, SystemClock
from gauntlet.journeys.monitor.schedule import Schedule
from gauntlet.journeys.monitor.status import AlertPolicy
from tests.integration.monitor.conftest import PlatformStub, WebhookReceiver

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]
PERIOD_S = 0.05


def run_monitor(
    tmp_path: Path,
    stub: PlatformStub,
    receiver: WebhookReceiver,
    script: dict[str, list[bool]],
    *,
    runs: int,
    retries: int = 1,
    policy: AlertPolicy | None = None,
    sink: AlertSink | None = None,
    on_run: Callable[[RunReport], None] | None = None,
) -> tuple[LoopReport, ScriptedJourneys]:
    journeys = ScriptedJourneys(None, script, write_evidence=True)
    config = MonitorConfig(
        target=stub.url,
        journeys=tuple(script),
        schedule=Schedule(every_s=PERIOD_S, jitter_s=PERIOD_S / 5, max_runs=runs),
        policy=policy or AlertPolicy(fail_after=3, cooldown_s=1800),
        retries=retries,
        artifacts_dir=tmp_path / "monitor" / "artifacts",
        page_path=tmp_path / "monitor" / "status.html",
        metrics_path=tmp_path / "monitor" / "metrics.prom",
    )
    webhook = WebhookSink(receiver.url, timeout_s=5)
    sink = sink or webhook
    prober = HttpProber(stub.url, service_key=stub.service_key, timeout_s=5)
    started = time.monotonic()
    try:
        with History(tmp_path / "monitor" / "history.sqlite3") as history:
            report = Monitor(
                config,
                journeys=journeys,
                prober=prober,
                history=history,
                sink=sink,
                clock=SystemClock(threading.Event()),
                on_run=on_run,
            ).run()
    finally:
        webhook.close()
        prober.close()
    # The loop really waited for its slots, and no longer than the runs need.
    assert (runs - 1) * PERIOD_S <= time.monotonic() - started < 30
    return report, journeys


def test_red_after_k_failures_one_alert_one_recovery_and_the_page_lists_the_failures(
    tmp_path: Path, platform_stub: PlatformStub, webhook_receiver: WebhookReceiver
) -> None:
    # Four failing runs (each a failed attempt and a failed retry), then two passing ones.
    script = {"seller": outcomes(*[0] * 8, 1, 1)}
    report, journeys = run_monitor(tmp_path, platform_stub, webhook_receiver, script, runs=6)

    assert [r.colour for r in report.runs] == ["yellow", "yellow", "red", "red", "green", "green"]
    assert len(journeys.calls) == 10  # 4 runs x 2 attempts, then 2 first-time passes

    # Exactly one alert on red, exactly one on recovery, in that order, as Slack-compatible JSON.
    texts = webhook_receiver.texts()
    assert len(texts) == 2, texts
    assert texts[0].startswith(f"Gauntlet monitor ({platform_stub.url}): RED: seller")
    assert "*seller* is RED after 3 consecutive failures" in texts[0]
    assert "step load: expected text not found" in texts[0]
    assert texts[1].startswith(f"Gauntlet monitor ({platform_stub.url}): recovered: seller")
    for message in webhook_receiver.received:
        assert message.headers["Content-Type"] == "application/json"
        assert message.path == "/services/T000/B000/XXXX"
        assert {b["type"] for b in message.body["blocks"]} >= {"header", "section"}

    # Real probes went out: health, and both queue views with the service key.
    paths = {path for path, _ in platform_stub.requests}
    assert paths == {"/functions/v1/health", "/rest/v1/vw_discovery_queue_health", "/rest/v1/vw_events_queue_health"}
    assert all(
        auth == f"Bearer {platform_stub.service_key}" for path, auth in platform_stub.requests if "/rest/" in path
    )

    # The page written after the last run: green now, with every failed attempt listed and linked.
    page = tmp_path / "monitor" / "status.html"
    html = page.read_text()
    assert 'data-testid="overall-status" data-status="green"' in html
    assert html.count('data-testid="failure"') == 8
    links = re.findall(r'href="([^"]+)" data-testid="screenshot-link"', html)
    assert links and all((page.parent / link).is_file() for link in links)
    assert 'data-testid="uptime-seller-1h">33.33%<' in html  # 2 of 6 runs up

    prom = (tmp_path / "monitor" / "metrics.prom").read_text()
    assert 'gauntlet_monitor_status{check="seller"} 0.0' in prom
    assert 'gauntlet_journey_success{journey="seller"} 1.0' in prom

    # History agrees: six runs, two alerts both delivered.
    db = sqlite3.connect(tmp_path / "monitor" / "history.sqlite3")
    try:
        assert db.execute("SELECT count(*) FROM runs").fetchone()[0] == 6
        assert db.execute("SELECT kind, delivered FROM alerts ORDER BY id").fetchall() == [("red", 1), ("recovered", 1)]
    finally:
        db.close()


def test_degraded_health_is_yellow_and_a_down_platform_alerts_once(
    tmp_path: Path, platform_stub: PlatformStub, webhook_receiver: WebhookReceiver
) -> None:
    platform_stub.views["vw_discovery_queue_health"] = [{"status": "queued", "ct": 3, "p95_age_sec": 412.0}]
    report, _ = run_monitor(tmp_path, platform_stub, webhook_receiver, {"seller": outcomes(1)}, runs=1)
    assert report.final_colour == "yellow"
    assert report.runs[0].states[HEALTH_CHECK].reasons == (
        "vw_discovery_queue_health degraded: queued p95 age 412s > 300s",
    )

    platform_stub.views.clear()
    platform_stub.health, platform_stub.health_code = {"status": "down", "checks": {"primary": {"ok": False}}}, 503
    report, _ = run_monitor(tmp_path, platform_stub, webhook_receiver, {"seller": outcomes(1)}, runs=4)
    assert [r.colour for r in report.runs] == ["yellow", "yellow", "red", "red"]
    texts = webhook_receiver.texts()
    assert len(texts) == 1 and "RED: platform_health" in texts[0] and "health down: failing: primary" in texts[0]


def test_a_webhook_that_is_down_gets_the_alert_on_the_next_run(
    tmp_path: Path, platform_stub: PlatformStub, webhook_receiver: WebhookReceiver
) -> None:
    webhook_receiver.fail_next = 1
    script = {"seller": outcomes(0, 0, 0, 0, 1)}
    report, _ = run_monitor(tmp_path, platform_stub, webhook_receiver, script, runs=5, retries=0)
    deliveries = [(r.delivery.delivered if r.delivery else None) for r in report.runs]
    assert deliveries == [None, None, False, True, True]
    texts = webhook_receiver.texts()
    assert [t.split(": ", 1)[1].split("\n")[0] for t in texts] == ["RED: seller", "RED: seller", "recovered: seller"]


def test_flapping_within_the_cooldown_sends_one_alert_and_one_recovery(
    tmp_path: Path, platform_stub: PlatformStub, webhook_receiver: WebhookReceiver
) -> None:
    script = {"seller": outcomes(*[0, 0, 1] * 3)}
    report, _ = run_monitor(
        tmp_path,
        platform_stub,
        webhook_receiver,
        script,
        runs=9,
        retries=0,
        policy=AlertPolicy(fail_after=2, cooldown_s=3600),
    )
    assert [r.colour for r in report.runs].count("red") == 3
    assert len(webhook_receiver.received) == 2
