"""A journey fails, with its evidence saved, when the page it checks is broken.

Each test restarts the stack's API with one web fault switch on (see
platform/settings.py, fault_web_*), runs the journey that guards that
behaviour, and checks that it failed at the right step with a screenshot,
the console errors and a Playwright trace on disk. The switch is turned off
again afterwards.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from gauntlet.journeys.framework import JourneyResult
from gauntlet.journeys.runner import run_journey
from tests.integration.journeys.apisettings import RAISED_LIMITS, api_settings

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = [pytest.mark.integration, pytest.mark.browser, pytest.mark.timeout(240)]

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def assert_failed_with_evidence(result: JourneyResult, step: str, message_part: str) -> None:
    assert not result.ok
    failed = result.failed_step
    assert failed is not None and failed.name == step, [(s.name, s.status, s.error) for s in result.steps]
    assert failed.error is not None and message_part in failed.error, failed.error
    assert result.error is not None and step in result.error
    # Everything after the failure is skipped, everything before it passed.
    index = [s.name for s in result.steps].index(step)
    assert all(s.status == "passed" for s in result.steps[:index])
    assert all(s.status == "skipped" for s in result.steps[index + 1 :])
    assert failed.screenshot is not None and Path(failed.screenshot).read_bytes().startswith(PNG_MAGIC)
    assert failed.trace is not None
    with zipfile.ZipFile(failed.trace) as trace:
        assert any(name.endswith(".trace") for name in trace.namelist())
    run_dir = Path(result.artifacts_dir or "")
    assert (run_dir / "console-errors.txt").exists()
    assert (run_dir / "result.json").exists()


def test_feed_showing_carted_items_fails_the_cart_step(
    gauntlet_stack_dir: Path, browser: Browser, tmp_path: Path
) -> None:
    env = {**RAISED_LIMITS, "GAUNTLET_FAULT_WEB_NO_CART_SUPPRESSION": "true"}
    with api_settings(gauntlet_stack_dir, env) as stack:
        result = run_journey(
            "signup_to_notification", target=stack.api_url, artifacts_dir=tmp_path, browser=browser,
            service_key=stack.service_key,
        )  # fmt: skip
    assert_failed_with_evidence(result, "cart_suppressed_in_feed", "still shows in the home feed")


def test_bell_badge_that_never_updates_fails_the_live_badge_step(
    gauntlet_stack_dir: Path, browser: Browser, tmp_path: Path
) -> None:
    env = {**RAISED_LIMITS, "GAUNTLET_FAULT_WEB_NO_LIVE_BADGE": "true"}
    with api_settings(gauntlet_stack_dir, env) as stack:
        result = run_journey(
            "signup_to_notification", target=stack.api_url, artifacts_dir=tmp_path, browser=browser,
            service_key=stack.service_key,
        )  # fmt: skip
    assert_failed_with_evidence(result, "notification_live_badge", "bell badge did not rise")


def test_an_unreachable_target_fails_the_first_step_with_evidence(browser: Browser, tmp_path: Path) -> None:
    """Nothing listening at the target: the first step fails at once (no hang), and later ones are skipped."""
    result = run_journey("signup_to_notification", target="http://127.0.0.1:9", artifacts_dir=tmp_path, browser=browser)
    assert not result.ok
    failed = result.failed_step
    assert failed is not None and failed is result.steps[0]
    assert failed.error is not None and "refused" in failed.error.lower(), failed.error
    assert failed.trace is not None and Path(failed.trace).exists()
    assert all(s.status == "skipped" for s in result.steps[1:])
