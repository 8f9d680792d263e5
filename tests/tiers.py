"""Every test carries the marker of its tier: the folder under tests/ it lives in.

`-m "not integration"` (or `-m docker`) selects tiers by marker, and the Docker tier's conftest
skips by marker, so a test in tests/integration without `integration` runs where the stack is
not wanted, and one in tests/docker without `docker` runs where no engine is. tests/conftest.py
checks this at collection and stops the run naming each module that lacks its marker.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

# The folder under tests/ -> the marker each of its tests must carry (tests/unit and
# tests/conformance have no tier marker: they always run).
TIER_OF_FOLDER = {"integration": "integration", "acceptance": "acceptance", "docker": "docker", "fuzz": "fuzz"}


@dataclass(frozen=True, slots=True)
class CollectedTest:
    nodeid: str
    path: Path
    markers: frozenset[str]


def tier_of(path: Path, tests_root: Path) -> str | None:
    """The marker a test file under `tests_root` must carry, or None when its folder has no tier."""
    try:
        parts = path.relative_to(tests_root).parts
    except ValueError:
        return None
    return TIER_OF_FOLDER.get(parts[0]) if len(parts) > 1 else None


def missing_tier_markers(tests: Iterable[CollectedTest], tests_root: Path) -> dict[Path, str]:
    """Each test file with a test that lacks its tier's marker -> that marker."""
    missing: dict[Path, str] = {}
    for test in tests:
        tier = tier_of(test.path, tests_root)
        if tier is not None and tier not in test.markers:
            missing[test.path] = tier
    return missing


def missing_markers_message(missing: dict[Path, str], root: Path) -> str:
    lines = [f"{len(missing)} test module(s) lack their tier marker (the folder under tests/ is the tier):"]
    for path, tier in sorted(missing.items()):
        shown = path.relative_to(root) if path.is_relative_to(root) else path
        lines.append(f"  {shown}: add `pytestmark = pytest.mark.{tier}` (or add it to the module's pytestmark list)")
    return "\n".join(lines)
