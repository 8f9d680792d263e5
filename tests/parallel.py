"""How `./dev test` splits the suite between xdist workers (`-n 2 --dist loadfile`).

Each file is one work unit, so a module's tests keep their order and their module-scoped
fixtures in one worker. A folder in ONE_WORKER_FOLDERS is one unit as a whole: its tests share
session state across files (the fuzz tier's last test checks the count of every module's cases).
A folder rather than an `xdist_group` mark: schemathesis' test items keep their node id, so
xdist's `@group` suffix never reaches them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import pytest

ONE_WORKER_FOLDERS = ("tests/fuzz/",)


def xdist_scope(nodeid: str) -> str:
    """The work unit of a test: its folder when that is in ONE_WORKER_FOLDERS, else its file."""
    path = nodeid.split("::", 1)[0]
    for folder in ONE_WORKER_FOLDERS:
        if path.startswith(folder):
            return folder
    return path


def file_or_folder_scheduler(config: pytest.Config, log: object) -> object:
    """xdist's loadfile scheduler with xdist_scope as its unit."""
    from xdist.scheduler import LoadFileScheduling

    class FileOrFolderScheduling(LoadFileScheduling):  # type: ignore[misc]  # xdist ships no type information
        def _split_scope(self, nodeid: str) -> str:
            return xdist_scope(nodeid)

    return FileOrFolderScheduling(config, log)


def duplicate_node_ids(nodeids: Iterable[str]) -> list[str]:
    """Node ids held by more than one test: xdist's file scheduler would run only one of each."""
    return sorted(nodeid for nodeid, count in Counter(nodeids).items() if count > 1)
