"""Exact latency recording (one HdrHistogram per request name, plus a per-second series) and
Gauntlet's one percentile convention.

Every request is recorded in microseconds with three significant figures
(0.1 % resolution) from 1 us to one hour, so percentiles are exact to that
resolution rather than Locust's rounded buckets. A recorder on a Locust worker
is *drained* into a plain-data snapshot (histograms encoded in the standard
HdrHistogram V2 base64 format) and shipped to the master, which merges it.

The one percentile convention, for histograms and for plain lists of samples
alike (monitor windows, chaos windows, benchmarks): the p-th percentile of n
values is the value of rank max(1, round_half_up(p / 100 * n)), counting from
the smallest. That is the rule of the hdrh library that computes every load
percentile (`HdrHistogram.get_target_count_at_percentile`), so a percentile over
raw samples (`nearest_rank`) is the value an HDR histogram of the same samples
reports, to the histogram's 0.1 %. (Java's HdrHistogram rounds the rank up
instead; the two differ by one rank only when p / 100 * n has a fraction below a half.)
Metric names spell a percentile as `p95_ms`, `p99.9_ms` or `p99_9_ms`
(`percentile_of_metric`).

No Locust or gevent here: this module is pure bookkeeping and maths.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TypedDict

from hdrh.histogram import HdrHistogram

LOWEST_US = 1
HIGHEST_US = 3_600_000_000  # one hour: anything slower is clamped and counted
SIGNIFICANT_FIGURES = 3
# The per-second series needs a trend, not 0.1 %: two figures keep a long soak small.
SERIES_SIGNIFICANT_FIGURES = 2
REPORTED_PERCENTILES: tuple[float, ...] = (50.0, 90.0, 95.0, 99.0, 99.9)
SNAPSHOT_VERSION = 1


def new_histogram(significant_figures: int = SIGNIFICANT_FIGURES) -> HdrHistogram:
    return HdrHistogram(LOWEST_US, HIGHEST_US, significant_figures)


@dataclass(frozen=True)
class _Layout:
    """The bucket layout HdrHistogram derives from its range and precision (the same for every one of a kind)."""

    unit_magnitude: int
    half_count_magnitude: int
    half_count: int
    mask: int

    @classmethod
    def of(cls, histogram: HdrHistogram) -> _Layout:
        return cls(
            unit_magnitude=histogram.unit_magnitude,
            half_count_magnitude=histogram.sub_bucket_half_count_magnitude,
            half_count=histogram.sub_bucket_half_count,
            mask=histogram.sub_bucket_mask,
        )


NAME_LAYOUT = _Layout.of(new_histogram(SIGNIFICANT_FIGURES))
SERIES_LAYOUT = _Layout.of(new_histogram(SERIES_SIGNIFICANT_FIGURES))
_N_UNIT, _N_HALF_MAG, _N_HALF, _N_MASK = (
    NAME_LAYOUT.unit_magnitude,
    NAME_LAYOUT.half_count_magnitude,
    NAME_LAYOUT.half_count,
    NAME_LAYOUT.mask,
)
_S_UNIT, _S_HALF_MAG, _S_HALF, _S_MASK = (
    SERIES_LAYOUT.unit_magnitude,
    SERIES_LAYOUT.half_count_magnitude,
    SERIES_LAYOUT.half_count,
    SERIES_LAYOUT.mask,
)


def record_value(histogram: HdrHistogram, value: int, layout: _Layout) -> None:
    """`histogram.record_value(value)` for 0 <= value <= HIGHEST_US, about three times faster.

    hdrh finds the bucket by counting leading zeros through `bin()`; `int.bit_length`
    gives the same number without building a string. A unit test checks that both
    produce identical histograms.
    """
    bucket = (value | layout.mask).bit_length() - layout.unit_magnitude - layout.half_count_magnitude - 1
    index = (
        ((bucket + 1) << layout.half_count_magnitude) + (value >> (bucket + layout.unit_magnitude)) - layout.half_count
    )
    histogram.counts[index] += 1
    histogram.total_count += 1
    if value < histogram.min_value:
        histogram.min_value = value
    if value > histogram.max_value:
        histogram.max_value = value


def to_microseconds(latency_ms: float) -> int:
    """Milliseconds (Locust's unit) to whole microseconds, clamped to the recordable range."""
    micros = int(latency_ms * 1000.0 + 0.5) if latency_ms > 0 else 0
    return min(micros, HIGHEST_US)


def encode(histogram: HdrHistogram) -> str:
    """The histogram as HdrHistogram V2 compressed base64 text (readable by any HDR library)."""
    encoded = histogram.encode()
    return encoded.decode("ascii") if isinstance(encoded, bytes) else str(encoded)


def decode(text: str) -> HdrHistogram:
    return HdrHistogram.decode(text.encode("ascii"))


# -- the one percentile convention ------------------------------------------------------------------

_PERCENTILE_METRIC = re.compile(r"^p(?P<whole>\d{1,2})(?:[._](?P<frac>\d{1,4}))?_ms$")


def percentile_rank(count: int, percentile: float) -> int:
    """The 1-based rank of the `percentile` (0-100) among `count` values: p/100*n rounded half up, in [1, n].

    hdrh's own arithmetic (`int(p * n / 100 + 0.5)`), so samples and histograms agree.
    """
    return min(count, max(1, int(percentile * count / 100 + 0.5)))


def nearest_rank(values: Iterable[float], percentile: float) -> float | None:
    """The `percentile` (0-100) of `values` by `percentile_rank`: an observed value; None when there are none."""
    if not 0.0 <= percentile <= 100.0:
        raise ValueError(f"percentile must be within 0-100, got {percentile!r}")
    ordered = sorted(values)
    if not ordered:
        return None
    return ordered[percentile_rank(len(ordered), percentile) - 1]


def percentile_ms(histogram: HdrHistogram, percentile: float) -> float:
    """The value at `percentile` (0-100] in milliseconds; 100 is the maximum; 0.0 for an empty histogram."""
    if not 0.0 < percentile <= 100.0:
        raise ValueError(f"percentile {percentile!r} must be in (0, 100]")
    if histogram.get_total_count() == 0:
        return 0.0
    if percentile == 100.0:
        return float(histogram.get_max_value()) / 1000.0
    return float(histogram.get_value_at_percentile(percentile)) / 1000.0


def percentile_of_metric(metric: str) -> float | None:
    """p95_ms -> 95.0, p99.9_ms and p99_9_ms -> 99.9; None for any other name or a percentile outside (0, 100)."""
    match = _PERCENTILE_METRIC.match(metric)
    if match is None:
        return None
    value = float(match["whole"] + ("." + match["frac"] if match["frac"] else ""))
    return value if 0.0 < value < 100.0 else None


class LatencySummary(TypedDict):
    min_ms: float
    mean_ms: float
    p50_ms: float
    p90_ms: float
    p95_ms: float
    p99_ms: float
    p99_9_ms: float
    max_ms: float


def summarize(histogram: HdrHistogram) -> LatencySummary:
    """Min, mean, the reported percentiles and max, in milliseconds (all 0.0 when empty)."""
    if histogram.get_total_count() == 0:
        return LatencySummary(
            min_ms=0.0, mean_ms=0.0, p50_ms=0.0, p90_ms=0.0, p95_ms=0.0, p99_ms=0.0, p99_9_ms=0.0, max_ms=0.0
        )
    values = histogram.get_percentile_to_value_dict(list(REPORTED_PERCENTILES))
    return LatencySummary(
        min_ms=float(histogram.get_min_value()) / 1000.0,
        mean_ms=round(float(histogram.get_mean_value()) / 1000.0, 3),
        p50_ms=float(values[50.0]) / 1000.0,
        p90_ms=float(values[90.0]) / 1000.0,
        p95_ms=float(values[95.0]) / 1000.0,
        p99_ms=float(values[99.0]) / 1000.0,
        p99_9_ms=float(values[99.9]) / 1000.0,
        max_ms=float(histogram.get_max_value()) / 1000.0,
    )


class NameSnapshot(TypedDict):
    requests: int
    failures: int
    hdr: str


class SecondSnapshot(TypedDict):
    second: int  # epoch second the requests completed in
    requests: int
    failures: int
    hdr: str


class RecorderSnapshot(TypedDict):
    """Plain data (msgpack- and JSON-safe) shipped from a worker to the master."""

    version: int
    names: dict[str, NameSnapshot]
    seconds: list[SecondSnapshot]
    clamped: int


@dataclass
class NameTally:
    """A request name's counts; the histogram holds the latencies of its successful requests only."""

    histogram: HdrHistogram = field(default_factory=new_histogram)
    requests: int = 0
    failures: int = 0


@dataclass
class SecondTally:
    histogram: HdrHistogram = field(default_factory=lambda: new_histogram(SERIES_SIGNIFICANT_FIGURES))
    requests: int = 0
    failures: int = 0


class SecondRow(TypedDict):
    second: int
    requests: int
    failures: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float


def second_row(second: int, tally: SecondTally) -> SecondRow:
    hist = tally.histogram
    return SecondRow(
        second=second,
        requests=tally.requests,
        failures=tally.failures,
        p50_ms=percentile_ms(hist, 50.0),
        p95_ms=percentile_ms(hist, 95.0),
        p99_ms=percentile_ms(hist, 99.0),
        max_ms=percentile_ms(hist, 100.0),
    )


class LatencyRecorder:
    """Per request name histograms and counts, plus per-second totals; mergeable."""

    def __init__(self) -> None:
        self.names: dict[str, NameTally] = {}
        self.seconds: dict[int, SecondTally] = {}
        # Seconds already summarised (on the master, to keep a long soak's memory flat).
        self.finished_seconds: dict[int, SecondRow] = {}
        self.clamped = 0
        # Samples that arrived for a second already summarised: counted, not in its percentiles.
        self.late_series_samples = 0

    def record(self, name: str, latency_ms: float, *, failed: bool, at_s: float) -> None:
        """Record one completed request that finished at epoch time `at_s`.

        A failed request is counted (requests, failures) but its latency is not recorded:
        latency percentiles describe successful requests only (k6's semantics), so a fast
        error page cannot make a slow endpoint look healthy; `error_rate` covers failures.
        """
        tally = self.names.get(name)
        if tally is None:
            tally = self.names[name] = NameTally()
        second = int(at_s)
        per_second = self.seconds.get(second)
        if per_second is None:
            per_second = self.seconds[second] = SecondTally()
        tally.requests += 1
        per_second.requests += 1
        if failed:
            tally.failures += 1
            per_second.failures += 1
            return
        micros = int(latency_ms * 1000.0 + 0.5) if latency_ms > 0 else 0
        if micros >= HIGHEST_US:
            micros = HIGHEST_US
            self.clamped += 1
        # record_value() twice, inlined: this runs for every request the generator makes.
        hist = tally.histogram
        bucket = (micros | _N_MASK).bit_length() - _N_UNIT - _N_HALF_MAG - 1
        hist.counts[((bucket + 1) << _N_HALF_MAG) + (micros >> (bucket + _N_UNIT)) - _N_HALF] += 1
        hist.total_count += 1
        if micros < hist.min_value:
            hist.min_value = micros
        if micros > hist.max_value:
            hist.max_value = micros
        hist = per_second.histogram
        bucket = (micros | _S_MASK).bit_length() - _S_UNIT - _S_HALF_MAG - 1
        hist.counts[((bucket + 1) << _S_HALF_MAG) + (micros >> (bucket + _S_UNIT)) - _S_HALF] += 1
        hist.total_count += 1
        if micros < hist.min_value:
            hist.min_value = micros
        if micros > hist.max_value:
            hist.max_value = micros

    @property
    def total_requests(self) -> int:
        return sum(t.requests for t in self.names.values())

    def overall(self) -> HdrHistogram:
        """All request names merged into one histogram."""
        merged = new_histogram()
        for tally in self.names.values():
            if tally.requests:
                merged.add(tally.histogram)
        return merged

    def snapshot(self) -> RecorderSnapshot:
        return RecorderSnapshot(
            version=SNAPSHOT_VERSION,
            names={
                name: NameSnapshot(requests=t.requests, failures=t.failures, hdr=encode(t.histogram))
                for name, t in self.names.items()
            },
            seconds=[
                SecondSnapshot(second=s, requests=t.requests, failures=t.failures, hdr=encode(t.histogram))
                for s, t in sorted(self.seconds.items())
            ],
            clamped=self.clamped,
        )

    def drain(self) -> RecorderSnapshot:
        """Snapshot, then start afresh: what a worker ships each report interval."""
        snap = self.snapshot()
        self.names = {}
        self.seconds = {}
        self.clamped = 0
        return snap

    def merge(self, snap: RecorderSnapshot) -> None:
        """Add a snapshot (from a worker, or a saved run) into this recorder."""
        if snap.get("version") != SNAPSHOT_VERSION:
            raise ValueError(f"unsupported recorder snapshot version {snap.get('version')!r}")
        for name, part in snap["names"].items():
            tally = self.names.get(name)
            if tally is None:
                tally = self.names[name] = NameTally()
            tally.requests += part["requests"]
            tally.failures += part["failures"]
            if part["requests"]:
                tally.histogram.add(decode(part["hdr"]))
        for part_s in snap["seconds"]:
            second = part_s["second"]
            finished = self.finished_seconds.get(second)
            if finished is not None:
                finished["requests"] += part_s["requests"]
                finished["failures"] += part_s["failures"]
                self.late_series_samples += part_s["requests"]
                continue
            per_second = self.seconds.get(second)
            if per_second is None:
                per_second = self.seconds[second] = SecondTally()
            per_second.requests += part_s["requests"]
            per_second.failures += part_s["failures"]
            if part_s["requests"]:
                per_second.histogram.add(decode(part_s["hdr"]))
        self.clamped += snap["clamped"]

    def finish_seconds_before(self, second: int) -> None:
        """Summarise and drop the histograms of every second before `second`."""
        for s in [s for s in self.seconds if s < second]:
            self.finished_seconds[s] = second_row(s, self.seconds.pop(s))

    def series(self) -> list[SecondRow]:
        """Every second seen so far, in order (summarising any still open)."""
        rows = dict(self.finished_seconds)
        rows.update({s: second_row(s, t) for s, t in self.seconds.items()})
        return [rows[s] for s in sorted(rows)]


def merge_snapshots(snapshots: Iterable[RecorderSnapshot]) -> LatencyRecorder:
    recorder = LatencyRecorder()
    for snap in snapshots:
        recorder.merge(snap)
    return recorder
