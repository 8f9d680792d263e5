"""Prometheus text for the monitor, built from a status snapshot (so `serve` and the textfile agree).

Everything is a gauge of the latest state rather than a counter: the numbers come from the
history file, which retention trims, and a counter that goes down would read as a reset.
Rates over time are what the uptime gauges (1 h / 24 h / 7 d) are for.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from gauntlet.journeys.monitor.model import COLOUR_RANK
from gauntlet.journeys.monitor.stats import StatusSnapshot

PROBE_RANK = {"ok": 0, "degraded": 1, "down": 2}


class SnapshotCollector(Collector):
    def __init__(self, snapshot: StatusSnapshot) -> None:
        self.snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        snap = self.snapshot
        success = GaugeMetricFamily(
            "gauntlet_journey_success",
            "1 if the journey's latest run passed (degraded counts), else 0",
            labels=["journey"],
        )
        duration = GaugeMetricFamily(
            "gauntlet_journey_duration_seconds", "Duration of the journey's latest final attempt", labels=["journey"]
        )
        steps = GaugeMetricFamily(
            "gauntlet_journey_step_duration_seconds",
            "Duration of each step in the journey's latest final attempt",
            labels=["journey", "step"],
        )
        step_p95 = GaugeMetricFamily(
            "gauntlet_journey_step_p95_seconds",
            "p95 duration of each passing step over a window",
            labels=["journey", "step", "window"],
        )
        uptime = GaugeMetricFamily(
            "gauntlet_journey_uptime_ratio",
            "Share of runs that did not fail, over a window",
            labels=["journey", "window"],
        )
        for journey in snap.journeys:
            if journey.last is not None:
                success.add_metric([journey.name], float(journey.last.verdict != "fail"))
                duration.add_metric([journey.name], journey.last.duration_ms / 1000)
            for step in journey.last_steps:
                steps.add_metric([journey.name, step.name], step.duration_ms / 1000)
            for step_name, windows in journey.step_p95_ms.items():
                for window, value in windows.items():
                    if value is not None:
                        step_p95.add_metric([journey.name, step_name, window], value / 1000)
            for window, percent in journey.uptime.items():
                if percent is not None:
                    uptime.add_metric([journey.name, window], percent / 100)
        yield from (success, duration, steps, step_p95, uptime)

        status = GaugeMetricFamily(
            "gauntlet_monitor_status", "Each check's colour: 0 green, 1 yellow, 2 red", labels=["check"]
        )
        for state in snap.checks:
            status.add_metric([state.check], COLOUR_RANK[state.colour])
        yield status
        yield GaugeMetricFamily(
            "gauntlet_monitor_overall_status",
            "Worst colour of any check: 0 green, 1 yellow, 2 red",
            value=COLOUR_RANK[snap.overall],
        )
        probes = GaugeMetricFamily(
            "gauntlet_monitor_probe_status", "Latest health probe: 0 ok, 1 degraded, 2 down", labels=["probe"]
        )
        for probe in snap.probes:
            probes.add_metric([probe.name], PROBE_RANK[probe.status])
        yield probes
        if snap.last_run_at is not None:
            yield GaugeMetricFamily(
                "gauntlet_monitor_last_run_timestamp_seconds",
                "When the latest run started (Unix time)",
                value=snap.last_run_at,
            )


def exposition(snapshot: StatusSnapshot) -> bytes:
    """The snapshot in Prometheus text exposition format."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SnapshotCollector(snapshot))
    return generate_latest(registry)
