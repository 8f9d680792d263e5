"""Numbers as a report shows them (shared by the Markdown and HTML writers, so both say the same thing)."""

from __future__ import annotations

import math
import re
from datetime import datetime

from gauntlet.reports.model import Activity, DrillEntry, Entry, JourneyEntry, LoadEntry, SloRecord


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


RATE_LIMIT_SETTING = "GAUNTLET_RATE_LIMIT_MULTIPLIER"
_LIMIT_NAME = re.compile(r"\((?P<limit>[a-z_]+) limit\)")


def rate_limit_hint(error: str) -> str | None:
    """For an HTTP 429 (`rate_limited`) failure: which limit was hit and how to raise it; None otherwise."""
    if not (error.startswith("HTTP 429") or "rate_limited" in error):
        return None
    match = _LIMIT_NAME.search(error)
    which = f"the platform's `{match['limit']}` rate limit" if match else "a rate limit of the platform"
    return (
        f"HTTP 429: {which} was hit. On a test stack raise every limit with {RATE_LIMIT_SETTING}, e.g. "
        f"`gauntlet restart api --env {RATE_LIMIT_SETTING}=50` (or set it before `gauntlet up`); "
        "against a real deployment, lower the load or use more accounts (--accounts)"
    )


def drill_origin(drill: DrillEntry) -> tuple[datetime, str]:
    """The one time origin of a drill's report: the fault's start (else the drill's own start), and its name."""
    if drill.fault_started_at is not None:
        return drill.fault_started_at, "fault start"
    return drill.started_at, "drill start"


def since_origin(drill: DrillEntry, moment: datetime | None) -> float | None:
    """Seconds from the drill's origin (negative: before the fault)."""
    return since(drill_origin(drill)[0], moment)


def expected_during_fault(drill: DrillEntry, activity: Activity) -> bool:
    """A probe that failed while the fault was on: what the drill provokes, not a defect."""
    if activity.kind != "probe" or activity.status != "failed" or drill.fault_started_at is None:
        return False
    if activity.phase == "method":
        return True
    end = drill.fault_ended_at or drill.finished_at
    return drill.fault_started_at <= activity.started_at <= end
