"""HDR recording, summaries, shipping and merging: the maths behind every latency Gauntlet reports."""

from __future__ import annotations

import json
import random

import msgpack  # type: ignore[import-untyped]
import pytest

from gauntlet.load.hdr import (
    HIGHEST_US,
    NAME_LAYOUT,
    SERIES_LAYOUT,
    SERIES_SIGNIFICANT_FIGURES,
    SIGNIFICANT_FIGURES,
    LatencyRecorder,
    decode,
    encode,
    merge_snapshots,
    nearest_rank,
    new_histogram,
    percentile_ms,
    percentile_of_metric,
    percentile_rank,
    record_value,
    summarize,
    to_microseconds,
)


def test_the_rank_is_p_n_rounded_half_up_within_one_and_n() -> None:
    assert percentile_rank(100, 95) == 95
    assert percentile_rank(20, 95) == 19
    assert percentile_rank(12, 95) == 11  # 11.4 rounds down (a ceiling would give 12)
    assert percentile_rank(10, 95) == 10  # 9.5 rounds up
    assert percentile_rank(3, 50) == 2  # 1.5 rounds up
    assert percentile_rank(1000, 99.9) == 999
    assert percentile_rank(5, 0) == 1
    assert percentile_rank(5, 100) == 5


def test_nearest_rank_is_an_observed_value() -> None:
    values = [float(v) for v in range(100, 0, -1)]  # 100..1, unsorted
    assert nearest_rank(values, 95) == 95.0
    assert nearest_rank(values, 50) == 50.0
    assert nearest_rank(values, 100) == 100.0
    assert nearest_rank(values, 0) == 1.0
    assert nearest_rank([10.0] * 18 + [500.0, 9000.0], 95) == 500.0  # the 19th of 20
    assert nearest_rank([7.0], 99) == 7.0
    assert nearest_rank([], 50) is None
    with pytest.raises(ValueError, match="within 0-100"):
        nearest_rank(values, 101)


@pytest.mark.parametrize("seed", range(5))
def test_samples_and_histograms_give_the_same_percentile(seed: int) -> None:
    """nearest_rank over raw samples is the value hdrh reports: one convention, whichever way a latency is held.

    Whole microseconds below 2048 sit in HDR buckets of width one, so the two must agree exactly.
    """
    rng = random.Random(seed)
    micros = [rng.randint(1, 2000) for _ in range(rng.randint(1, 400))]
    histogram = new_histogram()
    for value in micros:
        histogram.record_value(value)
    for pct in (1.0, 25.0, 50.0, 90.0, 95.0, 99.0, 99.9, 100.0):
        assert nearest_rank([m / 1000 for m in micros], pct) == percentile_ms(histogram, pct), (len(micros), pct)


@pytest.mark.parametrize("percentile", [0.0, -1.0, 100.5])
def test_histogram_percentile_must_be_in_range(percentile: float) -> None:
    with pytest.raises(ValueError, match=r"must be in \(0, 100\]"):
        percentile_ms(new_histogram(), percentile)


def test_percentile_metric_names() -> None:
    assert percentile_of_metric("p95_ms") == 95.0
    assert percentile_of_metric("p99.9_ms") == 99.9
    assert percentile_of_metric("p99_9_ms") == 99.9
    assert percentile_of_metric("p99_99_ms") == 99.99
    for other in ("max_ms", "p95", "p0_ms", "p100_ms", "p9e1_ms", "p95_s", "error_rate"):
        assert percentile_of_metric(other) is None, other


def test_percentiles_are_exact_to_three_significant_figures() -> None:
    rng = random.Random(7)
    values = [rng.lognormvariate(3, 1) for _ in range(20_000)]  # ms, long tail
    recorder = LatencyRecorder()
    for v in values:
        recorder.record("rpc:x", v, failed=False, at_s=1000.0)
    summary = summarize(recorder.names["rpc:x"].histogram)
    for key, pct in (("p50_ms", 50), ("p90_ms", 90), ("p95_ms", 95), ("p99_ms", 99), ("p99_9_ms", 99.9)):
        expected = nearest_rank(values, pct)
        assert summary[key] == pytest.approx(expected, rel=2e-3, abs=0.002), key  # type: ignore[literal-required]
    assert summary["max_ms"] == pytest.approx(max(values), rel=1e-3)
    assert summary["min_ms"] == pytest.approx(min(values), rel=1e-3, abs=0.001)


