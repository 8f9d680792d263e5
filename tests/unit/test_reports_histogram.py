"""Percentile maths over HDR histograms merged across runs (reports/histogram.py, load/hdr.py's encoding)."""

from __future__ import annotations

import random

import pytest

from gauntlet.load.hdr import LatencyRecorder, encode, new_histogram
from gauntlet.reports.errors import ReportError
from gauntlet.reports.histogram import (
    count_at_or_above_ms,
    decode_histogram,
    merge_by_name,
    merge_encoded,
    merged_percentiles,
    percentile_ms,
    percentiles_of,
)


def encoded(latencies_ms: list[float]) -> str:
    histogram = new_histogram()
    for ms in latencies_ms:
        histogram.record_value(round(ms * 1000))
    return encode(histogram)


def test_merging_runs_equals_recording_every_value_in_one_histogram() -> None:
    rng = random.Random(1)
    runs = [[rng.lognormvariate(5.0 + i * 0.3, 0.4) for _ in range(2000)] for i in range(3)]
    merged = percentiles_of(merge_encoded([encoded(run) for run in runs]))
    together = percentiles_of(decode_histogram(encoded([ms for run in runs for ms in run])))
    assert merged == together
    assert merged.count == 6000


def test_a_merged_p95_is_not_the_mean_of_the_runs_p95s() -> None:
    fast, slow = [10.0] * 900 + [20.0] * 100, [10.0] * 500 + [1000.0] * 500
    per_run = [percentiles_of(decode_histogram(encoded(run))).p95_ms for run in (fast, slow)]
    merged = merged_percentiles([encoded(fast), encoded(slow)])
    assert merged.p95_ms == pytest.approx(1000.0, rel=1e-3)  # 25 % of all requests took a second
    assert sum(per_run) / 2 == pytest.approx(510.0, rel=1e-2)  # what averaging would have claimed


def test_percentiles_are_exact_to_three_significant_figures() -> None:
    p = percentiles_of(decode_histogram(encoded([float(ms) for ms in range(1, 1001)])))
    assert p.count == 1000
    assert p.p50_ms == pytest.approx(500.0, rel=1e-3)
    assert p.p90_ms == pytest.approx(900.0, rel=1e-3)
    assert p.p95_ms == pytest.approx(950.0, rel=1e-3)
    assert p.p99_ms == pytest.approx(990.0, rel=1e-3)
    assert p.p999_ms == pytest.approx(999.0, rel=1e-3)
    assert p.max_ms == pytest.approx(1000.0, rel=1e-3)


def test_empty_histograms_report_zeros() -> None:
    empty = percentiles_of(new_histogram())
    assert empty.count == 0 and empty.p95_ms == 0.0 and empty.max_ms == 0.0
    assert percentiles_of(merge_encoded([])).count == 0
    assert percentiles_of(merge_encoded([encode(new_histogram())])).count == 0


@pytest.mark.parametrize(
    ("limit_ms", "inclusive", "expected"),
    [
        (500.0, True, 501),  # 500 ms .. 1000 ms
        (750.5, True, 250),  # 751 .. 1000
        (1000.5, True, 0),
        (0.5, True, 1000),
        (250.5, False, 750),
    ],
)
def test_count_at_or_above_a_limit(limit_ms: float, inclusive: bool, expected: int) -> None:
    histogram = decode_histogram(encoded([float(ms) for ms in range(1, 1001)]))
    assert count_at_or_above_ms(histogram, limit_ms, inclusive=inclusive) == expected


@pytest.mark.parametrize("seed", range(6))
def test_bad_event_count_agrees_with_the_percentile_verdict(seed: int) -> None:
    # "p95 < limit" and "at most 5 % of requests at or above limit" must give the same verdict,
    # or a report's SLO table would contradict its threshold checks.
    rng = random.Random(seed)
    latencies = [rng.lognormvariate(6.0, 0.5) for _ in range(5000)]
    histogram = decode_histogram(encoded(latencies))
    p95 = percentile_ms(histogram, 95.0)
    for limit in (p95 * 0.8, p95 * 0.99, p95 * 1.01, p95 * 1.2):
        slow_share = count_at_or_above_ms(histogram, limit) / 5000
        assert (p95 < limit) == (slow_share <= 0.05), (limit, p95, slow_share)


def test_merge_by_name_groups_the_same_request_across_runs() -> None:
    first, second = LatencyRecorder(), LatencyRecorder()
    for i in range(100):
        first.record("rpc:a", 10.0, failed=False, at_s=1000.0 + i)
        second.record("rpc:a", 30.0, failed=False, at_s=2000.0 + i)
        second.record("auth:token", 5.0, failed=False, at_s=2000.0 + i)
    named = [
        (name, part["hdr"]) for snap in (first.snapshot(), second.snapshot()) for name, part in snap["names"].items()
    ]
    merged = merge_by_name(named)
    assert list(merged) == ["auth:token", "rpc:a"]
    assert merged["rpc:a"].count == 200
    assert merged["rpc:a"].p50_ms == pytest.approx(10.0, rel=1e-3)
    assert merged["rpc:a"].p99_ms == pytest.approx(30.0, rel=1e-3)
    assert merged["auth:token"].count == 100


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "expected an HdrHistogram base64 string"),
        ("not base64 at all!", "not a valid HdrHistogram V2 base64 encoding"),
        ("HISTFAAAAB", "not a valid HdrHistogram V2 base64 encoding"),
        ("aGVsbG8gd29ybGQgaGVsbG8gd29ybGQgaGVsbG8gd29ybGQgaGVsbG8=", "not a valid HdrHistogram V2 base64 encoding"),
    ],
)
def test_corrupt_encodings_name_where_they_are(text: str, message: str) -> None:
    with pytest.raises(ReportError, match=message) as caught:
        merge_encoded([encoded([1.0]), text], where="rpc:a")
    assert "rpc:a[1]" in str(caught.value)
