"""chaostoolkit's tolerances, as `Tolerance`s: what a probe's value must be to count as steady.

A tolerance is a value (true, 200, "ok": equal to it), a list (one of them), or an object:
`{"type": "range", "range": [lo, hi]}`, `{"type": "regex", "pattern": "..."}` or
`{"type": "jsonpath", "path": "$.a.b[0]", "expect": ..., "count": n}`; `target` picks a key of
the value first (`"target": "body"`). For `http` and `process` providers, whose value is
`{status, ...}`, a number or list of numbers judges the status, as in chaostoolkit.
Pure: no I/O. Problems raise ValueError with the fix.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from gauntlet.chaos.experiment import JsonValue, Tolerance

TYPES = ("range", "regex", "jsonpath")
_STEP = re.compile(r"\.([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+)\]|\[\*\]|\.\*|\['([^']*)'\]|\[\"([^\"]*)\"\]")


def tolerance_from_spec(spec: JsonValue, *, status_of_dict: bool = False) -> Tolerance:
    """The Tolerance a chaostoolkit tolerance describes; `spec` is kept for export."""
    description = _short(spec)
    if spec is None:
        raise ValueError("a tolerance is a value, a list, or a range/regex/jsonpath object; null judges nothing")
    if isinstance(spec, bool | str) or _is_number(spec):
        pick = _status if status_of_dict and _is_number(spec) else _same
        return Tolerance(description, lambda value: pick(value) == spec, spec)
    if isinstance(spec, list):
        if not spec:
            raise ValueError("an empty list accepts nothing; list the values the probe may return")
        by_status = status_of_dict and all(_is_number(v) for v in spec)
        return Tolerance(description, lambda value: (_status(value) if by_status else value) in spec, spec)
    if isinstance(spec, dict):
        return Tolerance(description, _object(spec), spec)
    raise ValueError(f"a tolerance cannot be {spec!r}")


def _object(spec: dict[str, JsonValue]) -> Callable[[JsonValue], bool]:
    kind = spec.get("type")
    target = spec.get("target")
    if target is not None and not isinstance(target, str):
        raise ValueError("target must be the name of a key of the probe's value, e.g. 'body' or 'status'")

    def pick(value: JsonValue) -> JsonValue:
        if target is None:
            return value
        return value.get(target) if isinstance(value, dict) else None

    if kind == "range":
        bounds = spec.get("range")
        if (
            not isinstance(bounds, list)
            or len(bounds) != 2
            or not all(_is_number(b) for b in bounds)
            or float(bounds[0]) > float(bounds[1])  # type: ignore[arg-type]
        ):
            raise ValueError('a range tolerance needs "range": [low, high], two numbers with low <= high')
        low, high = float(bounds[0]), float(bounds[1])  # type: ignore[arg-type]

        def in_range(value: JsonValue) -> bool:
            got = pick(value)
            return _is_number(got) and low <= float(got) <= high  # type: ignore[arg-type]

        return in_range
    if kind == "regex":
        pattern = spec.get("pattern")
        if not isinstance(pattern, str):
            raise ValueError('a regex tolerance needs "pattern": a regular expression')
        try:
            compiled = re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"the pattern {pattern!r} is not a regular expression ({exc}); fix it") from None
        return lambda value: compiled.search(_as_text(pick(value))) is not None
    if kind == "jsonpath":
        path = spec.get("path")
        if not isinstance(path, str):
            raise ValueError('a jsonpath tolerance needs "path", e.g. "$.status"')
        steps = parse_jsonpath(path)
        count = spec.get("count")
        if count is not None and (not isinstance(count, int) or isinstance(count, bool) or count < 0):
            raise ValueError("count must be a whole number of matches")
        has_expect, expect = "expect" in spec, spec.get("expect")

        def matches(value: JsonValue) -> bool:
            found = select(pick(value), steps)
            if count is not None and len(found) != count:
                return False
            if has_expect:
                return bool(found) and (found == expect or all(v == expect for v in found))
            return bool(found) if count is None else True

        return matches
    if kind == "probe":
        raise ValueError("probe tolerances are not supported; use a value, a list, or a range/regex/jsonpath tolerance")
    raise ValueError(f"unknown tolerance type {kind!r}; give one of {', '.join(TYPES)} (or a value or list)")


Step = str | int | None  # a key, an index, or None for every item


def parse_jsonpath(path: str) -> list[Step]:
    """The steps of a simple JSONPath: `$`, `.key`, `['key']`, `[0]`, `[*]`, `.*`."""
    if not path.startswith("$"):
        raise ValueError(f"the jsonpath {path!r} must start with '$'")
    steps: list[Step] = []
    at = 1
    while at < len(path):
        match = _STEP.match(path, at)
        if match is None:
            raise ValueError(
                f"the jsonpath {path!r} goes beyond what Gauntlet reads at {path[at:]!r}: "
                "use $.key, ['key'], [0], [*] steps"
            )
        key, index, quoted, dquoted = match.groups()
        if key is not None:
            steps.append(key)
        elif index is not None:
            steps.append(int(index))
        elif quoted is not None or dquoted is not None:
            steps.append(quoted if quoted is not None else dquoted)
        else:
            steps.append(None)
        at = match.end()
    return steps


def select(value: JsonValue, steps: list[Step]) -> list[JsonValue]:
    """The values `steps` lead to in `value`."""
    current: list[JsonValue] = [value]
    for step in steps:
        following: list[JsonValue] = []
        for item in current:
            if step is None:
                following.extend(item if isinstance(item, list) else item.values() if isinstance(item, dict) else [])
            elif isinstance(step, int):
                if isinstance(item, list) and step < len(item):
                    following.append(item[step])
            elif isinstance(item, dict) and step in item:
                following.append(item[step])
        current = following
    return current


def _is_number(value: JsonValue) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _same(value: JsonValue) -> JsonValue:
    return value


def _status(value: JsonValue) -> JsonValue:
    return value.get("status") if isinstance(value, dict) else value


def _as_text(value: JsonValue) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _short(spec: JsonValue) -> str:
    text = json.dumps(spec, sort_keys=True)
    return text if len(text) <= 120 else text[:117] + "..."
