"""Suite-wide guards."""

from __future__ import annotations

import asyncio

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Fail fast, naming the cause, when an earlier test left an event loop running in this thread.

    Playwright's sync API keeps an asyncio loop running while it is open; a fixture that holds it
    past its module makes every later `asyncio.run()` fail far from the cause.
    """
    if asyncio._get_running_loop() is not None:
        pytest.fail(
            "an asyncio loop is running in the main thread before this test: a fixture of an earlier "
            "module left one open (e.g. Playwright's sync API held at session scope)",
            pytrace=False,
        )
