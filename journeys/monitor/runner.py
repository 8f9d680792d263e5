"""The monitor loop: run the journeys and probes on schedule, keep history, alert, publish.

Collaborators come in as Protocols (journey runner, health prober, alert sink, clock), so
the loop is tested with recording fakes and a fake clock. One run:

1. every journey, retried up to `retries` times until it passes (attempts kept apart on disk);
2. the health probes;
3. each check's state advanced (status.py) and the run stored with the new states;
4. one webhook message for the alerts the run calls for, delivery folded back into state;
5. retention applied (history rows and artifact folders), page and metrics file rewritten.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import logging
import os
import random
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from gauntlet.base.files import write_atomically
from gauntlet.journeys.monitor import metrics, page
from gauntlet.journeys.monitor.alerts import AlertSink, Delivery, payload_for
from gauntlet.journeys.monitor.history import History
from gauntlet.journeys.monitor.model import (
    DEFAULT_SLOW_FRACTION,
    Colour,
    JourneyAttempt,
    JourneyOutcome,
    Observation,
    ProbeResult,
    RunRecord,
    health_observation,
    journey_observation,
)
from gauntlet.journeys.monitor.probes import HealthProber
from gauntlet.journeys.monitor.schedule import Schedule, first_run, next_run, should_stop
from gauntlet.journeys.monitor.status import Alert, AlertPolicy, CheckState, advance, overall_colour, record_delivery

log = logging.getLogger("gauntlet.monitor")


class JourneyRunner(Protocol):
    """Runs one journey once; failures come back as a failed attempt, not an exception.

    `artifacts_dir` is the monitor's artifacts folder, the same for every run: the journey
    makes its own folder per run in it (screenshots, traces) and keeps reusable state there.
    """

    def run(self, name: str, *, target: str, artifacts_dir: Path) -> JourneyAttempt: ...


class Clock(Protocol):
    def time(self) -> float:
        """Wall-clock seconds (what history records)."""
        ...

    def monotonic(self) -> float:
        """Seconds for scheduling (never jumps)."""
        ...

    def sleep(self, seconds: float) -> bool:
        """Wait; True when a stop was requested meanwhile."""
        ...


class SystemClock:
    """The real clock; `sleep` wakes early when `stop` is set (SIGTERM from systemd or Kubernetes)."""

    def __init__(self, stop: threading.Event) -> None:
        self.stop = stop

    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> bool:
        return self.stop.wait(max(0.0, seconds))


class MonitorBusy(RuntimeError):
    """Another monitor holds this history file."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MonitorConfig:
    target: str
    journeys: tuple[str, ...]
    schedule: Schedule
    policy: AlertPolicy = field(default_factory=AlertPolicy)
    retries: int = 1
    slow_fraction: float = DEFAULT_SLOW_FRACTION
    artifacts_dir: Path
    page_path: Path | None = None
    metrics_path: Path | None = None
    retention_s: float = 14 * 86400.0
    page_url: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RunReport:
    run_id: int
    colour: Colour
    record: RunRecord
    states: dict[str, CheckState]
    alerts: tuple[Alert, ...] = ()
    delivery: Delivery | None = None


@dataclass(slots=True, kw_only=True)
class LoopReport:
    runs: list[RunReport] = field(default_factory=list)
    stopped_early: bool = False

    @property
    def final_colour(self) -> Colour:
        return self.runs[-1].colour if self.runs else "green"


def expired_artifact_dirs(entries: list[tuple[str, float]], *, journeys: tuple[str, ...], before: float) -> list[str]:
    """Journey run folders (`<journey>-...`, last modified before the horizon) that retention removes.

    Only folders named after a monitored journey go: the artifacts folder also keeps state the
    journeys reuse between runs (their accounts file), and anything else a person put there.
    """
    prefixes = tuple(f"{name}-" for name in journeys)
    return sorted(name for name, mtime in entries if name.startswith(prefixes) and mtime < before)


