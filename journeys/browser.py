"""Which Chromium journeys drive, and how it is launched.

Debian's `/usr/bin/chromium` when present (no download, the distribution
keeps it patched), else the Chromium Playwright manages
(`playwright install chromium`). The flags keep a synthetic monitor quiet and
deterministic: no sandbox (containers run as root), no GPU, no background
traffic of its own (updates, sync, QUIC) that would mix with what we measure.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gauntlet.base.errors import EnvironmentProblem
from gauntlet.settings import harness_settings

if TYPE_CHECKING:
    from playwright.async_api import Browser as AsyncBrowser
    from playwright.async_api import Playwright as AsyncPlaywright
    from playwright.sync_api import Browser, Playwright

SYSTEM_CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS: tuple[str, ...] = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
)
# GAUNTLET_CHROMIUM names another binary (a CI image's Chrome, say).
CHROMIUM_ENV = "GAUNTLET_CHROMIUM"


def find_chromium() -> Path | None:
    """The system Chromium to use, or None to fall back to Playwright's own."""
    given = harness_settings().chromium
    if given:
        path = Path(given) if "/" in given else Path(shutil.which(given) or given)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise EnvironmentProblem(f"{CHROMIUM_ENV}={given!r} is not an executable file; unset it or fix the path")
        return path
    if SYSTEM_CHROMIUM.is_file() and os.access(SYSTEM_CHROMIUM, os.X_OK):
        return SYSTEM_CHROMIUM
    return None


def launch_options(headed: bool) -> dict[str, Any]:
    """`chromium.launch(**options)` for the sync and the async API alike."""
    executable = find_chromium()
    return {
        "executable_path": str(executable) if executable else None,
        "headless": not headed,
        "args": list(LAUNCH_ARGS),
    }


def launch(playwright: Playwright, *, headed: bool = False) -> Browser:
    """Start Chromium; an EnvironmentProblem (exit 2) names the fix when there is none to start."""
    from playwright.sync_api import Error as PlaywrightError

    options = launch_options(headed)
    try:
        return playwright.chromium.launch(**options)
    except PlaywrightError as exc:
        raise launch_problem(exc, options, headed) from exc


async def launch_async(playwright: AsyncPlaywright, *, headed: bool = False) -> AsyncBrowser:
    """`launch` for an async journey (the async API's own Chromium, in its own event loop)."""
    from playwright.async_api import Error as PlaywrightError

    options = launch_options(headed)
    try:
        return await playwright.chromium.launch(**options)
    except PlaywrightError as exc:
        raise launch_problem(exc, options, headed) from exc


def launch_problem(exc: Exception, options: dict[str, Any], headed: bool) -> EnvironmentProblem:
    """Why Chromium did not start, and the fix."""
    executable = options["executable_path"]
    where = str(executable) if executable else "Playwright's managed Chromium"
    hint = (
        "install Chromium (apt-get install -y chromium) or run `playwright install chromium`"
        if executable is None
        else f"check that {executable} runs (`{executable} --version`)"
    )
    if headed and not harness_settings().display:
        hint = "--headed needs a display (DISPLAY is unset); run without --headed or under xvfb-run"
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return EnvironmentProblem(f"cannot start Chromium ({where}): {first_line}; {hint}")
