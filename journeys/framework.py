"""What a journey is, what a run of one records, and the pure timing rules that judge it.

A journey is a list of named steps, each with a time budget, plus a budget for
the whole journey. Steps run in order; a step fails when it raises or when it
takes longer than its budget, and every later step is then skipped (a journey
is a user's path: after a broken step the rest would only report noise). The
rules here do no I/O, so they are unit-tested exhaustively; the runner
(journeys/runner.py) drives the browser and applies them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol

StepStatus = Literal["passed", "failed", "skipped"]

# A Playwright wait shorter than this is not worth starting: the step is judged over budget instead.
MIN_ACTION_TIMEOUT_MS = 250


class JourneyCheckFailed(AssertionError):
    """A page did not show what the journey expects (the message says what, and what was seen)."""


@dataclass(frozen=True, slots=True)
class Step:
    """One named step: `run` does the user's actions and checks; it must finish within `budget_ms`."""

    name: str
    run: Callable[[], None]
    budget_ms: int


class StepsFactory(Protocol):
    """Builds a journey's steps for one run, bound to that run's browser session."""

    def __call__(self, session: Any) -> Sequence[Step]: ...


@dataclass(frozen=True, slots=True)
class Journey:
    name: str
    description: str
    total_budget_ms: int
    build: StepsFactory
    # It signs a new user up on every run (by design): never run in a loop against a target.
    signs_up_every_run: bool = False


@dataclass(slots=True)
class StepResult:
    name: str
    ok: bool
    status: StepStatus
    duration_ms: float
    budget_ms: int
    error: str | None = None
    screenshot: str | None = None
    trace: str | None = None


@dataclass(slots=True)
class JourneyResult:
    name: str
    ok: bool
    started_at: dt.datetime
    duration_ms: float
    total_budget_ms: int
    target: str
    steps: list[StepResult] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    error: str | None = None  # why the journey failed, in one line (the first failing step's reason)
    artifacts_dir: str | None = None

    @property
    def failed_step(self) -> StepResult | None:
        return next((s for s in self.steps if s.status == "failed"), None)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["started_at"] = self.started_at.isoformat()
        return data


def action_timeout_ms(step_budget_ms: int, total_budget_ms: int, elapsed_total_ms: float) -> int:
    """How long one browser wait inside a step may take: the step's budget, capped by what is left of the total."""
    remaining_total = total_budget_ms - elapsed_total_ms
    return max(MIN_ACTION_TIMEOUT_MS, int(min(step_budget_ms, remaining_total)))


def total_budget_left(total_budget_ms: int, elapsed_total_ms: float) -> bool:
    """Whether another step may start: some of the journey's budget must remain."""
    return elapsed_total_ms < total_budget_ms


def judge_step(name: str, duration_ms: float, budget_ms: int, error: str | None) -> StepResult:
    """A finished step's verdict: it failed if it raised, else if it ran over its budget."""
    if error is not None:
        return StepResult(name, False, "failed", duration_ms, budget_ms, error)
    if duration_ms > budget_ms:
        over = f"step took {duration_ms:.0f} ms, over its budget of {budget_ms} ms"
        return StepResult(name, False, "failed", duration_ms, budget_ms, over)
    return StepResult(name, True, "passed", duration_ms, budget_ms)


def skipped(step: Step) -> StepResult:
    return StepResult(step.name, False, "skipped", 0.0, step.budget_ms)


def journey_verdict(steps: Sequence[StepResult], duration_ms: float, total_budget_ms: int) -> tuple[bool, str | None]:
    """The journey passes when every step passed and the whole run stayed within its total budget."""
    failed = next((s for s in steps if s.status == "failed"), None)
    if failed is not None:
        return False, f"step {failed.name!r} failed: {failed.error}"
    if any(s.status == "skipped" for s in steps):
        first = next(s for s in steps if s.status == "skipped")
        return False, f"total budget of {total_budget_ms} ms ran out before step {first.name!r}"
    if duration_ms > total_budget_ms:
        return False, f"journey took {duration_ms:.0f} ms, over its total budget of {total_budget_ms} ms"
    return True, None


def describe(error: BaseException, max_lines: int = 4) -> str:
    """An exception as a short readable message: Playwright's carry long call logs, the first lines suffice."""
    text = str(error).strip() or type(error).__name__
    lines = [line.strip() for line in text.splitlines() if line.strip() and line.strip() != "Call log:"]
    head = " | ".join(lines[:max_lines])
    name = type(error).__name__
    if isinstance(error, JourneyCheckFailed) or head.startswith(name):
        return head
    return f"{name}: {head}"
