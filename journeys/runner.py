"""Run a journey in Chromium: call its test with its fixtures, time each step, keep the evidence of a failure.

    from gauntlet.journeys.runner import JOURNEYS, run_journey
    result = run_journey("signup_to_notification", target="http://127.0.0.1:8000", artifacts_dir=Path("out"))
    result = run_journey("examples/journeys/shop_visit.py", target=..., artifacts_dir=Path("out"))

Every run gets its own directory under `artifacts_dir` (`<name>-<UTC time>-<id>/`)
holding `result.json`; a failed run also holds a screenshot of the failing
step's page, the console errors and a Playwright trace (`playwright show-trace
trace.zip`). The trace records the whole run (screenshots and DOM snapshots),
so the steps that led to the failure are in it too; it is written to disk only
when the run failed.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import datetime as dt
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from gauntlet.journeys.accounts import AccountStore, PlatformClient
from gauntlet.journeys.browser import launch, launch_async
from gauntlet.journeys.catalog import JOURNEYS, UnknownJourney, select
from gauntlet.journeys.fixture import JourneyRun
from gauntlet.journeys.framework import Journey, JourneyResult, StepRecorder, StepResult, journey_verdict
from gauntlet.journeys.session import JourneySession

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

__all__ = ["JOURNEYS", "UnknownJourney", "run_journey"]

VIEWPORT_WIDTH, VIEWPORT_HEIGHT = 1280, 900
HTTP_TIMEOUT_S = 10.0


def get_journey(name: str) -> Journey:
    """A built-in journey by name, or the one journey a file spec (`PATH` or `PATH::test_name`) makes."""
    [journey] = select([name], single=True)
    return journey


def run_journey(
    name: str | Journey,
    *,
    target: str,
    artifacts_dir: Path,
    headed: bool = False,
    browser: Browser | None = None,
    service_key: str | None = None,
    on_step: Callable[[str], None] | None = None,
) -> JourneyResult:
    """Run one journey (a built-in's name, a file spec, or a loaded Journey) against `target` and return what happened.

    `target` is the platform's base URL. `browser` reuses a Chromium the caller launched (and
    closes) for a sync journey; otherwise one is launched and closed here (an async journey
    always launches its own, in its own event loop). `service_key` lets journeys act as the
    platform's backend where they can (sending the notification a journey waits for). Raises
    UnknownJourney, JourneyFileError or EnvironmentProblem (no Chromium); everything that goes
    wrong in the page is a failed step in the result instead. `on_step` hears each step's name
    as it begins (for a live view).
    """
    journey = name if isinstance(name, Journey) else get_journey(name)
    started_at = dt.datetime.now(dt.UTC)
    run_dir = artifacts_dir / f"{journey.name}-{started_at:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"
    run_dir.mkdir(parents=True, exist_ok=True)
    with httpx.Client(base_url=target.rstrip("/"), timeout=HTTP_TIMEOUT_S) as http:
        where = Where(target, run_dir, PlatformClient(http), AccountStore(artifacts_dir / "accounts.json"), service_key)
        if journey.is_async:
            # Playwright's sync API keeps an event loop running in this thread: the async test gets a thread of its own.
            with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="journey") as pool:
                ran = pool.submit(asyncio.run, _run_async(journey, where, headed, on_step or _quiet)).result()
        else:
            with contextlib.ExitStack() as stack:
                if browser is None:
                    from playwright.sync_api import sync_playwright

                    playwright = stack.enter_context(sync_playwright())
                    browser = launch(playwright, headed=headed)
                    stack.callback(browser.close)
                ran = _run_sync(journey, browser, where, on_step or _quiet)
    result = JourneyResult(
        name=journey.name,
        ok=ran.ok,
        started_at=started_at,
        duration_ms=round(ran.duration_ms, 1),
        total_budget_ms=journey.total_budget_ms,
        target=target,
        steps=ran.steps,
        console_errors=ran.console_errors,
        error=ran.why,
        artifacts_dir=str(run_dir),
    )
    if not ran.ok:
        (run_dir / "console-errors.txt").write_text("\n".join(ran.console_errors) + "\n", encoding="utf-8")
    (run_dir / "result.json").write_text(json.dumps(result.to_json(), indent=2), encoding="utf-8")
    return result


@dataclass(frozen=True, slots=True)
class Where:
    """What a run acts on besides the browser."""

    target: str
    run_dir: Path
    platform: PlatformClient
    accounts: AccountStore
    service_key: str | None


@dataclass(slots=True)
class Ran:
    """A finished test, judged: its steps (the failing one with its evidence) and the journey's verdict."""

    steps: list[StepResult]
    ok: bool
    why: str | None
    duration_ms: float
    console_errors: list[str] = field(default_factory=list)

    def evidence_for(self) -> tuple[int, StepResult] | None:
        """The step a failure's screenshot belongs to: the one that failed (numbered from 1), if any."""
        return next(((i, s) for i, s in enumerate(self.steps, start=1) if s.status == "failed"), None)

    def blamed(self) -> StepResult | None:
        """The step a failure's trace belongs to: the failed one or, when the total ran out, the last that ran."""
        found = self.evidence_for()
        return found[1] if found else _last_run(self.steps)


def _judge(journey: Journey, recorder: StepRecorder, error: BaseException | None, console: list[str]) -> Ran:
    steps = recorder.finish(error)
    duration_ms = recorder.elapsed_ms()
    ok, why = journey_verdict(steps, duration_ms, journey.total_budget_ms)
    return Ran(steps, ok, why, duration_ms, console)


