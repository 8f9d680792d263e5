"""Alert channels through Apprise, end to end on loopback: the monitor loop sends to a real
`json://` receiver (Apprise's JSON webhook) next to the Slack-style `--webhook`, with the same
flap suppression and one alert per incident; a dead channel does not re-send to the others."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from gauntlet.journeys.monitor.alerts import WebhookSink
from gauntlet.journeys.monitor.channels import AppriseChannel, Channels, NamedSink
from gauntlet.journeys.monitor.fakes import outcomes
from gauntlet.journeys.monitor.status import AlertPolicy
from tests.integration.monitor.conftest import PlatformStub, WebhookReceiver
from tests.integration.monitor.test_monitor_alerts import run_monitor

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


def json_url(receiver: WebhookReceiver) -> str:
    """Apprise's JSON webhook to the same loopback receiver, on its own path."""
    return receiver.url.replace("http://", "json://", 1).split("/services/")[0] + "/apprise/hook"


def apprise_messages(receiver: WebhookReceiver) -> list[dict[str, object]]:
    with receiver.lock:
        return [r.body for r in receiver.received if r.path == "/apprise/hook"]


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port nothing listens on (bound, never listened, so connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


def test_an_apprise_json_channel_gets_one_red_and_one_recovered_message(
    tmp_path: Path, platform_stub: PlatformStub, webhook_receiver: WebhookReceiver
) -> None:
    channel = AppriseChannel(json_url(webhook_receiver))
    sink = Channels([NamedSink(channel.name, channel)])
    script = {"seller": outcomes(0, 0, 0, 0, 1, 1)}
    report, _ = run_monitor(tmp_path, platform_stub, webhook_receiver, script, runs=6, retries=0, sink=sink)

    assert [r.colour for r in report.runs] == ["yellow", "yellow", "red", "red", "green", "green"]
    messages = apprise_messages(webhook_receiver)
    assert len(messages) == 2, messages
    red, recovered = messages
    assert red["title"] == f"Gauntlet monitor ({platform_stub.url}): RED: seller"
    assert "*seller* is RED after 3 consecutive failures" in str(red["message"])
    assert red["type"] == "failure"
    assert recovered["title"] == f"Gauntlet monitor ({platform_stub.url}): recovered: seller"
    assert recovered["type"] == "success"
    assert all(r.delivery is None or r.delivery.delivered for r in report.runs)


def test_flapping_sends_one_alert_and_one_recovery_on_every_channel(
    tmp_path: Path, platform_stub: PlatformStub, webhook_receiver: WebhookReceiver
) -> None:
    webhook = WebhookSink(webhook_receiver.url, timeout_s=5)
    channel = AppriseChannel(json_url(webhook_receiver))
    sink = Channels([NamedSink("--webhook", webhook), NamedSink(channel.name, channel)])
    script = {"seller": outcomes(*[0, 0, 1] * 3)}
    try:
        report, _ = run_monitor(
            tmp_path,
            platform_stub,
            webhook_receiver,
            script,
            runs=9,
            retries=0,
            policy=AlertPolicy(fail_after=2, cooldown_s=3600),
            sink=sink,
        )
    finally:
        webhook.close()
    assert [r.colour for r in report.runs].count("red") == 3  # red three times, alerted once
    slack = [r for r in webhook_receiver.received if r.path == "/services/T000/B000/XXXX"]
    assert len(slack) == 2 and "RED: seller" in str(slack[0].body["text"])
    assert [m["type"] for m in apprise_messages(webhook_receiver)] == ["failure", "success"]


def test_a_dead_channel_is_named_and_the_working_one_is_not_sent_the_incident_twice(
    tmp_path: Path, platform_stub: PlatformStub, webhook_receiver: WebhookReceiver, closed_port: int
) -> None:
    good = AppriseChannel(json_url(webhook_receiver))
    dead = AppriseChannel(f"json://127.0.0.1:{closed_port}/hook")
    sink = Channels([NamedSink(good.name, good), NamedSink(dead.name, dead)])
    script = {"seller": outcomes(0, 0, 0, 0)}
    report, _ = run_monitor(tmp_path, platform_stub, webhook_receiver, script, runs=4, retries=0, sink=sink)

    alerted = [r.delivery for r in report.runs if r.delivery is not None]
    assert len(alerted) == 1 and alerted[0].delivered
    assert alerted[0].error is not None and f"127.0.0.1:{closed_port}" in alerted[0].error
    assert len(apprise_messages(webhook_receiver)) == 1


def test_with_only_a_dead_channel_nothing_counts_as_delivered(closed_port: int) -> None:
    # Guard for the check above: with only the dead channel, nothing counts as delivered.
    dead = AppriseChannel(f"json://127.0.0.1:{closed_port}/hook")
    delivery = Channels([NamedSink(dead.name, dead)]).send({"text": "Gauntlet monitor (t): RED: seller\n- x"})
    assert not delivery.delivered and delivery.error and f"127.0.0.1:{closed_port}" in delivery.error
