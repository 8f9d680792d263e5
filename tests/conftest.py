"""Suite-wide guards."""

from __future__ import annotations

import asyncio

import pytest

_previous_module: list[object] = [None]


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """At the first test of each module, fail naming the cause when an event loop is left running.

    Playwright's sync API keeps an asyncio loop running in this thread while it is open. Within
    one module that is fine (a module-scoped browser); a fixture that holds it past its module
    makes every later `asyncio.run()` fail far from the cause, so the check sits at module
    boundaries, after the previous module's fixtures were torn down.
    """
    module = getattr(item, "module", None)
    if module is _previous_module[0]:
        return
    _previous_module[0] = module
    if asyncio._get_running_loop() is not None:
        pytest.fail(
            "an asyncio loop is running in the main thread as this module starts: a fixture of an earlier "
            "module left one open (e.g. Playwright's sync API held at session scope)",
            pytrace=False,
        )
