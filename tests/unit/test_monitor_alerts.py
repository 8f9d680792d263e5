"""Slack-compatible payloads, and a webhook that fails without stopping anything."""

from __future__ import annotations

import json
import logging

import httpx
import pytest

from gauntlet.journeys.monitor.alerts import MAX_REASONS, NoSink, WebhookSink, payload_for
from gauntlet.journeys.monitor.fakes import START
from gauntlet.journeys.monitor.status import Alert

RED = Alert(check="seller", kind="red", at=START, failing_streak=3, reasons=("step publish: HTTP 500",))
RECOVERED = Alert(check="returning_user", kind="recovered", at=START, failing_streak=0)


def test_payload_has_plain_text_and_blocks() -> None:
    payload = payload_for([RED], target="https://staging.example", page_url="http://status.example/")
    assert set(payload) == {"text", "blocks"}
    text = payload["text"]
    assert text.startswith("Gauntlet monitor (https://staging.example): RED: seller")
    assert "*seller* is RED after 3 consecutive failures" in text
    assert "- step publish: HTTP 500" in text
    assert "status page: http://status.example/" in text
    assert "2023-11-14 22:13:20 UTC" in text
    kinds = [b["type"] for b in payload["blocks"]]
    assert kinds == ["header", "section", "context"]
    assert payload["blocks"][0]["text"]["type"] == "plain_text"
    json.dumps(payload)  # serialisable as sent


def test_one_message_lists_reds_first_then_recoveries() -> None:
    payload = payload_for([RECOVERED, RED], target="t")
    assert payload["text"].splitlines()[0] == "Gauntlet monitor (t): RED: seller; recovered: returning_user"
    sections = [b["text"]["text"] for b in payload["blocks"] if b["type"] == "section"]
    assert "RED" in sections[0] and "RECOVERED" in sections[1]


def test_header_stays_within_slacks_limit_and_reasons_are_capped() -> None:
    many = Alert(check="x" * 200, kind="red", at=START, failing_streak=5, reasons=tuple(f"r{i}" for i in range(12)))
    payload = payload_for([many], target="t")
    assert len(payload["blocks"][0]["text"]["text"]) <= 150
    assert f"... and {12 - MAX_REASONS} more" in payload["text"]


def test_an_empty_alert_list_is_a_bug() -> None:
    with pytest.raises(ValueError, match="at least one alert"):
        payload_for([], target="t")


def sink_answering(handler: httpx.MockTransport) -> WebhookSink:
    return WebhookSink("http://127.0.0.1:9/hook", client=httpx.Client(transport=handler))


def test_a_2xx_answer_is_delivered_and_the_payload_is_json() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, text="ok")

    delivery = sink_answering(httpx.MockTransport(answer)).send({"text": "hi", "blocks": []})
    assert delivery.delivered and delivery.error is None
    assert seen[0].method == "POST" and json.loads(seen[0].content) == {"text": "hi", "blocks": []}
    assert seen[0].headers["content-type"] == "application/json"


def test_an_error_status_is_reported_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    sink = sink_answering(httpx.MockTransport(lambda _: httpx.Response(500, text="invalid_token")))
    with caplog.at_level(logging.WARNING, logger="gauntlet.monitor.alerts"):
        delivery = sink.send({"text": "hi"})
    assert not delivery.delivered and delivery.error == "HTTP 500: invalid_token"
    assert any(getattr(r, "action", None) == "alert_failed" for r in caplog.records)


def test_a_connection_failure_or_timeout_is_reported_not_raised() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("timed out", request=request)

    delivery = sink_answering(httpx.MockTransport(refuse)).send({"text": "hi"})
    assert not delivery.delivered and delivery.error is not None and "ConnectTimeout" in delivery.error


def test_without_a_webhook_the_log_is_the_alert(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="gauntlet.monitor.alerts"):
        delivery = NoSink().send({"text": "RED: seller"})
    assert delivery.delivered and delivery.error == "no --webhook: logged only"
    assert any(getattr(r, "text", None) == "RED: seller" for r in caplog.records)
