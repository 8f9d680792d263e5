"""Declaring acceptance checks: `@check(...)` on an async function that raises CheckFailed when a rule breaks.

A check is black-box: it takes a `Surface` (the platform's public HTTP surface,
plus a direct database connection only when `needs=("dsn",)` says so) and
either returns (the rule held) or raises `CheckFailed` with a sentence a person
can act on: what was done, what was seen, what the seeds promise.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, NoReturn

from gauntlet.base.errors import GauntletError

if TYPE_CHECKING:
    from gauntlet.acceptance.surface import Surface

Need = Literal["dsn"]
CheckFn = Callable[["Surface"], Awaitable[None]]
_ID = re.compile(r"^[a-z]+(\.[a-z0-9_]+)+$")
DEFAULT_TIMEOUT_S = 30.0


class CheckFailed(Exception):
    """The rule did not hold; the message says what was done, what was seen and what was expected."""


class NeedsDsn(Exception):
    """The check needs a direct database connection and the target has none: it is skipped, and says so."""


def expect(condition: bool, message: str) -> None:
    """Raise CheckFailed(message) unless `condition` holds."""
    if not condition:
        raise CheckFailed(message)


def fail(message: str) -> NoReturn:
    raise CheckFailed(message)


@dataclass(frozen=True, kw_only=True)
class AcceptanceCheck:
    id: str  # "group.rule", e.g. "onboarding.requires_three_interests"
    title: str  # the rule, as one sentence
    seeds: str  # where the seeds state it, e.g. "000 Acceptance criteria: onboarding gates"
    fn: CheckFn
    needs: frozenset[Need] = frozenset()
    timeout_s: float = DEFAULT_TIMEOUT_S
    # Changes global state (a feature flag, a shared queue): runs alone, after the others.
    exclusive: bool = False

    @property
    def group(self) -> str:
        return self.id.split(".", 1)[0]


CHECKS: dict[str, AcceptanceCheck] = {}


def check(
    id: str,
    *,
    title: str,
    seeds: str,
    needs: Iterable[Need] = (),
    timeout_s: float = DEFAULT_TIMEOUT_S,
    exclusive: bool = False,
) -> Callable[[CheckFn], CheckFn]:
    """Register the decorated coroutine function as the acceptance check `id`."""
    if not _ID.match(id):
        raise ValueError(f"acceptance check id {id!r}: write group.rule in lower case, e.g. feed.no_duplicates")

    def register(fn: CheckFn) -> CheckFn:
        if id in CHECKS:
            raise ValueError(f"acceptance check {id!r} is declared twice")
        CHECKS[id] = AcceptanceCheck(
            id=id, title=title, seeds=seeds, fn=fn, needs=frozenset(needs), timeout_s=timeout_s, exclusive=exclusive
        )
        return fn

    return register


class UnknownCheck(GauntletError):
    """A check or group named on the command line does not exist."""


def all_checks() -> dict[str, AcceptanceCheck]:
    """Every declared check (importing the check modules registers them)."""
    import gauntlet.acceptance.checks  # noqa: F401 - registers the checks

    return CHECKS


def select(names: Iterable[str]) -> list[AcceptanceCheck]:
    """Checks by id or group name (`feed` selects every feed.* check); nothing named selects all."""
    known = all_checks()
    wanted = list(names)
    if not wanted:
        return list(known.values())
    chosen: dict[str, AcceptanceCheck] = {}
    for name in wanted:
        matches = [c for c in known.values() if c.id == name or c.group == name]
        if not matches:
            raise UnknownCheck(f"no acceptance check or group {name!r}: `gauntlet acceptance list` shows them all")
        chosen.update((c.id, c) for c in matches)
    return list(chosen.values())