def test_a_constant_latency_reads_back_as_itself() -> None:
    recorder = LatencyRecorder()
    for _ in range(1000):
        recorder.record("auth:token", 50.0, failed=False, at_s=5.0)
    summary = summarize(recorder.names["auth:token"].histogram)
    assert 50.0 <= summary["p50_ms"] <= 50.05
    assert 50.0 <= summary["p99_9_ms"] <= 50.05
    assert summary["mean_ms"] == pytest.approx(50.0, rel=1e-3)


def test_empty_histogram_summarises_to_zeros() -> None:
    summary = summarize(new_histogram())
    assert set(summary.values()) == {0.0}
    assert percentile_ms(new_histogram(), 99.0) == 0.0


def test_counts_and_failures_per_name_and_second() -> None:
    recorder = LatencyRecorder()
    recorder.record("a", 1.0, failed=False, at_s=10.2)
    recorder.record("a", 2.0, failed=True, at_s=10.9)
    recorder.record("b", 3.0, failed=False, at_s=11.0)
    assert (recorder.names["a"].requests, recorder.names["a"].failures) == (2, 1)
    assert recorder.total_requests == 3
    series = recorder.series()
    assert [(r["second"], r["requests"], r["failures"]) for r in series] == [(10, 2, 1), (11, 1, 0)]
    # Latency is recorded for successful requests only (the failed 2 ms one is counted, not timed).
    assert recorder.names["a"].histogram.get_total_count() == 1
    assert recorder.overall().get_total_count() == 2
    assert series[0]["max_ms"] == pytest.approx(1.0, rel=0.01)


def test_latencies_beyond_an_hour_are_clamped_and_counted() -> None:
    recorder = LatencyRecorder()
    recorder.record("slow", 4_000_000_000.0, failed=False, at_s=1.0)
    recorder.record("neg", -5.0, failed=False, at_s=1.0)
    assert recorder.clamped == 1
    assert recorder.names["slow"].histogram.get_max_value() >= HIGHEST_US
    assert to_microseconds(-1.0) == 0
    assert to_microseconds(1.2345) == 1234 or to_microseconds(1.2345) == 1235
    assert to_microseconds(1e12) == HIGHEST_US


def test_encode_decode_round_trip_keeps_every_count() -> None:
    hist = new_histogram()
    for v in (1, 10, 100, 1000, 10_000, 123_456):
        hist.record_value(v)
    back = decode(encode(hist))
    assert back.get_total_count() == 6
    assert back.get_max_value() == hist.get_max_value()
    assert back.get_value_at_percentile(50) == hist.get_value_at_percentile(50)


def test_snapshots_are_json_and_msgpack_safe() -> None:
    recorder = LatencyRecorder()
    recorder.record("rpc:x", 3.0, failed=False, at_s=100.0)
    snap = recorder.snapshot()
    assert json.loads(json.dumps(snap)) == snap
    assert msgpack.unpackb(msgpack.packb(snap), strict_map_key=False) == snap


def _fill(recorder: LatencyRecorder, rng: random.Random, n: int) -> list[float]:
    values = []
    for _ in range(n):
        v = rng.expovariate(1 / 20)
        name = rng.choice(["rpc:a", "rpc:b", "auth:token"])
        recorder.record(name, v, failed=rng.random() < 0.05, at_s=1000 + rng.random() * 5)
        values.append(v)
    return values


def test_merging_worker_drains_equals_recording_in_one_place() -> None:
    """What the master gets from K workers' periodic drains is what one process would have recorded."""
    rng = random.Random(11)
    workers = [LatencyRecorder() for _ in range(3)]
    shipped = []
    for _ in range(4):  # four report intervals
        for w in workers:
            _fill(w, rng, 500)
            shipped.append(w.drain())
    master = merge_snapshots(shipped)
    # Recording the same values in one place:
    rng = random.Random(11)
    single = LatencyRecorder()
    for _ in range(4):
        for _w in workers:
            _fill(single, rng, 500)
    for name in single.names:
        a, b = master.names[name], single.names[name]
        assert (a.requests, a.failures) == (b.requests, b.failures)
        for pct in (50.0, 95.0, 99.0, 99.9, 100.0):
            assert percentile_ms(a.histogram, pct) == percentile_ms(b.histogram, pct)
    assert [r["requests"] for r in master.series()] == [r["requests"] for r in single.series()]
    assert master.total_requests == 3 * 4 * 500


