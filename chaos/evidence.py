"""Did a fault land? Traffic on the faulted proxy, and the effect the drill's probes saw.

A fault injected into a proxy the platform does not use changes nothing, and a
drill that then "passes" proves nothing. Toxiproxy's byte counters
(`GET /metrics`: `toxiproxy_proxy_received_bytes_total{proxy=...}`, served by
the built-in fault proxy and by `toxiproxy-server -proxy-metrics`) show whether
the proxy carried the platform's traffic around the fault; the drill's probes
(a detection) or the load's windows show whether users could see the fault.
Without both, the verdict is `inconclusive`, never passed.

The parsing and the verdict are pure; `read_proxy_bytes` is the one I/O call.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import httpx

_SAMPLE = re.compile(r"^toxiproxy_proxy_received_bytes_total\{(?P<labels>[^}]*)\}\s+(?P<value>[0-9.eE+]+)\s*$")
_PROXY = re.compile(r'proxy="(?P<name>(?:[^"\\]|\\.)*)"')
# Kinds of fault after which no bytes can flow (the proxy is off, or every connection is cut or held):
# for these, traffic just before the fault shows the proxy is in the platform's path.
CUTTING = frozenset({"disabled", "timeout", "reset_peer"})


def parse_proxy_bytes(metrics_text: str) -> dict[str, int]:
    """Bytes received per proxy (both directions, all listeners) from Toxiproxy's Prometheus text."""
    totals: dict[str, int] = {}
    for line in metrics_text.splitlines():
        match = _SAMPLE.match(line.strip())
        if match is None:
            continue
        proxy = _PROXY.search(match["labels"])
        if proxy is None:
            continue
        name = proxy["name"]
        totals[name] = totals.get(name, 0) + int(float(match["value"]))
    return totals


def read_proxy_bytes(toxiproxy_url: str, timeout_s: float = 5.0) -> dict[str, int] | None:
    """The byte counters per proxy, or None when this Toxiproxy does not expose them."""
    try:
        response = httpx.get(f"{toxiproxy_url.rstrip('/')}/metrics", timeout=timeout_s)
    except httpx.HTTPError:
        return None
    if response.status_code != 200 or "toxiproxy_proxy_received_bytes_total" not in response.text:
        return None
    return parse_proxy_bytes(response.text)


def moved(before: Mapping[str, int] | None, after: Mapping[str, int] | None, proxy: str) -> int | None:
    """Bytes `proxy` carried between two readings (None: no readings to compare)."""
    if before is None or after is None:
        return None
    return max(0, after.get(proxy, 0) - before.get(proxy, 0))


@dataclass(frozen=True, slots=True)
class FaultEvidence:
    """What was observed about one faulted proxy around the fault window."""

    proxy: str
    kind: str  # the toxic's type, or "disabled"
    bytes_before: int | None  # from the load's start to the fault's injection
    bytes_during: int | None  # from injection to removal (or to the end of the method)

    @property
    def landed(self) -> bool | None:
        """True: the proxy carried the platform's traffic; False: it did not; None: not observable."""
        if self.bytes_during is None and self.bytes_before is None:
            return None
        during = self.bytes_during or 0
        if self.kind in CUTTING:
            return during > 0 or (self.bytes_before or 0) > 0
        return during > 0

    def describe(self) -> str:
        if self.landed is None:
            return f"{self.proxy}: traffic not observable (the Toxiproxy has no byte counters at /metrics)"
        return (
            f"{self.proxy} ({self.kind}): {self.bytes_before or 0} bytes before the fault, "
            f"{self.bytes_during or 0} during it"
        )


def effect_seen(*, detected: bool, before: Mapping[str, object], during: Mapping[str, object]) -> bool:
    """Whether the probes or the load saw the fault: a detection, more errors, or slower requests."""
    if detected:
        return True
    errors_before = _number(before.get("error_rate")) or 0.0
    errors_during = _number(during.get("error_rate"))
    if errors_during is not None and errors_during > errors_before + 0.01:
        return True
    p95_before, p95_during = _number(before.get("p95")), _number(during.get("p95"))
    if p95_before is None or p95_during is None:
        return False
    return p95_during > 1.5 * p95_before + 20.0


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def inconclusive_reasons(evidence: list[FaultEvidence], *, effect: bool) -> list[str]:
    """Why a drill with these observations is inconclusive (empty: the fault landed)."""
    reasons = []
    for item in evidence:
        if item.landed is False:
            reasons.append(
                f"inconclusive: the fault did not land: proxy {item.proxy} carried no platform traffic "
                f"around the fault ({item.describe()}); is it in the platform's path? (gauntlet target check)"
            )
    if evidence and not effect:
        reasons.append(
            "inconclusive: no probe and no request of the load saw the fault (no detection, errors and p95 "
            "as before), so passing would prove nothing"
        )
    return reasons
