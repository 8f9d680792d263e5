"""Suite-wide guards."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from tests.import_identity import SecondIdentityGuard, top_level_folders
from tests.parallel import duplicate_node_ids, file_or_folder_scheduler
from tests.tiers import CollectedTest, missing_markers_message, missing_tier_markers

_previous_module: list[object] = [None]

# `import load.shapes` (a second copy of gauntlet.load.shapes) fails for the whole session.
sys.meta_path.insert(0, SecondIdentityGuard(top_level_folders()))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """Under `--dist loadfile` (`./dev test`'s parallel run): by file, a few folders whole (tests/parallel.py)."""
    if config.getvalue("dist") != "loadfile":
        return None
    return file_or_folder_scheduler(config, log)


@pytest.hookimpl(trylast=True)  # after the folders' own hooks (tests/fuzz/conftest.py gives its tests their ids)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Stop the run when a test lacks its tier's marker (tests/tiers.py) or shares its node id, naming them."""
    tests_root = Path(__file__).parent
    collected = (
        CollectedTest(item.nodeid, item.path, frozenset(m.name for m in item.iter_markers())) for item in items
    )
    missing = missing_tier_markers(collected, tests_root)
    if missing:
        raise pytest.UsageError(missing_markers_message(missing, config.rootpath))
    duplicates = duplicate_node_ids(item.nodeid for item in items)
    if duplicates:
        raise pytest.UsageError(
            "tests share a node id (under `./dev test`'s xdist run only one of each would run); give each its own: "
            + ", ".join(duplicates)
        )


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
