"""Every journey passes against the embedded stack, in headless Chromium."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from gauntlet.journeys.framework import JourneyResult
from gauntlet.journeys.runner import JOURNEYS, run_journey

if TYPE_CHECKING:
    from playwright.sync_api import Browser

    from gauntlet.stack.state import StackState

pytestmark = [pytest.mark.integration, pytest.mark.browser, pytest.mark.timeout(180)]


def explain(result: JourneyResult) -> str:
    lines = [f"{result.name}: {result.error}"]
    lines += [f"  {s.name}: {s.status} {s.duration_ms:.0f}/{s.budget_ms} ms {s.error or ''}" for s in result.steps]
    lines += [f"  console: {line}" for line in result.console_errors[:10]]
    lines.append(f"  artifacts: {result.artifacts_dir}")
    return "\n".join(lines)


@pytest.mark.parametrize("name", list(JOURNEYS))
def test_journey_passes(name: str, journey_stack: StackState, browser: Browser, tmp_path: Path) -> None:
    result = run_journey(
        name, target=journey_stack.api_url, artifacts_dir=tmp_path, browser=browser,
        service_key=journey_stack.service_key,
    )  # fmt: skip
    assert result.ok, explain(result)
    assert [s.status for s in result.steps] == ["passed"] * len(result.steps)
    assert all(0 < s.duration_ms <= s.budget_ms for s in result.steps)
    assert result.duration_ms <= JOURNEYS[name].total_budget_ms
    # A passing run keeps its record but no failure evidence.
    run_dir = Path(result.artifacts_dir or "")
    assert json.loads((run_dir / "result.json").read_text())["ok"] is True
    assert not list(run_dir.glob("*.png")) and not (run_dir / "trace.zip").exists()


def test_signup_journey_works_without_the_service_key(
    journey_stack: StackState, browser: Browser, tmp_path: Path
) -> None:
    """Against a deployment whose service key the monitor lacks, the user notifies itself instead."""
    result = run_journey(
        "signup_to_notification", target=journey_stack.api_url, artifacts_dir=tmp_path, browser=browser
    )
    assert result.ok, explain(result)


def test_returning_user_reuses_its_account(journey_stack: StackState, browser: Browser, tmp_path: Path) -> None:
    first = run_journey("returning_user", target=journey_stack.api_url, artifacts_dir=tmp_path, browser=browser)
    accounts = json.loads((tmp_path / "accounts.json").read_text())
    second = run_journey("returning_user", target=journey_stack.api_url, artifacts_dir=tmp_path, browser=browser)
    assert first.ok and second.ok, explain(second if first.ok else first)
    assert json.loads((tmp_path / "accounts.json").read_text()) == accounts
