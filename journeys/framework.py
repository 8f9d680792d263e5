"""What a journey is, what a run of one records, and the pure timing rules that judge it.

A journey is a Playwright test function (journeys/files.py loads it from a file)
whose named steps are `with journey.step(name, budget_ms=...)` blocks, plus a
budget for the whole journey. Steps run in order; a step fails when it raises
or when it takes longer than its budget, and the journey then stops (a journey
is a user's path: after a broken step the rest would only report noise). The
rules here do no I/O, so they are unit-tested exhaustively; the runner
(journeys/runner.py) drives the browser and applies them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

StepStatus = Literal["passed", "failed", "skipped"]

# A Playwright wait shorter than this is not worth starting: the step is judged over budget instead.
MIN_ACTION_TIMEOUT_MS = 250


class JourneyCheckFailed(AssertionError):
    """A page did not show what the journey expects (the message says what, and what was seen)."""


class JourneyStopped(AssertionError):
    """Raised into a journey's test to end it: a step ran over its budget, or no budget is left for the next."""


class StepMisuse(RuntimeError):
    """A journey file uses `journey.step` in a way that cannot be timed (nested steps, a budget that is no budget)."""


@dataclass(frozen=True, slots=True)
class Journey:
    """One test function of a journey file: what to call, with which fixtures, within which budget."""

    name: str
    description: str
    total_budget_ms: int
    test: Callable[..., Any]  # a `def test_...(page, journey)`, or an `async def` one
    fixtures: tuple[str, ...]  # the test's parameters, by name (journeys/files.py checks them)
    source: str  # how to load it again (a child process does): "PATH::test_name"
    is_async: bool = False
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


def skipped(name: str, budget_ms: int) -> StepResult:
    return StepResult(name, False, "skipped", 0.0, budget_ms)


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


class StepRecorder:
    """Times a journey's `with journey.step(...)` blocks against their budgets, and records each verdict.

    `on_step(name, timeout_ms)` hears each step as it starts, with how long one browser wait in it
    may take (the runner sets Playwright's default timeouts from it). `clock` is in seconds.
    """

    def __init__(
        self,
        journey: str,
        total_budget_ms: int,
        *,
        on_step: Callable[[str, int], None],
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.journey = journey
        self.total_budget_ms = total_budget_ms
        self.on_step = on_step
        self.clock = clock
        self.results: list[StepResult] = []
        self.began = clock()
        self.last_end = self.began
        self.current: str | None = None

    def elapsed_ms(self) -> float:
        return (self.clock() - self.began) * 1000

    @contextlib.contextmanager
    def step(self, name: str, budget_ms: int | None = None) -> Iterator[None]:
        budget = self.total_budget_ms if budget_ms is None else budget_ms
        if self.current is not None:
            raise StepMisuse(f"journey.step({name!r}) inside step {self.current!r}: steps do not nest")
        if isinstance(budget, bool) or not isinstance(budget, int) or budget <= 0:
            raise StepMisuse(f"journey.step({name!r}, budget_ms={budget_ms!r}): the budget is a whole number of ms > 0")
        broken = next((s for s in self.results if not s.ok), None)
        if broken is not None:  # the test caught the failure and went on: the rest is noise
            self.results.append(skipped(name, budget))
            raise JourneyStopped(f"step {name!r} skipped: step {broken.name!r} already failed")
        elapsed = self.elapsed_ms()
        if not total_budget_left(self.total_budget_ms, elapsed):
            self.results.append(skipped(name, budget))
            raise JourneyStopped(f"total budget of {self.total_budget_ms} ms ran out before step {name!r}")
        self.on_step(name, action_timeout_ms(budget, self.total_budget_ms, elapsed))
        self.current = name
        began = self.clock()
        try:
            yield
        except Exception as exc:  # a failed step is a result, whatever the page threw; the test stops too
            self.results.append(judge_step(name, (self.clock() - began) * 1000, budget, describe(exc)))
            raise
        finally:
            self.current = None
            self.last_end = self.clock()
        outcome = judge_step(name, (self.last_end - began) * 1000, budget, None)
        self.results.append(outcome)
        if not outcome.ok:
            raise JourneyStopped(outcome.error)

    def finish(self, error: BaseException | None) -> list[StepResult]:
        """The steps once the test returned (`error` None) or raised `error`.

        Code outside every step counts as a step named after the journey when it is all there is
        (a plain Playwright test, without steps) or when it is what raised.
        """
        steps = list(self.results)
        if error is not None and all(s.ok for s in steps):
            duration = (self.clock() - self.last_end) * 1000
            steps.append(judge_step(self.journey, duration, self.total_budget_ms, describe(error)))
        elif error is None and not steps:
            steps.append(judge_step(self.journey, self.elapsed_ms(), self.total_budget_ms, None))
        return steps
