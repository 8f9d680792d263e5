"""The one duration grammar of every command and file (`load --duration`, `monitor --every`, gate profiles).

A duration is either a plain number of seconds (`90`, `2.5`) or one or more
number-and-unit parts, written together: `500ms`, `30s`, `5m`, `1h`, `1d`,
`1h30m`, `1.5m`. Case and surrounding spaces do not matter; signs, exponents,
spaces inside and a number without a unit after a unit (`1h30`) are refused.
"""

from __future__ import annotations

import math
import re

UNITS_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
FORMS = "seconds (90) or a number with a unit ms, s, m, h or d (e.g. 90, 30s, 5m, 1h30m, 1d)"
_NUMBER = r"\d+(?:\.\d+)?"
_PLAIN = re.compile(_NUMBER)
_PART = re.compile(rf"(?P<number>{_NUMBER})(?P<unit>ms|s|m|h|d)")


class DurationError(ValueError):
    """A duration that cannot be read; the message names the option, the text and the accepted forms."""


def parse_duration(text: str, *, option: str = "duration", allow_zero: bool = False) -> float:
    """Seconds from one of the forms in FORMS; DurationError naming `option` and `text` otherwise."""
    raw = text.strip().lower()
    total = _seconds(raw)
    if total is None:
        raise DurationError(f"{option} {text!r}: not a duration; write {FORMS}")
    if not math.isfinite(total) or total < 0 or (total == 0 and not allow_zero):
        raise DurationError(f"{option} {text!r}: must be more than zero; write {FORMS}")
    return total


def _seconds(raw: str) -> float | None:
    if not raw:
        return None
    if _PLAIN.fullmatch(raw):
        return float(raw)
    pos, total = 0, 0.0
    while pos < len(raw):
        match = _PART.match(raw, pos)
        if match is None:
            return None
        total += float(match["number"]) * UNITS_S[match["unit"]]
        pos = match.end()
    return total


def format_duration(seconds: float) -> str:
    """A short human form that parse_duration reads back: 45s, 5m, 1h30m, 2d, 1.5s."""
    if seconds < 60:
        return f"{seconds:g}s"
    whole = round(seconds)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, whole = divmod(whole, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)
