"""Window maths of the drill load: exact percentiles, error rates, groups, per-second buckets."""

from __future__ import annotations

import pytest

from gauntlet.chaos.windows import NO_RESPONSE, Sample, by_group, in_window, only_groups, percentile, stats, timeline


def _sample(at: float, latency: float, status: int = 200, group: str = "write") -> Sample:
    return Sample(at, latency, status, "kind", group)  # type: ignore[arg-type]


def test_nearest_rank_percentiles() -> None:
    values = [float(v) for v in range(1, 101)]  # 1..100
    assert percentile(values, 50) == 50.0
    assert percentile(values, 95) == 95.0
    assert percentile(values, 99) == 99.0
    assert percentile(values, 100) == 100.0
    assert percentile(values, 0) == 1.0
    assert percentile([7.0], 99) == 7.0
    assert percentile([], 50) is None
    with pytest.raises(ValueError, match="within 0-100"):
        percentile(values, 101)


def test_window_stats_count_every_non_2xx_and_no_answer_as_an_error() -> None:
    samples = [
        _sample(0, 10),
        _sample(0, 20, 503),
        _sample(0, 30, 429),
        _sample(0, 40, NO_RESPONSE),
    ]
    result = stats(samples)
    assert result["requests"] == 4 and result["errors"] == 3 and result["error_rate"] == 0.75
    assert result["p50"] == 20 and result["p99"] == 40 and result["max"] == 40
    assert result["statuses"] == {"200": 1, "429": 1, "503": 1, "no_response": 1}


def test_an_empty_window_has_no_percentiles_and_no_errors() -> None:
    assert stats([]) == {
        "requests": 0,
        "errors": 0,
        "error_rate": 0.0,
        "p50": None,
        "p95": None,
        "p99": None,
        "max": None,
        "statuses": {},
    }


def test_windows_are_half_open_and_groups_filter() -> None:
    samples = [_sample(1.0, 1), _sample(2.0, 2, group="replica_read"), _sample(3.0, 3)]
    assert [s.at for s in in_window(samples, 1.0, 3.0)] == [1.0, 2.0]
    assert [s.at for s in only_groups(samples, ["replica_read"])] == [2.0]
    grouped = by_group(samples)
    assert list(grouped) == ["replica_read", "write"] and grouped["write"]["requests"] == 2


def test_timeline_buckets_by_whole_seconds_from_the_origin() -> None:
    samples = [_sample(100.2, 5), _sample(100.9, 15, 500), _sample(102.5, 7)]
    assert timeline(samples, 100.0) == [
        {"t": 0, "requests": 2, "errors": 1, "p50": 5, "p99": 15},
        {"t": 2, "requests": 1, "errors": 0, "p50": 7, "p99": 7},
    ]
