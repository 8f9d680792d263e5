"""What the background load saw: samples, and the pure maths over a window of them.

Percentiles are exact (nearest rank over every sample in the window, by the
one convention of load/hdr.py), not bucketed: a drill window holds a few
hundred to a few thousand requests, so sorting them costs nothing and the
numbers are the ones a person would compute.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TypedDict

from gauntlet.chaos.experiment import RequestGroup
from gauntlet.load.hdr import nearest_rank

NO_RESPONSE = 0  # status of a request that got no HTTP answer (refused, reset, timed out, dropped)


@dataclass(frozen=True, slots=True)
class Sample:
    """One request of the background load."""

    at: float  # epoch seconds when it was sent
    latency_ms: float
    status: int  # HTTP status, or NO_RESPONSE
    kind: str
    group: RequestGroup
    retry_after: bool = False  # the answer carried a Retry-After header (a retry hint)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class WindowStats(TypedDict):
    requests: int
    errors: int
    error_rate: float
    p50: float | None  # milliseconds; None for an empty window
    p95: float | None
    p99: float | None
    max: float | None
    statuses: dict[str, int]  # HTTP status (or "no_response") -> count


class SecondBucket(TypedDict):
    t: int  # whole seconds since the load started
    requests: int
    errors: int
    p50: float | None
    p99: float | None


def percentile(latencies: Sequence[float], q: float) -> float | None:
    """The `q` (0-100) percentile in ms to the microsecond (load/hdr.py's nearest_rank); None when there are none."""
    value = nearest_rank(latencies, q)
    return None if value is None else round(value, 3)


def in_window(samples: Iterable[Sample], start: float, end: float) -> list[Sample]:
    """Samples sent in [start, end)."""
    return [s for s in samples if start <= s.at < end]


def stats(samples: Sequence[Sample]) -> WindowStats:
    latencies = sorted(s.latency_ms for s in samples)
    errors = sum(1 for s in samples if not s.ok)
    statuses: dict[str, int] = {}
    for s in samples:
        key = "no_response" if s.status == NO_RESPONSE else str(s.status)
        statuses[key] = statuses.get(key, 0) + 1
    return WindowStats(
        requests=len(samples),
        errors=errors,
        error_rate=round(errors / len(samples), 6) if samples else 0.0,
        p50=percentile(latencies, 50),
        p95=percentile(latencies, 95),
        p99=percentile(latencies, 99),
        max=round(latencies[-1], 3) if latencies else None,
        statuses=dict(sorted(statuses.items())),
    )


def by_group(samples: Sequence[Sample]) -> dict[str, WindowStats]:
    groups: dict[str, list[Sample]] = {}
    for s in samples:
        groups.setdefault(s.group, []).append(s)
    return {name: stats(members) for name, members in sorted(groups.items())}


def only_groups(samples: Iterable[Sample], groups: Iterable[RequestGroup]) -> list[Sample]:
    wanted = set(groups)
    return [s for s in samples if s.group in wanted]


def timeline(samples: Sequence[Sample], origin: float) -> list[SecondBucket]:
    """Per-second buckets from `origin` (for charts): requests, errors, p50 and p99."""
    buckets: dict[int, list[Sample]] = {}
    for s in samples:
        buckets.setdefault(max(0, int(s.at - origin)), []).append(s)
    result: list[SecondBucket] = []
    for second in sorted(buckets):
        members = buckets[second]
        latencies = sorted(s.latency_ms for s in members)
        result.append(
            SecondBucket(
                t=second,
                requests=len(members),
                errors=sum(1 for s in members if not s.ok),
                p50=percentile(latencies, 50),
                p99=percentile(latencies, 99),
            )
        )
    return result
