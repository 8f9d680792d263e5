"""Alert channels: the alerts file's rules, the Apprise message, and the fan-out's delivery rule."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gauntlet.journeys.monitor.alerts import Delivery
from gauntlet.journeys.monitor.channels import (
    AppriseChannel,
    ChannelProblem,
    Channels,
    NamedSink,
    channels_for,
    notice_for,
    urls_from_file,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "alerts.toml"


class Answering:
    def __init__(self, delivered: bool) -> None:
        self.delivered = delivered
        self.sent: list[dict[str, Any]] = []

    def send(self, payload: dict[str, Any]) -> Delivery:
        self.sent.append(payload)
        return Delivery(delivered=self.delivered, error=None if self.delivered else "HTTP 503")


def test_the_notice_is_the_summary_line_and_the_rest() -> None:
    notice = notice_for({"text": "Gauntlet monitor (t): RED: seller\n*seller* is RED"})
    assert notice == type(notice)(title="Gauntlet monitor (t): RED: seller", body="*seller* is RED", failing=True)
    assert not notice_for({"text": "Gauntlet monitor (t): recovered: seller\nok"}).failing


def test_delivered_when_any_channel_took_it_and_the_failed_one_is_named() -> None:
    good, bad = Answering(True), Answering(False)
    delivery = Channels([NamedSink("mail", good), NamedSink("pager", bad)]).send({"text": "x"})
    assert delivery.delivered and delivery.error == "not delivered on pager: HTTP 503"
    assert good.sent == bad.sent == [{"text": "x"}]


def test_not_delivered_when_every_channel_failed() -> None:
    delivery = Channels([NamedSink("a", Answering(False)), NamedSink("b", Answering(False))]).send({"text": "x"})
    assert not delivery.delivered and delivery.error == "a: HTTP 503; b: HTTP 503"


def test_the_example_file_parses_and_every_channel_is_an_apprise_url() -> None:
    env = {"GAUNTLET_PAGERDUTY_URL": "pagerduty://integrationkey@routingkey"}
    urls = urls_from_file(EXAMPLE, env)
    assert urls, "examples/alerts.toml names no channel"
    for _, url in urls:
        AppriseChannel(url)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[channel]]\nname = 'x'\n", "channel 1: give exactly one of url"),
        ("[[channel]]\nurl = 'json://h/p'\nurl_env = 'X'\n", "channel 1: give exactly one of url"),
        ("[[channel]]\nurl = 'json://h/p'\nkind = 'slack'\n", "channel 1: unknown key 'kind'"),
        ("[[channel]]\nurl_env = 'NOT_SET_HERE'\n", "url_env 'NOT_SET_HERE' is not set; export NOT_SET_HERE="),
        ("channels = []\n", "unknown key 'channels'"),
        ("", "no [[channel]] table"),
        ("[[channel]\n", "not valid TOML"),
    ],
)
def test_a_bad_alerts_file_names_the_key_and_the_fix(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "alerts.toml"
    path.write_text(text)
    with pytest.raises(ChannelProblem, match="--alerts") as caught:
        urls_from_file(path, {})
    assert message in str(caught.value)


def test_a_bad_url_in_the_file_names_its_channel(tmp_path: Path) -> None:
    path = tmp_path / "alerts.toml"
    path.write_text("[[channel]]\nurl = 'json://h/p'\n[[channel]]\nname = 'ops'\nurl = 'nosuch://secret@x/y'\n")
    with pytest.raises(ChannelProblem, match=r"channel 2 \(ops\) 'nosuch://x/\.\.\.': Apprise cannot send") as caught:
        channels_for(alerts=[], alerts_file=path, webhook=None)
    assert "secret" not in str(caught.value)


def test_no_channel_at_all_is_none() -> None:
    assert channels_for(alerts=[], alerts_file=None, webhook=None) is None
