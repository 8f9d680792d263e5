"""Percentile maths over HDR histograms, merged across runs.

The encoding is load/hdr.py's (HdrHistogram V2 compressed base64, values in
microseconds, 1 us - 1 h, 3 significant figures), reused rather than redefined,
so a histogram from `gauntlet load` and one in a `gauntlet.result/1` file are
the same thing, read by the same percentile convention (load/hdr.py). Merging
histograms is the only correct way to get a percentile across runs: averaging
per-run p95s is not a p95 of anything.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from hdrh.histogram import HdrHistogram

from gauntlet.load.hdr import HIGHEST_US, decode, encode, new_histogram, percentile_ms
from gauntlet.reports.errors import ReportError

REPORTED: tuple[float, ...] = (50.0, 90.0, 95.0, 99.0, 99.9)

__all__ = [
    "REPORTED",
    "LatencyPercentiles",
    "count_at_or_above_ms",
    "decode_histogram",
    "encode",
    "merge_by_name",
    "merge_encoded",
    "merged_percentiles",
    "percentile_ms",
    "percentiles_of",
]


def decode_histogram(text: str, *, where: str = "histogram") -> HdrHistogram:
    """Decode one encoded histogram, or ReportError naming `where`."""
    if not isinstance(text, str) or not text:
        raise ReportError(f"{where}: expected an HdrHistogram base64 string, got {text!r}")
    try:
        histogram = decode(text)
    # hdrh raises its own exception classes (cookie, length, settings) besides base64/zlib errors,
    # all straight from Exception; any of them means the same thing here: a corrupt input file.
    except Exception as exc:
        reason = str(exc) or type(exc).__name__
        raise ReportError(f"{where}: not a valid HdrHistogram V2 base64 encoding ({reason})") from exc
    if histogram is None:  # hdrh returns None for some truncated payloads instead of raising
        raise ReportError(f"{where}: not a valid HdrHistogram V2 base64 encoding (truncated)")
    return histogram


def merge_encoded(encoded: Iterable[str], *, where: str = "histogram") -> HdrHistogram:
    """One histogram holding every value of the encoded ones (e.g. the same request name in several runs)."""
    merged = new_histogram()
    for i, text in enumerate(encoded):
        part = decode_histogram(text, where=f"{where}[{i}]")
        if part.get_total_count() == 0:
            continue
        if part.get_max_value() > HIGHEST_US * 1.01:
            raise ReportError(f"{where}[{i}]: values up to {part.get_max_value()} us exceed the 1 h range")
        merged.add(part)
    return merged


@dataclass(frozen=True, kw_only=True)
class LatencyPercentiles:
    count: int
    p50_ms: float
    p90_ms: float
    p95_ms: float
    p99_ms: float
    p999_ms: float
    max_ms: float


def percentiles_of(histogram: HdrHistogram) -> LatencyPercentiles:
    """The reported percentiles of one histogram (all 0.0 when it is empty)."""
    values = [percentile_ms(histogram, p) for p in REPORTED]
    return LatencyPercentiles(
        count=int(histogram.get_total_count()),
        p50_ms=values[0],
        p90_ms=values[1],
        p95_ms=values[2],
        p99_ms=values[3],
        p999_ms=values[4],
        max_ms=percentile_ms(histogram, 100.0),
    )


def count_at_or_above_ms(histogram: HdrHistogram, limit_ms: float, *, inclusive: bool = True) -> int:
    """Values at or above `limit_ms` (above only, with inclusive=False), at the histogram's resolution.

    A bucket that straddles the limit counts as at/above it: percentiles report
    a bucket's highest equivalent value too, so a latency SLO's bad-event count
    and its percentile verdict agree to within the rounding of one bucket.
    """
    limit_us = limit_ms * 1000.0
    bad = 0
    for index in range(histogram.counts_len):
        count = histogram.get_count_at_index(index)
        if not count:
            continue
        top = histogram.get_highest_equivalent_value(histogram.get_value_from_index(index))
        if top > limit_us or (inclusive and top >= limit_us):
            bad += count
    return int(bad)


def merged_percentiles(encoded: Sequence[str], *, where: str = "histogram") -> LatencyPercentiles:
    return percentiles_of(merge_encoded(encoded, where=where))


def merge_by_name(named: Iterable[tuple[str, str]], *, where: str = "histograms") -> dict[str, LatencyPercentiles]:
    """(request name, encoded histogram) pairs from several runs -> percentiles of each name over all of them."""
    grouped: dict[str, list[str]] = {}
    for name, encoded in named:
        grouped.setdefault(name, []).append(encoded)
    return {name: merged_percentiles(parts, where=f"{where} {name}") for name, parts in sorted(grouped.items())}
