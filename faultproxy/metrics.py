"""Byte counters per proxy and direction, rendered as Toxiproxy's Prometheus metrics."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class ByteCounters:
    received: int = 0  # read from the source socket of this direction
    sent: int = 0  # written to the destination socket of this direction


@dataclass(frozen=True, slots=True)
class LinkLabels:
    direction: str
    proxy: str
    listener: str
    upstream: str


class ProxyMetrics:
    """Counters live here, not on connections, so they outlive them (they are counters)."""

    def __init__(self) -> None:
        self._counters: dict[LinkLabels, ByteCounters] = {}

    def counters(self, labels: LinkLabels) -> ByteCounters:
        found = self._counters.get(labels)
        if found is None:
            found = self._counters[labels] = ByteCounters()
        return found

    def render(self) -> str:
        """Prometheus text exposition, names and labels as Toxiproxy's ``-proxy-metrics``."""
        ordered = sorted(self._counters.items(), key=lambda item: _label_text(item[0]))
        lines: list[str] = []
        for name in ("received", "sent"):
            metric = f"toxiproxy_proxy_{name}_bytes_total"
            lines.append(f"# HELP {metric} The total number of bytes {name} on a proxy link")
            lines.append(f"# TYPE {metric} counter")
            for labels, counters in ordered:
                lines.append(f"{metric}{{{_label_text(labels)}}} {getattr(counters, name)}")
        return "\n".join(lines) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _label_text(labels: LinkLabels) -> str:
    return (
        f'direction="{_escape(labels.direction)}",listener="{_escape(labels.listener)}",'
        f'proxy="{_escape(labels.proxy)}",upstream="{_escape(labels.upstream)}"'
    )