@contextlib.contextmanager
def exclusive(history_path: Path) -> Iterator[None]:
    """Hold the history's lock for the loop's lifetime: two monitors on one history would alert twice."""
    lock_path = history_path.with_name(history_path.name + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise MonitorBusy(
                f"another `gauntlet monitor` (pid {holder}) is using {history_path}; "
                "wait for it to finish or pass another --history"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class Monitor:
    def __init__(
        self,
        config: MonitorConfig,
        *,
        journeys: JourneyRunner,
        prober: HealthProber | None,
        history: History,
        sink: AlertSink,
        clock: Clock,
        draw: Callable[[], float] = random.random,
        on_run: Callable[[RunReport], None] | None = None,
    ) -> None:
        if config.retries < 0:
            raise ValueError("retries must be >= 0")
        self.config = config
        self.journeys = journeys
        self.prober = prober
        self.history = history
        self.sink = sink
        self.clock = clock
        self.draw = draw
        self.on_run = on_run

    def run(self) -> LoopReport:
        """Run on schedule until --max-runs, --for, or a stop request; never two runs at once."""
        schedule = self.config.schedule
        report = LoopReport()
        started = self.clock.monotonic()
        slot = first_run(schedule, started, self.draw())
        while True:
            # Even with nothing to wait for (an overrun), ask the clock: a stop request ends the loop here.
            if self.clock.sleep(max(0.0, slot.start_at - self.clock.monotonic())):
                report.stopped_early = True
                break
            if slot.skipped:
                log.warning("run overran its slot", extra={"action": "slots_skipped", "skipped": slot.skipped})
            report.runs.append(self.run_once(skipped_slots=slot.skipped))
            slot = next_run(
                schedule, started=started, previous_slot=slot.slot, finished_at=self.clock.monotonic(), draw=self.draw()
            )
            if should_stop(schedule, runs_done=len(report.runs), started=started, next_start=slot.start_at):
                break
        return report

    def run_once(self, *, skipped_slots: int = 0) -> RunReport:
        started_at = self.clock.time()
        outcomes = tuple(self._discard_passing(self._journey(name)) for name in self.config.journeys)
        observations = [journey_observation(o) for o in outcomes]
        probes: tuple[ProbeResult, ...] = ()
        if self.prober is not None:  # no prober (--no-probes): no platform_health check at all
            probes = self._probe(self.prober)
            observations.append(health_observation(probes))

        now = self.clock.time()
        saved = self.history.check_states()
        states: dict[str, CheckState] = {}
        alerts: list[Alert] = []
        for observation in observations:
            transition = advance(
                saved.get(observation.check, CheckState(check=observation.check)), observation, now, self.config.policy
            )
            states[observation.check] = transition.state
            if transition.alert is not None:
                alerts.append(transition.alert)
        colour = overall_colour(states.values())
        record = RunRecord(
            started_at=started_at,
            finished_at=now,
            target=self.config.target,
            outcomes=outcomes,
            probes=probes,
            colour=colour,
            skipped_slots=skipped_slots,
        )
        # Stored before alerting: a crash while the webhook hangs must not lose the run.
        run_id = self.history.record_run(record, states)
        delivery = self._alert(alerts, states) if alerts else None
        self._retain(now)
        self._publish(now)
        report = RunReport(
            run_id=run_id, colour=colour, record=record, states=states, alerts=tuple(alerts), delivery=delivery
        )
        self._log(report, observations)
        if self.on_run is not None:
            self.on_run(report)
        return report

    def _journey(self, name: str) -> JourneyOutcome:
        attempts: list[JourneyAttempt] = []
        for _ in range(self.config.retries + 1):
            started = self.clock.time()
            try:
                attempt = self.journeys.run(name, target=self.config.target, artifacts_dir=self.config.artifacts_dir)
            except Exception as exc:  # a crashing runner is a failed journey, not a dead monitor
                log.exception("journey runner raised", extra={"action": "journey_crashed", "journey": name})
                attempt = JourneyAttempt(
                    name=name,
                    ok=False,
                    started_at=started,
                    duration_ms=(self.clock.time() - started) * 1000,
                    error=f"runner raised {type(exc).__name__}: {exc}",
                )
            attempts.append(attempt)
            if attempt.ok:
                break
        return JourneyOutcome(name=name, attempts=tuple(attempts), slow_fraction=self.config.slow_fraction)

    def _discard_passing(self, outcome: JourneyOutcome) -> JourneyOutcome:
        """Drop passing attempts' folders: history keeps their numbers, and only failures need evidence.

        At one folder per journey a minute, keeping them all would be ~60,000 folders over the
        default retention. Only folders inside the artifacts root are touched.
        """
        root = self.config.artifacts_dir.resolve()
        kept = []
        for attempt in outcome.attempts:
            if attempt.ok and attempt.artifacts_dir:
                folder = Path(attempt.artifacts_dir).resolve()
                if folder != root and folder.is_relative_to(root):
                    shutil.rmtree(folder, ignore_errors=True)
                    attempt = dataclasses.replace(attempt, artifacts_dir=None)
            kept.append(attempt)
        return dataclasses.replace(outcome, attempts=tuple(kept))

    def _probe(self, prober: HealthProber) -> tuple[ProbeResult, ...]:
        try:
            return prober.probe()
        except Exception as exc:  # same reasoning as journeys: report it, keep monitoring
            log.exception("health prober raised", extra={"action": "probe_crashed"})
            return (ProbeResult(name="health", status="down", detail=f"prober raised {type(exc).__name__}: {exc}"),)

    def _alert(self, alerts: list[Alert], states: dict[str, CheckState]) -> Delivery:
        payload = payload_for(alerts, target=self.config.target, page_url=self.config.page_url)
        try:
            delivery = self.sink.send(payload)
        except Exception as exc:  # the sink promises not to raise; a broken one must not stop the loop
            delivery = Delivery(delivered=False, error=f"{type(exc).__name__}: {exc}")
        for alert in alerts:
            states[alert.check] = record_delivery(states[alert.check], alert, delivered=delivery.delivered)
            self.history.record_alert(alert, delivered=delivery.delivered, error=delivery.error)
            log.warning(
                "alert",
                extra={"action": f"alert_{alert.kind}", "check": alert.check, "delivered": delivery.delivered},
            )
        self.history.save_states(states)
        return delivery

    def _retain(self, now: float) -> None:
        before = now - self.config.retention_s
        pruned = self.history.prune(before=before)
        root = self.config.artifacts_dir
        entries = [(p.name, p.stat().st_mtime) for p in root.iterdir() if p.is_dir()] if root.is_dir() else []
        for name in expired_artifact_dirs(entries, journeys=self.config.journeys, before=before):
            shutil.rmtree(root / name, ignore_errors=True)
        if pruned:
            log.info("retention applied", extra={"action": "pruned", "runs": len(pruned)})

    def _publish(self, now: float) -> None:
        if self.config.page_path is None and self.config.metrics_path is None:
            return
        snapshot = self.history.snapshot(now=now, journeys=list(self.config.journeys))
        if self.config.page_path is not None:
            html = page.render(snapshot, target=self.config.target, link_for=page.file_links(self.config.page_path))
            write_atomically(self.config.page_path, html.encode())
        if self.config.metrics_path is not None:
            write_atomically(self.config.metrics_path, metrics.exposition(snapshot))

    def _log(self, report: RunReport, observations: list[Observation]) -> None:
        log.info(
            "run finished",
            extra={
                "action": "run_finished",
                "run_id": report.run_id,
                "colour": report.colour,
                "checks": ",".join(f"{o.check}={o.verdict}" for o in observations),
                "seconds": round(report.record.finished_at - report.record.started_at, 2),
            },
        )
