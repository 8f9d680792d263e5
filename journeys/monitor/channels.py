"""Alert channels: one Apprise URL per channel (mail, Slack, PagerDuty, Opsgenie, Teams, webhooks, ...).

`--alert URL` (repeatable) and an alerts file (`--alerts FILE`, TOML: `[[channel]]` tables with
`url` or `url_env`) name the channels; `--webhook URL` stays the Slack-compatible channel it was.
Every URL is checked before the monitor starts (Apprise must know its scheme and accept its
parts). A run's alerts go to every channel as one message; the message counts as delivered when
at least one channel took it, so a dead channel never re-sends the incident to the working ones
(the failed channels are named in the history's error column and the console line).
"""

from __future__ import annotations

import logging
import os
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import apprise

from gauntlet.base.errors import GauntletError
from gauntlet.journeys.monitor.alerts import AlertSink, Delivery

log = logging.getLogger("gauntlet.monitor.alerts")
URL_EXAMPLES = (
    "mailto://user:pass@example.com, slack://TokenA/TokenB/TokenC, pagerduty://KEY@ROUTING_KEY, json://host/path"
)
APPRISE_DOCS = "https://github.com/caronc/apprise/wiki"


class ChannelProblem(GauntletError):
    """An alert channel that cannot work as given."""


@dataclass(frozen=True, slots=True)
class Notice:
    """A message in Apprise's terms: a title, a body, and whether it is bad news."""

    title: str
    body: str
    failing: bool


def notice_for(payload: Mapping[str, Any]) -> Notice:
    """The Slack-style payload's text as a title (its summary line) and a body (the rest)."""
    text = str(payload.get("text", ""))
    title, _, body = text.partition("\n")
    return Notice(title=title, body=body or title, failing=": RED: " in title)


class AppriseChannel:
    """One Apprise URL; a refusal or an exception is returned as an undelivered `Delivery`."""

    def __init__(self, url: str, *, source: str = "--alert") -> None:
        self._apprise = apprise.Apprise()
        if not self._apprise.add(url):
            scheme = url.partition("://")[0] if "://" in url else url
            raise ChannelProblem(
                f"{source} {_redacted(url)!r}: Apprise cannot send to it (unknown scheme {scheme!r} or missing "
                f"parts); write one URL per channel, e.g. {URL_EXAMPLES} (schemes: {APPRISE_DOCS})"
            )
        self.name: str = self._apprise[0].url(privacy=True)  # type: ignore[no-untyped-call]

    def send(self, payload: dict[str, Any]) -> Delivery:
        notice = notice_for(payload)
        kind = apprise.NotifyType.FAILURE if notice.failing else apprise.NotifyType.SUCCESS
        try:
            with apprise.LogCapture(level=logging.WARNING) as captured:  # type: ignore[no-untyped-call]
                sent = bool(self._apprise.notify(title=notice.title, body=notice.body, notify_type=kind))
                why = captured.getvalue().strip().splitlines() if not sent else []
        except Exception as exc:  # a plugin bug must not stop the monitor
            sent, why = False, [f"{type(exc).__name__}: {exc}"]
        if sent:
            return Delivery(delivered=True)
        return Delivery(delivered=False, error=f"{self.name}: {why[-1] if why else 'not delivered'}")


@dataclass(frozen=True)
class NamedSink:
    name: str
    sink: AlertSink


class Channels:
    """Every channel gets the run's message; delivered when any of them took it."""

    def __init__(self, channels: Sequence[NamedSink]) -> None:
        if not channels:
            raise ValueError("Channels needs at least one channel")
        self.channels = tuple(channels)

    def send(self, payload: dict[str, Any]) -> Delivery:
        failed: list[str] = []
        for channel in self.channels:
            try:
                delivery = channel.sink.send(payload)
            except Exception as exc:  # a sink promises not to raise; a broken one must not stop the rest
                delivery = Delivery(delivered=False, error=f"{type(exc).__name__}: {exc}")
            if not delivery.delivered:
                failed.append(delivery.error if delivery.error and channel.name in delivery.error else
                              f"{channel.name}: {delivery.error or 'not delivered'}")  # fmt: skip
        if len(failed) == len(self.channels):
            return Delivery(delivered=False, error="; ".join(failed))
        if failed:
            log.warning("alert not delivered on every channel", extra={"action": "alert_partial", "error": failed})
            return Delivery(delivered=True, error="not delivered on " + "; ".join(failed))
        return Delivery(delivered=True)


def _redacted(url: str) -> str:
    """The scheme and host only: a channel URL usually carries its secret."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url[:40]
    host = rest.split("/", 1)[0].rpartition("@")[2]
    return f"{scheme}://{host}/..." if "/" in rest or "@" in rest else f"{scheme}://{host}"


def urls_from_file(path: Path, environ: Mapping[str, str] | None = None) -> list[tuple[str, str]]:
    """`(where, url)` for each `[[channel]]` of an alerts file; a bad file names the key and the fix."""
    env = os.environ if environ is None else environ
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ChannelProblem(
            f"--alerts {path}: cannot read it ({exc.strerror or exc}); give an alerts TOML file"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ChannelProblem(f"--alerts {path}: not valid TOML ({exc}); see examples/alerts.toml") from None
    unknown = sorted(set(data) - {"channel"})
    if unknown:
        raise ChannelProblem(
            f"--alerts {path}: unknown key {unknown[0]!r}; write [[channel]] tables (examples/alerts.toml)"
        )
    channels = data.get("channel", [])
    if not isinstance(channels, list) or not channels:
        raise ChannelProblem(f'--alerts {path}: no [[channel]] table; add one with url = "json://host/path"')
    found: list[tuple[str, str]] = []
    for index, table in enumerate(channels, start=1):
        where = f"--alerts {path}: channel {index}"
        if not isinstance(table, dict):
            raise ChannelProblem(f"{where}: write it as a [[channel]] table")
        extra = sorted(set(table) - {"name", "url", "url_env"})
        if extra:
            raise ChannelProblem(f"{where}: unknown key {extra[0]!r}; a channel has name, url or url_env")
        if ("url" in table) == ("url_env" in table):
            raise ChannelProblem(f'{where}: give exactly one of url = "..." or url_env = "ENV_VAR"')
        if "url_env" in table:
            name = str(table["url_env"])
            if not env.get(name):
                raise ChannelProblem(f"{where}: url_env {name!r} is not set; export {name}=<the channel's Apprise URL>")
            url = env[name]
        else:
            url = str(table["url"])
        found.append((f"{where} ({table.get('name', url.partition('://')[0])})", url))
    return found


def channels_for(*, alerts: Sequence[str], alerts_file: Path | None, webhook: NamedSink | None) -> Channels | None:
    """Every channel, checked now (exit 2 on a bad one); None when there is none (the log is the alert)."""
    named: list[NamedSink] = [] if webhook is None else [webhook]
    sources = [("--alert", url) for url in alerts]
    if alerts_file is not None:
        sources += urls_from_file(alerts_file)
    for source, url in sources:
        channel = AppriseChannel(url, source=source)
        named.append(NamedSink(channel.name, channel))
    return Channels(named) if named else None
