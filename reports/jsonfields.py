"""Typed reading of parsed JSON that names the exact path of anything wrong (`sections.load[0].checks[2].passed`).

A result file comes from another process, another machine or a person's
editor: every field is checked on the way in, so a bad file is one clear error
instead of a KeyError deep inside a chart.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TypeVar

from gauntlet.reports.errors import ResultFileError

Scalar = str | int | float | bool | None
T = TypeVar("T")


def iso(moment: datetime) -> str:
    """UTC, millisecond precision, `Z` suffix: 2025-01-31T12:00:00.250Z."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _kind(value: object) -> str:
    return "null" if value is None else type(value).__name__


class Fields:
    """One JSON object and where it sits in the file."""

    def __init__(self, raw: object, where: str) -> None:
        if not isinstance(raw, Mapping):
            raise ResultFileError(f"{where or 'top level'}: expected a JSON object, got {_kind(raw)}")
        self.raw: Mapping[str, object] = raw
        self.where = where

    def at(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def _required(self, key: str) -> object:
        if key not in self.raw:
            raise ResultFileError(f"{self.at(key)}: missing")
        return self.raw[key]

    def has(self, key: str) -> bool:
        return self.raw.get(key) is not None

    def text(self, key: str, *, allow_empty: bool = False) -> str:
        value = self._required(key)
        if not isinstance(value, str) or (not allow_empty and not value.strip()):
            raise ResultFileError(f"{self.at(key)}: expected a non-empty string, got {value!r}")
        return value

    def optional_text(self, key: str) -> str | None:
        return self.text(key, allow_empty=True) if self.has(key) else None

    def flag(self, key: str) -> bool:
        value = self._required(key)
        if not isinstance(value, bool):
            raise ResultFileError(f"{self.at(key)}: expected true or false, got {value!r}")
        return value

    def count(self, key: str) -> int:
        value = self._required(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ResultFileError(f"{self.at(key)}: expected a whole number >= 0, got {value!r}")
        return value

    def number(self, key: str, *, minimum: float | None = 0.0) -> float:
        value = self._required(key)
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise ResultFileError(f"{self.at(key)}: expected a finite number, got {value!r}")
        if minimum is not None and value < minimum:
            raise ResultFileError(f"{self.at(key)}: expected a number >= {minimum:g}, got {value!r}")
        return float(value)

    def optional_number(self, key: str, *, minimum: float | None = 0.0) -> float | None:
        return self.number(key, minimum=minimum) if self.has(key) else None

    def moment(self, key: str) -> datetime:
        value = self._required(key)
        if not isinstance(value, str):
            raise ResultFileError(f"{self.at(key)}: expected an ISO 8601 time string, got {value!r}")
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            example = "2025-01-31T12:00:00Z"
            raise ResultFileError(f"{self.at(key)}: {value!r} is not an ISO 8601 time (e.g. {example})") from None
        if parsed.tzinfo is None:
            raise ResultFileError(f"{self.at(key)}: {value!r} has no time zone; add `Z` for UTC")
        return parsed

    def optional_moment(self, key: str) -> datetime | None:
        return self.moment(key) if self.has(key) else None

    def scalar(self, key: str) -> Scalar:
        value = self.raw.get(key)
        if value is not None and not isinstance(value, str | int | float | bool):
            raise ResultFileError(f"{self.at(key)}: expected a string, number, boolean or null, got {_kind(value)}")
        if isinstance(value, float) and not math.isfinite(value):
            raise ResultFileError(f"{self.at(key)}: expected a finite number, got {value!r}")
        return value

    def choice(self, key: str, allowed: tuple[str, ...]) -> str:
        value = self._required(key)
        if value not in allowed:
            raise ResultFileError(f"{self.at(key)}: expected one of {', '.join(allowed)}, got {value!r}")
        assert isinstance(value, str)
        return value

    def obj(self, key: str) -> Fields:
        return Fields(self._required(key), self.at(key))

    def optional_obj(self, key: str) -> Fields | None:
        return self.obj(key) if self.has(key) else None

    def items(self, key: str, parse: Callable[[Fields], T], *, required: bool = False) -> list[T]:
        """A list of objects, each parsed by `parse`; a missing key is an empty list unless `required`."""
        value = self._required(key) if required else self.raw.get(key, [])
        if value is None and not required:
            return []
        if not isinstance(value, list):
            raise ResultFileError(f"{self.at(key)}: expected a list, got {_kind(value)}")
        return [parse(Fields(item, f"{self.at(key)}[{i}]")) for i, item in enumerate(value)]

    def mapping(self, key: str, parse: Callable[[Fields], T]) -> dict[str, T]:
        """An object of name -> object, each value parsed by `parse`."""
        value = self.raw.get(key, {})
        if not isinstance(value, Mapping):
            raise ResultFileError(f"{self.at(key)}: expected an object of name: value, got {_kind(value)}")
        return {str(name): parse(Fields(item, f"{self.at(key)}[{name!r}]")) for name, item in value.items()}

    def ensure(self, condition: bool, key: str, problem: str) -> None:
        if not condition:
            raise ResultFileError(f"{self.at(key)}: {problem}")
