"""Journeys in a real headless Chromium against the embedded stack.

The stack is the session's `gauntlet_stack`; for these tests its API runs with
the edge rate limits raised (every journey signs users up from one loopback
address), and any other setting a test changes (a web fault switch) is put
back afterwards, so tests never leak a broken page into each other.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from gauntlet.stack.state import StackState
from tests.integration.journeys.apisettings import RAISED_LIMITS, api_settings

if TYPE_CHECKING:
    from playwright.sync_api import Browser


@pytest.fixture(scope="module")
def journey_stack(gauntlet_stack_dir: Path) -> Iterator[StackState]:
    with api_settings(gauntlet_stack_dir, RAISED_LIMITS) as state:
        yield state


# Module scope, not session: Playwright's sync API runs an asyncio loop in this thread while it
# is open, and any later test (or fixture) that starts its own loop would find one "running".
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    from gauntlet.journeys.browser import launch

    with sync_playwright() as playwright:
        launched = launch(playwright)
        try:
            yield launched
        finally:
            launched.close()
