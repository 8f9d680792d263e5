"""Run a journey in Chromium: time each step, and keep the evidence of a failure.

    from gauntlet.journeys.runner import JOURNEYS, run_journey
    result = run_journey("signup_to_notification", target="http://127.0.0.1:8000", artifacts_dir=Path("out"))

Every run gets its own directory under `artifacts_dir` (`<name>-<UTC time>-<id>/`)
holding `result.json`; a failed run also holds a screenshot of the failing
step's page, the console errors and a Playwright trace (`playwright show-trace
trace.zip`). The trace records the whole run (screenshots and DOM snapshots),
so the steps that led to the failure are in it too; it is written to disk only
when the run failed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from gauntlet.base.errors import GauntletError
from gauntlet.journeys.accounts import AccountStore, PlatformClient
from gauntlet.journeys.browser import launch
from gauntlet.journeys.catalog import JOURNEYS
from gauntlet.journeys.framework import (
    Journey,
    JourneyResult,
    StepResult,
    action_timeout_ms,
    describe,
    journey_verdict,
    judge_step,
    skipped,
    total_budget_left,
)
from gauntlet.journeys.session import JourneySession

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, WebError

__all__ = ["JOURNEYS", "UnknownJourney", "run_journey"]

VIEWPORT_WIDTH, VIEWPORT_HEIGHT = 1280, 900
HTTP_TIMEOUT_S = 10.0


class UnknownJourney(GauntletError):
    """A journey name that is not in the catalog."""


def get_journey(name: str) -> Journey:
    journey = JOURNEYS.get(name)
    if journey is None:
        raise UnknownJourney(f"no journey named {name!r}; journeys: {', '.join(JOURNEYS)}")
    return journey


def run_journey(
    name: str,
    *,
    target: str,
    artifacts_dir: Path,
    headed: bool = False,
    browser: Browser | None = None,
    service_key: str | None = None,
    on_step: Callable[[str], None] | None = None,
) -> JourneyResult:
    """Run one journey against `target` (the platform's base URL) and return what happened.

    `browser` reuses a Chromium the caller launched (and closes); otherwise one is launched and
    closed here. `service_key` lets journeys act as the platform's backend where they can (sending
    the notification a journey waits for). Raises UnknownJourney or EnvironmentProblem (no
    Chromium); everything that goes wrong in the page is a failed step in the result instead.
    `on_step` hears each step's name as it begins (for a live view).
    """
    journey = get_journey(name)
    started_at = dt.datetime.now(dt.UTC)
    run_dir = artifacts_dir / f"{name}-{started_at:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"
    run_dir.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        if browser is None:
            from playwright.sync_api import sync_playwright

            playwright = stack.enter_context(sync_playwright())
            browser = launch(playwright, headed=headed)
            stack.callback(browser.close)
        context = browser.new_context(viewport={"width": VIEWPORT_WIDTH, "height": VIEWPORT_HEIGHT})
        stack.callback(context.close)
        http = stack.enter_context(httpx.Client(base_url=target.rstrip("/"), timeout=HTTP_TIMEOUT_S))
        result = _run(
            journey, context, http, target, artifacts_dir, run_dir, service_key, started_at, on_step or _quiet
        )
    (run_dir / "result.json").write_text(json.dumps(result.to_json(), indent=2), encoding="utf-8")
    return result


def _run(
    journey: Journey,
    context: BrowserContext,
    http: httpx.Client,
    target: str,
    artifacts_dir: Path,
    run_dir: Path,
    service_key: str | None,
    started_at: dt.datetime,
    on_step: Callable[[str], None],
) -> JourneyResult:
    console_errors: list[str] = []
    _capture_console(context, console_errors)
    context.tracing.start(screenshots=True, snapshots=True, title=journey.name)
    session = JourneySession(
        page=context.new_page(),
        context=context,
        target=target,
        platform=PlatformClient(http),
        accounts=AccountStore(artifacts_dir / "accounts.json"),
        run_dir=run_dir,
        service_key=service_key,
    )
    results: list[StepResult] = []
    began = time.perf_counter()
    for step in journey.build(session):
        elapsed_ms = (time.perf_counter() - began) * 1000
        if (results and not results[-1].ok) or not total_budget_left(journey.total_budget_ms, elapsed_ms):
            results.append(skipped(step))
            continue
        session.timeout_ms = action_timeout_ms(step.budget_ms, journey.total_budget_ms, elapsed_ms)
        context.set_default_timeout(session.timeout_ms)
        context.set_default_navigation_timeout(session.timeout_ms)
        on_step(step.name)
        step_began, error = time.perf_counter(), None
        try:
            step.run()
        except Exception as exc:  # a failed step is a result, whatever the page threw
            error = describe(exc)
        outcome = judge_step(step.name, (time.perf_counter() - step_began) * 1000, step.budget_ms, error)
        if not outcome.ok:
            outcome.screenshot = _screenshot(session.page, run_dir / f"{len(results) + 1:02d}-{step.name}.png")
        results.append(outcome)
    duration_ms = (time.perf_counter() - began) * 1000
    ok, why = journey_verdict(results, duration_ms, journey.total_budget_ms)
    on_step("passed" if ok else f"failed: {why}")
    trace = _stop_tracing(context, None if ok else run_dir / "trace.zip")
    if not ok:
        # The trace belongs to the step that failed (or, when the total ran out, to the last one that ran).
        blamed = next((s for s in results if s.status == "failed"), None) or _last_run(results)
        if blamed is not None:
            blamed.trace = trace
        (run_dir / "console-errors.txt").write_text("\n".join(console_errors) + "\n", encoding="utf-8")
    return JourneyResult(
        name=journey.name,
        ok=ok,
        started_at=started_at,
        duration_ms=round(duration_ms, 1),
        total_budget_ms=journey.total_budget_ms,
        target=target,
        steps=results,
        console_errors=console_errors,
        error=why,
        artifacts_dir=str(run_dir),
    )


def _quiet(step: str) -> None:
    return None


def _capture_console(context: BrowserContext, sink: list[str]) -> None:
    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            page = message.page
            sink.append(f"{page.url if page else '?'}: {message.text}")

    def on_web_error(error: WebError) -> None:
        page = error.page
        sink.append(f"{page.url if page else '?'}: uncaught {error.error}")

    context.on("console", on_console)
    context.on("weberror", on_web_error)


def _screenshot(page: Page, path: Path) -> str | None:
    # A crashed page cannot be photographed; the step's error already says what happened.
    with contextlib.suppress(Exception):
        page.screenshot(path=str(path), full_page=True, timeout=5000)
        return str(path)
    return None


def _stop_tracing(context: BrowserContext, path: Path | None) -> str | None:
    with contextlib.suppress(Exception):
        if path is None:
            context.tracing.stop()
            return None
        context.tracing.stop(path=str(path))
        return str(path)
    return None


def _last_run(results: list[StepResult]) -> StepResult | None:
    ran = [s for s in results if s.status != "skipped"]
    return ran[-1] if ran else None