def _fixtures(journey: Journey, offered: dict[str, object]) -> dict[str, object]:
    return {name: offered[name] for name in journey.fixtures}


def _run_sync(journey: Journey, browser: Browser, where: Where, on_step: Callable[[str], None]) -> Ran:
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": VIEWPORT_WIDTH, "height": VIEWPORT_HEIGHT})
    try:
        console_errors: list[str] = []
        _capture_console(context, console_errors)
        context.tracing.start(screenshots=True, snapshots=True, title=journey.name)
        page = context.new_page()
        session = JourneySession(
            page=page, context=context, target=where.target, platform=where.platform, accounts=where.accounts,
            run_dir=where.run_dir, service_key=where.service_key,
        )  # fmt: skip

        def set_timeouts(timeout_ms: int) -> None:
            session.timeout_ms = timeout_ms
            context.set_default_timeout(timeout_ms)
            context.set_default_navigation_timeout(timeout_ms)
            expect.set_options(timeout=timeout_ms)

        def step_started(name: str, timeout_ms: int) -> None:
            set_timeouts(timeout_ms)
            on_step(name)

        set_timeouts(journey.total_budget_ms)  # code outside every step: the whole journey's budget
        recorder = StepRecorder(journey.name, journey.total_budget_ms, on_step=step_started)
        run = JourneyRun(
            recorder, where.target, where.run_dir, where.platform, where.accounts, where.service_key, session
        )
        offered: dict[str, object] = {
            "page": page, "context": context, "browser": browser, "base_url": where.target, "journey": run,
        }  # fmt: skip
        error: BaseException | None = None
        try:
            journey.test(**_fixtures(journey, offered))
        except Exception as exc:  # a failed journey is a result, whatever its test threw
            error = exc
        ran = _judge(journey, recorder, error, console_errors)
        on_step("passed" if ran.ok else f"failed: {ran.why}")
        found = ran.evidence_for()
        if found is not None:
            index, step = found
            step.screenshot = _screenshot(page, where.run_dir / f"{index:02d}-{step.name}.png")
        trace = _stop_tracing(context, None if ran.ok else where.run_dir / "trace.zip")
        blamed = None if ran.ok else ran.blamed()
        if blamed is not None:
            blamed.trace = trace
        return ran
    finally:
        expect.set_options(timeout=None)  # Playwright's own default again, for whatever runs next in this process
        with contextlib.suppress(Exception):
            context.close()


async def _run_async(journey: Journey, where: Where, headed: bool, on_step: Callable[[str], None]) -> Ran:
    """`_run_sync` for an `async def` test, with Playwright's async API (the same steps, evidence and verdict)."""
    from playwright.async_api import async_playwright
    from playwright.async_api import expect as async_expect

    async with async_playwright() as playwright:
        browser = await launch_async(playwright, headed=headed)
        try:
            context = await browser.new_context(viewport={"width": VIEWPORT_WIDTH, "height": VIEWPORT_HEIGHT})
            console_errors: list[str] = []
            _capture_console(context, console_errors)
            await context.tracing.start(screenshots=True, snapshots=True, title=journey.name)
            page = await context.new_page()

            def set_timeouts(timeout_ms: int) -> None:
                context.set_default_timeout(timeout_ms)
                context.set_default_navigation_timeout(timeout_ms)
                async_expect.set_options(timeout=timeout_ms)

            def step_started(name: str, timeout_ms: int) -> None:
                set_timeouts(timeout_ms)
                on_step(name)

            set_timeouts(journey.total_budget_ms)  # code outside every step: the whole journey's budget
            recorder = StepRecorder(journey.name, journey.total_budget_ms, on_step=step_started)
            run = JourneyRun(recorder, where.target, where.run_dir, where.platform, where.accounts, where.service_key)
            offered: dict[str, object] = {
                "page": page, "context": context, "browser": browser, "base_url": where.target, "journey": run,
            }  # fmt: skip
            error: BaseException | None = None
            try:
                await journey.test(**_fixtures(journey, offered))
            except Exception as exc:  # a failed journey is a result, whatever its test threw
                error = exc
            ran = _judge(journey, recorder, error, console_errors)
            on_step("passed" if ran.ok else f"failed: {ran.why}")
            found = ran.evidence_for()
            if found is not None:
                index, step = found
                path = where.run_dir / f"{index:02d}-{step.name}.png"
                with contextlib.suppress(Exception):
                    await page.screenshot(path=str(path), full_page=True, timeout=5000)
                    step.screenshot = str(path)
            trace_path = where.run_dir / "trace.zip"
            trace: str | None = None
            with contextlib.suppress(Exception):
                await context.tracing.stop(path=None if ran.ok else str(trace_path))
                trace = None if ran.ok else str(trace_path)
            blamed = None if ran.ok else ran.blamed()
            if blamed is not None:
                blamed.trace = trace
            return ran
        finally:
            async_expect.set_options(timeout=None)
            await browser.close()


def _quiet(step: str) -> None:
    return None


def _capture_console(context: Any, sink: list[str]) -> None:
    """Collect the console's errors and uncaught page errors (a sync or an async BrowserContext)."""

    def on_console(message: Any) -> None:
        if message.type == "error":
            page = message.page
            sink.append(f"{page.url if page else '?'}: {message.text}")

    def on_web_error(error: Any) -> None:
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
