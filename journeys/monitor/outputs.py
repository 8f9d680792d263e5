"""`gauntlet monitor run --out ...`: each run's journeys, steps and probes as samples, streamed.

The same outputs as `gauntlet load --out` (load/outputs.py): `json=FILE` (a line per sample:
`time`, `name`, `ms`, `ok`), `prometheus[=HOST:PORT]` (`gauntlet_monitor_checks_total`,
`gauntlet_monitor_check_failures_total`, `gauntlet_monitor_check_duration_seconds` by `name`) and
`otlp[=URL]`. A sample is named `journey:NAME` (each attempt), `step:JOURNEY/STEP` (each step that
ran) or `probe:NAME` (ok when the probe said ok). The monitor's own status metrics stay where they
were (`metrics.prom`, `gauntlet monitor serve`).
"""

from __future__ import annotations

from dataclasses import dataclass

from gauntlet.journeys.monitor.model import RunRecord
from gauntlet.load.outputs import Subject

MONITOR = Subject("gauntlet_monitor", "check", (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0))


@dataclass(frozen=True, slots=True)
class MonitorSample:
    at_s: float  # epoch seconds it finished
    name: str
    ms: float
    ok: bool


def samples_of(record: RunRecord) -> list[MonitorSample]:
    """Every attempt, every step that ran and every probe of one run (pure)."""
    samples: list[MonitorSample] = []
    for outcome in record.outcomes:
        for attempt in outcome.attempts:
            ended = attempt.started_at + attempt.duration_ms / 1000.0
            samples.append(MonitorSample(ended, f"journey:{attempt.name}", attempt.duration_ms, attempt.ok))
            samples += [
                MonitorSample(ended, f"step:{attempt.name}/{step.name}", step.duration_ms, step.ok)
                for step in attempt.steps
                if not step.skipped
            ]
    samples += [
        MonitorSample(record.finished_at, f"probe:{p.name}", p.duration_ms, p.status == "ok") for p in record.probes
    ]
    return samples
