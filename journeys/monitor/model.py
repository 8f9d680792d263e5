"""What one monitor run observes: journey attempts with their steps, and health probes.

These are the monitor's own types. The journeys package has its own `JourneyResult`;
journey_adapter.py converts it, so a change there touches one module, not the monitor.
Times are epoch seconds (floats) so they store and compare without time-zone surprises.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Colour = Literal["green", "yellow", "red"]
Verdict = Literal["pass", "degraded", "fail"]
HealthStatus = Literal["ok", "degraded", "down"]

COLOUR_RANK: dict[Colour, int] = {"green": 0, "yellow": 1, "red": 2}
VERDICT_RANK: dict[Verdict, int] = {"pass": 0, "degraded": 1, "fail": 2}
HEALTH_VERDICT: dict[HealthStatus, Verdict] = {"ok": "pass", "degraded": "degraded", "down": "fail"}

# A passing step that used more than this share of its budget makes the journey yellow.
DEFAULT_SLOW_FRACTION = 0.8

# The name of the check that stands for the platform's health probes (one check for all of
# them, so a whole-platform outage is one alert, not one per view).
HEALTH_CHECK = "platform_health"


@dataclass(frozen=True, slots=True, kw_only=True)
class StepRecord:
    name: str
    ok: bool
    duration_ms: float
    budget_ms: float | None = None
    error: str | None = None
    screenshot: str | None = None
    trace: str | None = None
    skipped: bool = False  # never ran: an earlier step failed or the journey's budget ran out

    def slow(self, fraction: float) -> bool:
        """Passed, but used more than `fraction` of its budget: degraded, not failed.

        The journeys fail a step that overruns its budget, so "slow" has to mean "close to it".
        """
        return self.ok and self.budget_ms is not None and self.duration_ms > fraction * self.budget_ms


@dataclass(frozen=True, slots=True, kw_only=True)
class JourneyAttempt:
    """One execution of one journey."""

    name: str
    ok: bool
    started_at: float
    duration_ms: float
    steps: tuple[StepRecord, ...] = ()
    console_errors: tuple[str, ...] = ()
    # A failure outside any step: the journey crashed, timed out, or could not start.
    error: str | None = None
    artifacts_dir: str | None = None  # the folder this attempt wrote (screenshots, trace, result)

    def failed_step(self) -> StepRecord | None:
        return next((s for s in self.steps if not s.ok and not s.skipped), None)

    def failure_summary(self) -> str:
        step = self.failed_step()
        if step is not None:
            return f"step {step.name}: {step.error or 'failed'}"
        return self.error or "failed"


@dataclass(frozen=True, slots=True, kw_only=True)
class JourneyOutcome:
    """A journey within one monitor run: every attempt made; the last one decides."""

    name: str
    attempts: tuple[JourneyAttempt, ...]
    slow_fraction: float = DEFAULT_SLOW_FRACTION

    def __post_init__(self) -> None:
        if not self.attempts:
            raise ValueError(f"journey {self.name!r}: an outcome needs at least one attempt")

    @property
    def final(self) -> JourneyAttempt:
        return self.attempts[-1]

    @property
    def ok(self) -> bool:
        return self.final.ok

    @property
    def verdict(self) -> Verdict:
        if not self.final.ok:
            return "fail"
        return "degraded" if self.reasons() else "pass"

    def reasons(self) -> tuple[str, ...]:
        """Why the outcome is not a clean pass, in words for the page and the alert."""
        if not self.final.ok:
            return (self.final.failure_summary(),)
        reasons = []
        if len(self.attempts) > 1:
            reasons.append(f"passed on attempt {len(self.attempts)} (retry needed)")
        reasons += [
            f"slow step {s.name}: {s.duration_ms:.0f} ms of its {s.budget_ms:.0f} ms budget"
            for s in self.final.steps
            if s.slow(self.slow_fraction) and s.budget_ms is not None
        ]
        return tuple(reasons)


@dataclass(frozen=True, slots=True, kw_only=True)
class ProbeResult:
    """One cheap HTTP probe (the health function, a queue health view)."""

    name: str
    status: HealthStatus
    detail: str = ""
    duration_ms: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Observation:
    """What one run says about one check (a journey, or the platform's health)."""

    check: str
    verdict: Verdict
    reasons: tuple[str, ...] = ()


def journey_observation(outcome: JourneyOutcome) -> Observation:
    return Observation(check=outcome.name, verdict=outcome.verdict, reasons=outcome.reasons())


def health_observation(probes: tuple[ProbeResult, ...]) -> Observation:
    """The worst probe decides: any `down` fails the health check, any `degraded` degrades it."""
    verdict: Verdict = "pass"
    reasons = []
    for probe in probes:
        probe_verdict = HEALTH_VERDICT[probe.status]
        if probe_verdict != "pass":
            reasons.append(f"{probe.name} {probe.status}" + (f": {probe.detail}" if probe.detail else ""))
        if VERDICT_RANK[probe_verdict] > VERDICT_RANK[verdict]:
            verdict = probe_verdict
    return Observation(check=HEALTH_CHECK, verdict=verdict, reasons=tuple(reasons))


@dataclass(frozen=True, slots=True, kw_only=True)
class RunRecord:
    """Everything one monitor run saw, as history stores it."""

    started_at: float
    finished_at: float
    target: str
    outcomes: tuple[JourneyOutcome, ...] = ()
    probes: tuple[ProbeResult, ...] = ()
    colour: Colour = "green"
    skipped_slots: int = 0
    notes: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        """No journey failed and the platform was not down (what uptime counts)."""
        return all(o.ok for o in self.outcomes) and all(p.status != "down" for p in self.probes)
