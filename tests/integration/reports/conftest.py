"""The report tests' Chromium: one per module, launched as the journeys launch it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright

from gauntlet.base.errors import EnvironmentProblem
from gauntlet.journeys.browser import launch


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # The journeys' launcher: /usr/bin/chromium (or GAUNTLET_CHROMIUM) with the flags this machine needs,
    # else Playwright's own browser.
    with sync_playwright() as playwright:
        try:
            launched = launch(playwright)
        except EnvironmentProblem as exc:  # fail, never skip: `./dev test` installs Chromium
            pytest.fail(str(exc))
        try:
            yield launched
        finally:
            launched.close()
