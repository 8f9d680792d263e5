"""Every journey by name (the built-ins, journey files shipped in builtin/), and `select` for names and file paths."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from gauntlet.base.errors import GauntletError
from gauntlet.journeys.files import JourneyFileError, is_file_spec, load_file
from gauntlet.journeys.framework import Journey

BUILTIN_DIR = Path(__file__).parent / "builtin"
BUILTIN_FILES = ("signup_to_notification.py", "returning_user.py", "seller.py")  # the catalog's order
EXAMPLE_FILE = "examples/journeys/shop_visit.py"


class UnknownJourney(GauntletError):
    """A journey name that is not in the catalog (and not a file)."""


def _builtins() -> dict[str, Journey]:
    return {journey.name: journey for file in BUILTIN_FILES for journey in load_file(str(BUILTIN_DIR / file))}


JOURNEYS: dict[str, Journey] = _builtins()


def select(specs: Sequence[str], *, single: bool = False) -> list[Journey]:
    """The journeys `specs` name: built-ins by name, files by path (`PATH` or `PATH::test_name`).

    Raises UnknownJourney or JourneyFileError (exit 2) before anything runs. With `single`,
    each spec must make exactly one journey (a monitor's child runs one at a time).
    """
    chosen: list[Journey] = []
    unknown: list[str] = []
    for spec in specs:
        if is_file_spec(spec):
            found = load_file(spec)
            if single and len(found) != 1:
                tests = ", ".join(j.source.rsplit("::", 1)[1] for j in found)
                raise JourneyFileError(f"{spec}: holds {len(found)} journeys ({tests}); pick one as {spec}::test_name")
            chosen += found
        elif spec in JOURNEYS:
            chosen.append(JOURNEYS[spec])
        else:
            unknown.append(spec)
    if unknown:
        raise UnknownJourney(
            f"no journey named {', '.join(map(repr, unknown))}; journeys: {', '.join(JOURNEYS)}, "
            f"or the path of a journey file (e.g. {EXAMPLE_FILE})"
        )
    names = [j.name for j in chosen]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise UnknownJourney(f"the journey {twice[0]!r} is named twice (each journey runs once per command); drop one")
    return chosen