def test_merge_is_order_independent() -> None:
    rng = random.Random(3)
    parts = []
    for _ in range(5):
        r = LatencyRecorder()
        _fill(r, rng, 200)
        parts.append(r.drain())
    forward = merge_snapshots(parts)
    backward = merge_snapshots(reversed(parts))
    for name in forward.names:
        assert percentile_ms(forward.names[name].histogram, 99) == percentile_ms(backward.names[name].histogram, 99)


def test_drain_starts_afresh() -> None:
    recorder = LatencyRecorder()
    recorder.record("x", 1.0, failed=False, at_s=1.0)
    first = recorder.drain()
    assert first["names"]["x"]["requests"] == 1
    assert recorder.drain()["names"] == {}


def test_finished_seconds_keep_counts_of_late_reports() -> None:
    master = LatencyRecorder()
    worker = LatencyRecorder()
    worker.record("x", 5.0, failed=False, at_s=100.5)
    master.merge(worker.drain())
    master.finish_seconds_before(101)
    assert 100 in master.finished_seconds and 100 not in master.seconds
    worker.record("x", 7.0, failed=True, at_s=100.7)  # a straggler for the summarised second
    master.merge(worker.drain())
    row = master.series()[0]
    assert (row["second"], row["requests"], row["failures"]) == (100, 2, 1)
    assert master.late_series_samples == 1
    assert master.names["x"].requests == 2  # the per-name histogram still has both


def test_overall_merges_every_name() -> None:
    recorder = LatencyRecorder()
    recorder.record("a", 10.0, failed=False, at_s=1.0)
    recorder.record("b", 1000.0, failed=False, at_s=1.0)
    overall = recorder.overall()
    assert overall.get_total_count() == 2
    assert percentile_ms(overall, 100.0) == pytest.approx(1000.0, rel=1e-3)


def test_unknown_snapshot_version_is_refused() -> None:
    snap = LatencyRecorder().snapshot()
    snap["version"] = 99
    with pytest.raises(ValueError, match="version"):
        LatencyRecorder().merge(snap)


@pytest.mark.parametrize("figures", [SIGNIFICANT_FIGURES, SERIES_SIGNIFICANT_FIGURES])
def test_fast_recording_is_identical_to_hdrh(figures: int) -> None:
    """The recorder's inlined bucket maths must put every value where hdrh itself would."""
    layout = NAME_LAYOUT if figures == SIGNIFICANT_FIGURES else SERIES_LAYOUT
    rng = random.Random(5)
    values = [0, 1, 2, 1023, 1024, 2047, 2048, 2049, 4095, 4096, 10**6, HIGHEST_US - 1, HIGHEST_US]
    values += [int(rng.lognormvariate(8, 3)) % (HIGHEST_US + 1) for _ in range(20_000)]
    ours, theirs = new_histogram(figures), new_histogram(figures)
    for v in values:
        record_value(ours, v, layout)
        assert theirs.record_value(v)
    assert list(ours.counts) == list(theirs.counts)
    assert ours.total_count == theirs.total_count
    assert (ours.min_value, ours.max_value) == (theirs.min_value, theirs.max_value)
    assert encode(ours) == encode(theirs)


def test_recorder_puts_values_where_hdrh_would() -> None:
    recorder = LatencyRecorder()
    expected = new_histogram()
    expected_series = new_histogram(SERIES_SIGNIFICANT_FIGURES)
    for ms in (0.0, 0.0004, 0.0006, 1.0, 2.5, 99.9, 1234.5678, 3_600_000.0):
        recorder.record("x", ms, failed=False, at_s=7.0)
        expected.record_value(to_microseconds(ms))
        expected_series.record_value(to_microseconds(ms))
    assert list(recorder.names["x"].histogram.counts) == list(expected.counts)
    assert list(recorder.seconds[7].histogram.counts) == list(expected_series.counts)
