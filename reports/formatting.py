"""Numbers as a report shows them (shared by the Markdown and HTML writers, so both say the same thing)."""

from __future__ import annotations

import math
from datetime import datetime

from gauntlet.reports.model import DrillEntry, Entry, JourneyEntry, LoadEntry, SloRecord


def ms(value: float) -> str:
    return f"{value:,.0f} ms" if value >= 100 else f"{value:.3g} ms"


def percent(fraction: float, digits: int = 3) -> str:
    return f"{fraction * 100:.{digits}g} %"


def rate(value: float) -> str:
    return "∞" if math.isinf(value) else f"{value:.3g}x"


def seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"


def since(start: datetime, moment: datetime | None) -> float | None:
    return None if moment is None else (moment - start).total_seconds()


def objective(record: SloRecord) -> str:
    return f"{record.objective * 100:g} %"


def verdict_word(passed: bool) -> str:
    return "passed" if passed else "FAILED"


def entry_kind(entry: Entry) -> str:
    if isinstance(entry, LoadEntry):
        return "load"
    if isinstance(entry, DrillEntry):
        return "drill"
    if isinstance(entry, JourneyEntry):
        return "journey"
    return entry.name  # a checklist: "smoke" or "acceptance"


def time_to_detect(drill: DrillEntry) -> float | None:
    """Seconds from the fault starting to it being detected."""
    if drill.fault_started_at is None:
        return None
    return since(drill.fault_started_at, drill.detected_at)


def time_to_recover(drill: DrillEntry) -> float | None:
    """Seconds from the fault starting to the platform being healthy again."""
    if drill.fault_started_at is None:
        return None
    return since(drill.fault_started_at, drill.recovered_at)
