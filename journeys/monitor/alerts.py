"""Alerts to a Slack-compatible webhook: `{"text": ..., "blocks": [...]}` by POST.

`text` is the whole message on its own (what Mattermost, Discord's /slack endpoint and
Slack notifications show); `blocks` is the richer Slack layout. The payload is built by a
pure function; `WebhookSink` sends it with httpx and reports failure instead of raising,
because a broken webhook must never stop the monitor from monitoring.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import httpx

from gauntlet.journeys.monitor.status import Alert

log = logging.getLogger("gauntlet.monitor.alerts")
WEBHOOK_TIMEOUT_S = 10.0
MAX_REASONS = 5


@dataclass(frozen=True, slots=True, kw_only=True)
class Delivery:
    delivered: bool
    error: str | None = None


class AlertSink(Protocol):
    """Where the loop sends a run's alerts (one message per run, however many checks changed)."""

    def send(self, payload: dict[str, Any]) -> Delivery: ...


def _when(at: float) -> str:
    return datetime.fromtimestamp(at, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _line(alert: Alert) -> str:
    if alert.kind == "red":
        head = f":red_circle: *{alert.check}* is RED after {alert.failing_streak} consecutive failures"
    else:
        head = f":large_green_circle: *{alert.check}* RECOVERED"
    reasons = list(alert.reasons[:MAX_REASONS])
    if len(alert.reasons) > MAX_REASONS:
        reasons.append(f"... and {len(alert.reasons) - MAX_REASONS} more")
    return head + "".join(f"\n  - {r}" for r in reasons)


def payload_for(alerts: Sequence[Alert], *, target: str, page_url: str | None = None) -> dict[str, Any]:
    """One Slack-compatible message for every alert of one run; red ones first."""
    if not alerts:
        raise ValueError("an alert message needs at least one alert")
    ordered = sorted(alerts, key=lambda a: (a.kind != "red", a.check))
    reds = [a.check for a in ordered if a.kind == "red"]
    recovered = [a.check for a in ordered if a.kind == "recovered"]
    parts = []
    if reds:
        parts.append(f"RED: {', '.join(reds)}")
    if recovered:
        parts.append(f"recovered: {', '.join(recovered)}")
    summary = f"Gauntlet monitor ({target}): {'; '.join(parts)}"
    lines = [_line(a) for a in ordered]
    footer = f"at {_when(max(a.at for a in ordered))}" + (f" - status page: {page_url}" if page_url else "")
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": summary[:150]}},
        *({"type": "section", "text": {"type": "mrkdwn", "text": line}} for line in lines),
        {"type": "context", "elements": [{"type": "mrkdwn", "text": footer}]},
    ]
    return {"text": "\n".join([summary, *lines, footer]), "blocks": blocks}


class WebhookSink:
    """POST to a webhook URL; a timeout, refusal or non-2xx is logged and returned, never raised."""

    def __init__(self, url: str, *, timeout_s: float = WEBHOOK_TIMEOUT_S, client: httpx.Client | None = None) -> None:
        self.url = url
        self._client = client or httpx.Client(timeout=timeout_s)

    def send(self, payload: dict[str, Any]) -> Delivery:
        try:
            response = self._client.post(self.url, json=payload)
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        else:
            if response.is_success:
                log.info("alert delivered", extra={"action": "alert_delivered", "status": response.status_code})
                return Delivery(delivered=True)
            error = f"HTTP {response.status_code}: {response.text[:200]}"
        log.warning("alert not delivered", extra={"action": "alert_failed", "error": error})
        return Delivery(delivered=False, error=error)

    def close(self) -> None:
        self._client.close()


class NoSink:
    """No --webhook: the log line is the alert.

    It counts as delivered so the flap and cool-down rules still apply to the log; otherwise an
    owed red alert would be logged again on every failing run.
    """

    def send(self, payload: dict[str, Any]) -> Delivery:
        log.warning("alert (no --webhook set)", extra={"action": "alert_logged", "text": payload.get("text", "")})
        return Delivery(delivered=True, error="no --webhook: logged only")
